"""The span attribute names that changed when the GenAI conventions moved to their own repository.

chatspan maps to the earlier names; under OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental
the finished attributes are renamed here, in one place, for every source.
"""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.util.types import AttributeValue

from chatspan import semconv

_RENAMED = ((gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS),)


def rename_to_latest_conventions(attrs: dict[str, AttributeValue]) -> None:
    """Rename, in place, the attributes whose names the latest GenAI conventions changed."""
    for earlier, latest in _RENAMED:
        if earlier in attrs:
            attrs[latest] = attrs.pop(earlier)
