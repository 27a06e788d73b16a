"""Running a batch: its lines through the devserver's engines, into OpenAI's output lines.

`BatchRun.lines` runs the lines that ran (all of them, or those done before a cancel or the
expiry) through the chat completion engine (`chatspan.devserver.completions`), the Responses
engine (`chatspan.devserver.responses`) or a small embeddings answer
(`chatspan.devserver.embeddings`), and yields each output line in OpenAI's format,
`{"id": "batch_req_...", "custom_id", "response": {"status_code", "request_id", "body"},
"error": null}`; a request that failed answers its error body with its status
(`chatspan.devserver.batch_input.check_body`), and a request the expiry stopped
`"response": null, "error": {"code": "batch_expired", ...}`. Ids and times are derived from the
batch id and the line number (`chatspan.devserver.stable`), so every read of an output file gives
the same bytes: nothing is kept, each read runs the lines again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.batch_input import CHAT, EMBEDDINGS, RESPONSES, check_body, request_lines
from chatspan.devserver.completions import build_completion, prompt_tokens
from chatspan.devserver.embeddings import embedding_response
from chatspan.devserver.errors import ApiError
from chatspan.devserver.files import FileContent
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.responses import build_response
from chatspan.devserver.responses_request import read_responses_request
from chatspan.devserver.stable import stable_hex, stable_ids
from chatspan.devserver.validation import read_chat_request

EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."


def run_body(endpoint: str, body: dict[str, Any], *, now: float, cache: PromptCache) -> dict[str, Any]:
    """The response body of one line's request, answered at clock time `now`; raises `ApiError`."""
    check_body(endpoint, body)
    if endpoint == EMBEDDINGS:
        return embedding_response(body)
    if endpoint == RESPONSES:
        return build_response(read_responses_request(body), [], now=now, prompt_cache=cache).response
    request = read_chat_request(body)
    cached = cache.cached_tokens(request.messages, prompt_tokens(request.messages))
    return build_completion(request, cached_tokens=cached, now=now).response()


def line_usage(endpoint: str, body: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, cached input, output, reasoning) tokens of a successful response body."""
    usage = body.get("usage") or {}
    if endpoint == CHAT:
        details = usage.get("prompt_tokens_details") or {}
        output = usage.get("completion_tokens_details") or {}
        return (
            usage.get("prompt_tokens", 0),
            details.get("cached_tokens", 0),
            usage.get("completion_tokens", 0),
            output.get("reasoning_tokens", 0),
        )
    if endpoint == RESPONSES:
        details = usage.get("input_tokens_details") or {}
        output = usage.get("output_tokens_details") or {}
        return (
            usage.get("input_tokens", 0),
            details.get("cached_tokens", 0),
            usage.get("output_tokens", 0),
            output.get("reasoning_tokens", 0),
        )
    return usage.get("prompt_tokens", 0), 0, 0, 0


@dataclass(frozen=True)
class OutputLine:
    """One line of a batch's output or error file, and the tokens it used."""

    failed: bool
    data: bytes
    tokens: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass(frozen=True)
class BatchRun:
    """A batch that has run: its first `ran` lines were carried out between `started` and
    `started + seconds`; when `expired`, the others were stopped by the completion window."""

    batch_id: str
    endpoint: str
    content: FileContent
    started: float
    seconds: float
    total: int
    ran: int
    expired: bool

    def answered_at(self, index: int) -> int:
        """Clock second the line at `index` (from 0) was answered: spread over the run."""
        return int(self.started + self.seconds * (index + 1) / max(self.total, 1))

    def lines(self) -> Iterator[OutputLine]:
        """Every output and error line, in input order (see the module docstring)."""
        cache = PromptCache()
        for index, line in enumerate(request_lines(self.content)):
            if index >= self.ran and not self.expired:
                return
            yield self._answer(index, line, cache)

    def _answer(self, index: int, line: bytes, cache: PromptCache) -> OutputLine:
        parsed = json.loads(line)
        seed = f"{self.batch_id}:{index}"
        line_id = "batch_req_" + stable_hex(seed, 32)
        record: dict[str, Any] = {
            "id": line_id,
            "custom_id": parsed["custom_id"],
            "response": None,
            "error": None,
        }
        if index >= self.ran:
            record["error"] = {"code": "batch_expired", "message": EXPIRED_MESSAGE}
            return OutputLine(True, _jsonl(record))
        request_id = "req_" + stable_hex(seed + ":request", 32)
        try:
            body = stable_ids(
                run_body(self.endpoint, parsed["body"], now=self.answered_at(index), cache=cache), seed
            )
        except ApiError as error:
            record["response"] = {"status_code": error.status, "request_id": request_id, "body": error.body()}
            return OutputLine(True, _jsonl(record))
        record["response"] = {"status_code": 200, "request_id": request_id, "body": body}
        return OutputLine(False, _jsonl(record), line_usage(self.endpoint, body))


def _jsonl(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"
