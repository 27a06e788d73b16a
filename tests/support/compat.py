"""Where the openai SDK keeps a method in the installed version (the suite runs on 1.63 to 3.x)."""

from __future__ import annotations

from typing import Any


def chat_resource(client: Any, method: str) -> Any:
    """`client.chat.completions.<method>`, or the `beta` one where the SDK still kept it there (< 1.9x)."""
    completions = client.chat.completions
    if hasattr(completions, method):
        return getattr(completions, method)
    return getattr(client.beta.chat.completions, method)
