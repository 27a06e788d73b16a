"""Deterministic chat completions: what the devserver answers, derived from the request alone.

The answer to a request is a pure function of its body (ids and `created` aside), so a test can
predict it: the assistant echoes the start of the last user message (`You said: ...`), answers a
tool result with `The tool returned: ...`, refuses when the last user message says "refuse", calls
a tool when `tools` allow one, and writes JSON for `response_format`. Tokens are counted as
characters / 4 (rounded up, at least 1 for non-empty text), per streamed piece for the output.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.samples import leading_words, sample_value
from chatspan.devserver.validation import ChatRequest

ECHO_WORDS = 12
"""How many words of the last user message the answer repeats."""
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
GREETING_TEXT = "Hello! How can I help you today?"
REASONING_TOKENS = 64
"""Reasoning tokens per choice for reasoning models (o-series, gpt-5), within `max_tokens`."""

_ALNUM = string.ascii_letters + string.digits
_PIECE = re.compile(r"\s*\S+")
_REFUSE = re.compile(r"\brefuse\b", re.IGNORECASE)
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
# Snapshot dates of the models people use most; any other undated model gets _DEFAULT_SNAPSHOT.
_SNAPSHOTS = {
    "gpt-4o-mini": "2024-07-18",
    "gpt-4o": "2024-08-06",
    "gpt-4.1": "2025-04-14",
    "gpt-4.1-mini": "2025-04-14",
    "gpt-4.1-nano": "2025-04-14",
    "gpt-4-turbo": "2024-04-09",
    "gpt-3.5-turbo": "0125",
    "o1": "2024-12-17",
    "o3": "2025-04-16",
    "o3-mini": "2025-01-31",
    "o4-mini": "2025-04-16",
    "gpt-5": "2025-08-07",
    "gpt-5-mini": "2025-08-07",
    "gpt-5-nano": "2025-08-07",
}
_DEFAULT_SNAPSHOT = "2024-08-06"


def random_id(prefix: str, length: int) -> str:
    """`prefix` + `length` random letters and digits, as OpenAI's `chatcmpl-...` and `call_...` ids."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def count_tokens(text: str) -> int:
    """The devserver's tokenizer: characters / 4, rounded up, at least 1 for non-empty text."""
    return math.ceil(len(text) / 4) if text else 0


def resolve_model(model: str) -> str:
    """The model a response names: the request's model with a snapshot date when it has none."""
    if _DATED.search(model) or model.startswith("ft:"):
        return model
    return f"{model}-{_SNAPSHOTS.get(model, _DEFAULT_SNAPSHOT)}"


def is_reasoning_model(model: str) -> bool:
    """Whether `model` reports reasoning tokens (o-series and gpt-5 models)."""
    return bool(_REASONING_MODEL.match(model))


def system_fingerprint(model: str) -> str:
    """`fp_` + 10 hex digits, stable per model as OpenAI's is per backend configuration."""
    return "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10]


def response_service_tier(requested: str | None) -> str:
    """The tier a response reports: `auto` (or none) is served as `default`, `fast` as `priority`."""
    if requested in (None, "auto"):
        return "default"
    return "priority" if requested == "fast" else str(requested)


