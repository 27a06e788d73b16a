from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import tomllib

import chatspan
from chatspan.package import _instruments

ROOT = Path(__file__).resolve().parents[1]


def test_instruments_extra_equals_package_instruments() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert tuple(project["optional-dependencies"]["instruments"]) == _instruments


def test_entry_point_finds_the_instrumentor() -> None:
    (entry,) = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "chatspan"]
    assert entry.value == "chatspan:ChatspanInstrumentor"
    assert entry.load() is chatspan.ChatspanInstrumentor


def test_public_surface_is_small() -> None:
    assert chatspan.__all__ == ["ChatspanInstrumentor", "__version__"]
