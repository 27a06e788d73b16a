"""The suite's figures, gathered by the tests and written at the end of the run.

`tests/adversarial/conftest.py` prints them and writes `test-output/adversarial-summary.json`,
keyed by openai version, so the four venv runs of one CI run land side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai

FIGURES: dict[str, Any] = {}
SUMMARY_PATH = Path(__file__).resolve().parents[2] / "test-output" / "adversarial-summary.json"


def add(name: str, amount: int) -> None:
    """Add `amount` to the running figure `name`."""
    FIGURES[name] = FIGURES.get(name, 0) + amount


def put(name: str, value: Any) -> None:
    """Set the figure `name`."""
    FIGURES[name] = value


def write() -> Path:
    """Merge this run's figures into the summary file under the installed openai version."""
    SUMMARY_PATH.parent.mkdir(parents=True, exist_ok=True)
    try:
        merged = json.loads(SUMMARY_PATH.read_text())
    except (OSError, ValueError):
        merged = {}
    merged[f"openai {openai.__version__}"] = dict(sorted(FIGURES.items()))
    SUMMARY_PATH.write_text(json.dumps(merged, indent=2) + "\n")
    return SUMMARY_PATH
