"""chatspan: every OpenAI chat completion as an OpenTelemetry span."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatspan.version import __version__

if TYPE_CHECKING:
    from chatspan.instrumentation.instrumentor import ChatspanInstrumentor

__all__ = ["ChatspanInstrumentor", "__version__"]


def __getattr__(name: str) -> object:
    # Loaded on first use: `chatspan backfill` and `python -m chatspan.devserver` never need the
    # instrumentation machinery, whose imports cost a tenth of a second at every start.
    if name == "ChatspanInstrumentor":
        from chatspan.instrumentation.instrumentor import ChatspanInstrumentor

        return ChatspanInstrumentor
    raise AttributeError(f"module 'chatspan' has no attribute {name!r}")
