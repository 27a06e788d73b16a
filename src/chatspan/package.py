"""What chatspan instruments; equals the `instruments` extra in pyproject.toml."""

from __future__ import annotations

_instruments = ("openai >= 1.63.0",)
