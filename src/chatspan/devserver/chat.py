"""`POST /v1/chat/completions`: read the request, answer it, spend the rate limits, store it."""

from __future__ import annotations

import json

from chatspan.devserver.answers import Answer, JsonAnswer, StreamAnswer
from chatspan.devserver.chunks import completion_chunks
from chatspan.devserver.completions import build_completion, prompt_tokens
from chatspan.devserver.ratelimit import charge
from chatspan.devserver.state import ServerState
from chatspan.devserver.store import stored_record
from chatspan.devserver.validation import parse_body, read_chat_request


def answer_chat(state: ServerState, raw: bytes, deployment: str | None, request_id: str) -> Answer:
    """The answer to a chat completion request body; raises `ApiError` (400, 429) as OpenAI would.

    `deployment` is the Azure deployment in the path, which stands for the model.
    """
    body = parse_body(raw)
    if deployment is not None:
        # An Azure deployment stands for the model, whatever the body says.
        body["model"] = deployment
    request = read_chat_request(body)
    cached = state.prompt_cache.cached_tokens(request.messages, prompt_tokens(request.messages))
    completion = build_completion(request, cached_tokens=cached)
    limits = charge(state.limiter, request.model, completion.usage()["total_tokens"])
    if request.store:
        record = stored_record(completion.response(), request.body, request_id, request.metadata)
        state.store.put(record)
    if not request.stream:
        return JsonAnswer(completion.response(), limits)
    chunks = completion_chunks(
        completion, include_usage=request.include_usage, include_obfuscation=request.include_obfuscation
    )
    return StreamAnswer(((None, json.dumps(chunk)) for chunk in chunks), limits, done_marker=True)