def message_text(content: Any) -> str:
    """The text of a message's `content`: a string, or the `text` parts of a list joined by spaces."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of a conversation: all message content and tool call arguments, characters / 4."""
    chars = 0
    for message in messages:
        chars += len(message_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                chars += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return max(1, math.ceil(chars / 4))


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a choice; `type` is `function` or `custom`."""

    id: str
    type: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, Any]:
        """The tool call as the response message carries it."""
        if self.type == "custom":
            return {"id": self.id, "type": "custom", "custom": {"name": self.name, "input": self.arguments}}
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Choice:
    """What one choice says: text (content or refusal) as streamed pieces, or tool calls."""

    index: int
    finish_reason: str
    pieces: tuple[str, ...] = ()
    is_refusal: bool = False
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning_tokens: int = 0

    @property
    def text(self) -> str | None:
        """The whole text; None for a choice that calls tools."""
        return None if self.tool_calls else "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        """Output tokens of this choice, reasoning included."""
        visible = sum(count_tokens(piece) for piece in self.pieces)
        visible += sum(count_tokens(call.name) + count_tokens(call.arguments) for call in self.tool_calls)
        return visible + self.reasoning_tokens

    def message(self) -> dict[str, Any]:
        """The `message` of a non-streamed choice."""
        text = self.text
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if self.is_refusal else text,
            "refusal": text if self.is_refusal else None,
            "annotations": [],
        }
        if self.tool_calls:
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls]
        return message


@dataclass(frozen=True)
class Completion:
    """A whole answer: the fields every response object and chunk shares, and the choices."""

    id: str
    created: int
    model: str
    service_tier: str
    system_fingerprint: str
    prompt_tokens: int
    choices: tuple[Choice, ...]
    cached_tokens: int = 0
    logprobs: int | None = None
    """None without `logprobs: true`; else how many `top_logprobs` each token lists."""

    @property
    def completion_tokens(self) -> int:
        """Output tokens of all choices."""
        return sum(choice.completion_tokens for choice in self.choices)

    def usage(self) -> dict[str, Any]:
        """The `usage` object, with the detail fields OpenAI sends."""
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": sum(choice.reasoning_tokens for choice in self.choices),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def response(self) -> dict[str, Any]:
        """The `chat.completion` object of a non-streamed answer."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": choice.index,
                    "message": choice.message(),
                    "logprobs": self.choice_logprobs(choice),
                    "finish_reason": choice.finish_reason,
                }
                for choice in self.choices
            ],
            "usage": self.usage(),
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
        }

    def choice_logprobs(self, choice: Choice, pieces: tuple[str, ...] | None = None) -> dict[str, Any] | None:
        """Log probabilities of `pieces` (default: the whole choice), or None when not requested."""
        if self.logprobs is None or choice.tool_calls:
            return None
        entries = [
            token_logprob(piece, self.logprobs) for piece in (choice.pieces if pieces is None else pieces)
        ]
        if choice.is_refusal:
            return {"content": None, "refusal": entries}
        return {"content": entries, "refusal": None}


def token_logprob(token: str, top: int) -> dict[str, Any]:
    """A `ChatCompletionTokenLogprob` for `token`: a made-up but stable log probability."""
    logprob = -round(0.001 * (1 + len(token) % 7), 6)
    alternatives = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
    for rank in range(1, top):
        other = f"{token}{rank}"
        alternatives.append({"token": other, "logprob": logprob - rank, "bytes": list(other.encode())})
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": alternatives[:top],
    }


def split_pieces(text: str) -> tuple[str, ...]:
    """Split text into stream pieces, one per word with its leading whitespace; joined they are `text`."""
    pieces = _PIECE.findall(text)
    tail = text[len("".join(pieces)) :]
    if tail:
        pieces = [*pieces[:-1], pieces[-1] + tail] if pieces else [tail]
    return tuple(pieces)


def _limit(text: str, stop: tuple[str, ...], budget: int | None) -> tuple[tuple[str, ...], str]:
    """Cut `text` at the first stop sequence, then to `budget` tokens; return pieces and finish reason."""
    cuts = [text.find(sequence) for sequence in stop if sequence in text]
    if cuts:
        text = text[: min(cuts)]
    pieces = split_pieces(text)
    if budget is None:
        return pieces, "stop"
    kept: list[str] = []
    used = 0
    for piece in pieces:
        tokens = count_tokens(piece)
        if used + tokens > budget:
            if budget > used:
                kept.append(piece[: (budget - used) * 4])
            return tuple(kept), "length"
        kept.append(piece)
        used += tokens
    return tuple(kept), "stop"


