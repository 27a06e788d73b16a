"""An exception -> the attributes of its span event, with credentials scrubbed out.

An SDK error's message can echo the request (a proxy's error page quoting the `Authorization`
header, a body that repeats it), and its stack trace repeats the message. What chatspan records of
an exception never carries the client's own credentials or any `Bearer …` value.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable

from opentelemetry.semconv.attributes import exception_attributes as exception
from opentelemetry.util.types import AttributeValue

from chatspan.mapping._values import as_text

REDACTED = "[REDACTED]"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;}\]]+")
_MIN_SECRET = 8
"""Shorter "keys" are not scrubbed: replacing every `sk-test` in a message would say nothing safer."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each of `secrets` and every `Bearer …` credential in `text` by `[REDACTED]`."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, REDACTED)
    return _BEARER.sub(rf"\1 {REDACTED}", text)


def exception_event_attributes(error: BaseException, secrets: Iterable[str]) -> dict[str, AttributeValue]:
    """The `exception` event's attributes (type, message, stack trace), scrubbed and valid for OTLP."""
    kind = type(error)
    module = kind.__module__
    name = f"{module}.{kind.__qualname__}" if module and module != "builtins" else kind.__qualname__
    keys = [secret for secret in secrets if secret]
    attrs: dict[str, AttributeValue] = {exception.EXCEPTION_TYPE: name}
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not cost the event
        message = ""
    attrs[exception.EXCEPTION_MESSAGE] = as_text(scrub(message, keys)) or ""
    try:
        stacktrace = "".join(traceback.format_exception(kind, error, error.__traceback__))
    except Exception:
        stacktrace = ""
    if stacktrace:
        attrs[exception.EXCEPTION_STACKTRACE] = as_text(scrub(stacktrace, keys)) or ""
    return attrs
