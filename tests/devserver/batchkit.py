"""Helpers for the Files and Batch API tests: input lines, uploads, servers on a hand-moved clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import openai

from chatspan.devserver import DevServer
from tests.devserver.conftest import CLIENT_TIMEOUT
from tests.support.clock import ManualClock

Clock = ManualClock
"""The hand-moved clock the batch tests (and the backfill's batch tests) give the servers."""
STAGE = 10.0
"""`batch_seconds` of the test servers: each batch stage lasts 10 s of the test clock."""
Endpoint = Literal["/v1/chat/completions", "/v1/responses", "/v1/embeddings"]
CHAT: Endpoint = "/v1/chat/completions"
RESPONSES: Endpoint = "/v1/responses"
EMBEDDINGS: Endpoint = "/v1/embeddings"


def chat_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    """One batch input line for `/v1/chat/completions`."""
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": request}


def responses_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    """One batch input line for `/v1/responses`."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": RESPONSES,
        "body": {"model": "gpt-4.1-nano", "input": text, **body},
    }


def embeddings_line(custom_id: str, text: str | list[str], **body: Any) -> dict[str, Any]:
    """One batch input line for `/v1/embeddings`."""
    request = {"model": "text-embedding-3-small", "input": text, **body}
    return {"custom_id": custom_id, "method": "POST", "url": EMBEDDINGS, "body": request}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    """The lines as a JSONL file."""
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def upload(client: openai.OpenAI, lines: list[dict[str, Any]] | bytes, name: str = "input.jsonl") -> str:
    """Upload a batch input file; its id."""
    data = lines if isinstance(lines, bytes) else jsonl(lines)
    return client.files.create(file=(name, data), purpose="batch").id


def client_for(server: DevServer, **options: Any) -> openai.OpenAI:
    """A sync client of `server` without retries unless `options` say otherwise."""
    settings: dict[str, Any] = {"timeout": CLIENT_TIMEOUT, "max_retries": 0, **options}
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", **settings)


@contextmanager
def batch_server(clock: Clock, **options: Any) -> Iterator[DevServer]:
    """A devserver on `clock` whose batch stages last `STAGE` seconds."""
    with DevServer(clock=clock, batch_seconds=STAGE, **options) as server:
        yield server


def create(client: openai.OpenAI, file_id: str, endpoint: Endpoint = CHAT, **options: Any) -> Any:
    """`client.batches.create` with the only window there is.

    `output_expires_after` goes in the body by hand: SDKs before 1.99 have no such parameter."""
    extra = (
        {"output_expires_after": options.pop("output_expires_after")}
        if "output_expires_after" in options
        else None
    )
    return client.batches.create(
        input_file_id=file_id, endpoint=endpoint, completion_window="24h", extra_body=extra, **options
    )


def usage_of(batch: Any) -> dict[str, Any]:
    """A batch's `usage` as a dict: older SDKs do not model it and keep the JSON as it came."""
    usage = getattr(batch, "usage", None)
    if usage is None:
        return {}
    found: dict[str, Any] = usage if isinstance(usage, dict) else usage.model_dump()
    return found