def _chosen_tool(request: ChatRequest) -> dict[str, Any] | None:
    """The tool the answer calls, or None when the answer is text."""
    if not request.tools or request.tool_choice == "none" or request.messages[-1].get("role") == "tool":
        return None
    choice = request.tool_choice
    wanted: str | None = None
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind in ("function", "custom"):
            wanted = (choice.get(kind) or {}).get("name")
        elif kind == "allowed_tools":
            allowed = (choice.get("allowed_tools") or {}).get("tools") or []
            names = [(tool.get(tool.get("type", "")) or {}).get("name") for tool in allowed]
            wanted = next((name for name in names if name), None)
    for tool in request.tools:
        if wanted is None or tool[tool["type"]]["name"] == wanted:
            return tool
    return request.tools[0]


def _tool_call(tool: dict[str, Any], words: str) -> ToolCall:
    kind = tool["type"]
    definition = tool[kind]
    if kind == "custom":
        return ToolCall(random_id("call_", 24), "custom", definition["name"], words or GREETING_TEXT)
    parameters = definition.get("parameters")
    arguments = sample_value(parameters, text=words) if isinstance(parameters, dict) else {}
    return ToolCall(random_id("call_", 24), "function", definition["name"], json.dumps(arguments))


def _text(request: ChatRequest, words: str, index: int) -> str:
    last = request.messages[-1]
    if last.get("role") == "tool":
        result = leading_words(message_text(last.get("content")), ECHO_WORDS)
        text = f"The tool returned: {result}" if result else "The tool returned nothing."
    else:
        text = f"You said: {words}" if words else GREETING_TEXT
    # Choices other than the first differ, as a sampled model's would.
    return text if index == 0 else f"{text} (choice {index + 1})"


def _json_text(request: ChatRequest, text: str, words: str) -> str:
    response_format = request.response_format or {}
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"].get("schema")
        return json.dumps(sample_value(schema if isinstance(schema, dict) else {}, text=words))
    return json.dumps({"answer": text})


def build_completion(request: ChatRequest, *, cached_tokens: int = 0, now: float | None = None) -> Completion:
    """The answer to `request`; `cached_tokens` is what the prompt cache says it already holds."""
    user_text = next(
        (message_text(m.get("content")) for m in reversed(request.messages) if m.get("role") == "user"), ""
    )
    words = leading_words(user_text, ECHO_WORDS)
    refuse = bool(_REFUSE.search(user_text))
    tool = None if refuse else _chosen_tool(request)
    json_format = (request.response_format or {}).get("type") in ("json_object", "json_schema")
    reasoning = is_reasoning_model(request.model)
    choices = []
    for index in range(request.n):
        budget = request.max_tokens
        reasoning_tokens = 0
        if reasoning:
            reasoning_tokens = REASONING_TOKENS if budget is None else min(REASONING_TOKENS, budget // 2)
            budget = None if budget is None else budget - reasoning_tokens
        if tool is not None:
            choices.append(
                Choice(
                    index,
                    "tool_calls",
                    tool_calls=(_tool_call(tool, words),),
                    reasoning_tokens=reasoning_tokens,
                )
            )
            continue
        text = REFUSAL_TEXT if refuse else _text(request, words, index)
        if json_format and not refuse:
            text = _json_text(request, text, words)
        pieces, finish_reason = _limit(text, request.stop, budget)
        choices.append(Choice(index, finish_reason, pieces, refuse, reasoning_tokens=reasoning_tokens))
    logprobs = None
    if request.body.get("logprobs") is True:
        top = request.body.get("top_logprobs")
        logprobs = top if isinstance(top, int) and not isinstance(top, bool) else 0
    prompt = prompt_tokens(request.messages)
    return Completion(
        id=random_id("chatcmpl-", 29),
        created=int(time.time() if now is None else now),
        model=resolve_model(request.model),
        service_tier=response_service_tier(request.service_tier),
        system_fingerprint=system_fingerprint(request.model),
        prompt_tokens=prompt,
        choices=tuple(choices),
        cached_tokens=min(cached_tokens, prompt),
        logprobs=logprobs,
    )
