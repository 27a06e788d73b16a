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


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_installs_from_a_checkout_or_a_wheel_not_from_pypi() -> None:
    """chatspan is not on PyPI: `pip install chatspan` fails on a fresh machine."""
    use_it = _readme_section("Use it")
    commands = [line.split("#")[0].strip() for line in use_it.splitlines() if "pip " in line]
    assert commands, "the README says how to install"
    assert not [command for command in commands if command.split()[-1] == "chatspan"], commands
    # What tests/e2e/test_wheel_install.py runs, so the README's way is the tested one.
    assert "python -m pip wheel --no-deps -w dist /path/to/chatspan" in commands
    assert any(
        command.startswith("pip install dist/chatspan-") and "openai" in command for command in commands
    )
    assert any(
        command.startswith("pip install /path/to/chatspan") and "openai" in command for command in commands
    )
