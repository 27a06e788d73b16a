"""chatspan: every OpenAI chat completion as an OpenTelemetry span."""

from chatspan.instrumentation.instrumentor import ChatspanInstrumentor
from chatspan.version import __version__

__all__ = ["ChatspanInstrumentor", "__version__"]
