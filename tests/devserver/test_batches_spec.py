"""Every JSON shape of the Files and Batch APIs, validated against OpenAI's OpenAPI spec, raw HTTP.

What is validated is what went over the wire: the `Batch` in every status, the batch and file
lists, the file objects, the delete answer, the output lines' bodies (`CreateChatCompletionResponse`,
`Response`, `CreateEmbeddingResponse`) and the error bodies (`ErrorResponse`), each also checked
for keys the spec does not declare. OpenAI sends null for a batch's unset times and file ids and
a file's `expires_at`; the spec's examples show those nulls but its schemas type the fields as
non-null, so exactly those fields may be null (`validate_with_nulls`). Also here: the headers
every endpoint sends, and Azure's paths.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.devserver.batchkit import (
    CHAT,
    EMBEDDINGS,
    RESPONSES,
    STAGE,
    Clock,
    batch_server,
    chat_line,
    embeddings_line,
    jsonl,
    responses_line,
)
from tests.devserver.rawhttp import RawResponse, request
from tests.support.openapi import undeclared_properties, validate, validate_with_nulls, without_nulls

BATCH_NULLS = (
    "model",
    "errors",
    "output_file_id",
    "error_file_id",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
FILE_NULLS = ("expires_at", "status_details")
BODY_SCHEMAS: dict[str, str] = {
    CHAT: "CreateChatCompletionResponse",
    RESPONSES: "Response",
    EMBEDDINGS: "CreateEmbeddingResponse",
}
ALLOWED_UNDECLARED = {"$.store"}
"""The one key OpenAI sends in a `Response` that the spec lacks (see test_responses_spec)."""


@pytest.fixture
def clock() -> Clock:
    """The server's clock."""
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    """A devserver on the test clock."""
    with batch_server(clock) as running:
        yield running


def upload_raw(server: DevServer, data: bytes, purpose: str = "batch", name: str = "in.jsonl") -> RawResponse:
    """`POST /v1/files` as multipart/form-data, by hand."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n{purpose}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return request(
        server,
        "POST",
        "/v1/files",
        body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )


def _check_batch(batch: dict[str, Any]) -> None:
    validate_with_nulls("Batch", batch, BATCH_NULLS)
    assert undeclared_properties("Batch", batch) == []


def _check_file(stored: dict[str, Any]) -> None:
    validate_with_nulls("OpenAIFile", stored, FILE_NULLS)
    assert undeclared_properties("OpenAIFile", stored) == []


def _create(
    server: DevServer, lines: list[dict[str, Any]], endpoint: str = CHAT, **extra: Any
) -> dict[str, Any]:
    uploaded = upload_raw(server, jsonl(lines))
    assert uploaded.status == 200, uploaded.body
    answer = request(
        server,
        "POST",
        "/v1/batches",
        {"input_file_id": uploaded.json()["id"], "endpoint": endpoint, "completion_window": "24h", **extra},
    )
    assert answer.status == 200, answer.body
    batch: dict[str, Any] = answer.json()
    return batch


def _get(server: DevServer, path: str) -> Any:
    answer = request(server, "GET", path)
    assert answer.status == 200, answer.body
    return answer.json()


def test_file_objects_match_spec(server: DevServer) -> None:
    uploaded = upload_raw(server, jsonl([chat_line("a", "x")]))
    assert uploaded.status == 200
    _check_file(uploaded.json())
    other = upload_raw(server, b"plain text", purpose="user_data", name="notes.txt").json()
    assert other["expires_at"] is None
    _check_file(other)
    listed = _get(server, "/v1/files")
    validate(
        "ListFilesResponse",
        {**listed, "data": [without_nulls("OpenAIFile", f, FILE_NULLS) for f in listed["data"]]},
    )
    assert undeclared_properties("ListFilesResponse", listed) == []
    deleted = request(server, "DELETE", f"/v1/files/{other['id']}")
    validate("DeleteFileResponse", deleted.json())
    assert undeclared_properties("DeleteFileResponse", deleted.json()) == []


@pytest.mark.parametrize(
    "ending",
    ["validating", "in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled", "expired"],
)
def test_batch_in_every_status_matches_spec(server: DevServer, clock: Clock, ending: str) -> None:
    lines = [chat_line(f"r{index}", f"hello {index}") for index in range(4)]
    if ending == "failed":
        lines.append(chat_line("r0", "duplicate"))
    metadata = {"chatspan.expire_after": "2"} if ending == "expired" else {"team": "search"}
    batch = _create(server, lines, metadata=metadata)
    plans: dict[str, list[float | str]] = {
        "validating": [0],
        "in_progress": [STAGE * 1.5],
        "finalizing": [STAGE * 2.5],
        "completed": [STAGE * 3],
        "failed": [STAGE],
        "cancelling": [STAGE * 1.5, "cancel"],
        "cancelled": [STAGE * 1.5, "cancel", STAGE],
        "expired": [STAGE * 2],
    }
    for step in plans[ending]:
        if step == "cancel":
            cancelled = request(server, "POST", f"/v1/batches/{batch['id']}/cancel")
            assert cancelled.status == 200
            _check_batch(cancelled.json())
        else:
            clock.advance(float(step))
    current = _get(server, f"/v1/batches/{batch['id']}")
    assert current["status"] == ending
    _check_batch(current)
    listed = _get(server, "/v1/batches")
    validate(
        "ListBatchesResponse",
        {**listed, "data": [without_nulls("Batch", b, BATCH_NULLS) for b in listed["data"]]},
    )
    assert undeclared_properties("ListBatchesResponse", listed) == []


@pytest.mark.parametrize(
    ("endpoint", "line"),
    [
        (CHAT, chat_line("c", "What is the weather in Paris?")),
        (
            CHAT,
            chat_line(
                "t",
                "Weather?",
                tools=[
                    {
                        "type": "function",
                        "function": {
                            "name": "weather",
                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                        },
                    }
                ],
            ),
        ),
        (CHAT, chat_line("o", "Think about it", model="o4-mini")),
        (RESPONSES, responses_line("r", "What is the weather in Paris?")),
        (RESPONSES, responses_line("ro", "Think", model="o4-mini", reasoning={"summary": "auto"})),
        (EMBEDDINGS, embeddings_line("e", "Embed me")),
        (EMBEDDINGS, embeddings_line("e2", ["one", "two"], dimensions=8)),
    ],
)
def test_output_line_bodies_match_spec(
    server: DevServer, clock: Clock, endpoint: str, line: dict[str, Any]
) -> None:
    batch = _create(server, [line], endpoint=endpoint)
    clock.advance(3 * STAGE)
    done = _get(server, f"/v1/batches/{batch['id']}")
    assert done["error_file_id"] is None, "the line failed"
    content = request(server, "GET", f"/v1/files/{done['output_file_id']}/content")
    (output,) = [json.loads(text) for text in content.body.splitlines()]
    assert set(output) == {"id", "custom_id", "response", "error"}
    assert set(output["response"]) == {"status_code", "request_id", "body"}
    body = output["response"]["body"]
    validate(BODY_SCHEMAS[endpoint], body)
    assert set(undeclared_properties(BODY_SCHEMAS[endpoint], body)) <= ALLOWED_UNDECLARED
    if endpoint == EMBEDDINGS:
        vectors = [item["embedding"] for item in body["data"]]
        assert {len(vector) for vector in vectors} == {line["body"].get("dimensions", 16)}


def test_error_line_bodies_match_spec(server: DevServer, clock: Clock) -> None:
    batch = _create(server, [chat_line("bad", "x", n=0)])
    clock.advance(3 * STAGE)
    done = _get(server, f"/v1/batches/{batch['id']}")
    content = request(server, "GET", f"/v1/files/{done['error_file_id']}/content")
    (line,) = [json.loads(text) for text in content.body.splitlines()]
    validate("ErrorResponse", line["response"]["body"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "param"),
    [
        ("POST", "/v1/batches", {"endpoint": CHAT, "completion_window": "24h"}, 400, "input_file_id"),
        ("POST", "/v1/batches", {"input_file_id": "file-x", "completion_window": "24h"}, 400, "endpoint"),
        ("POST", "/v1/batches", {"input_file_id": "file-x", "endpoint": CHAT}, 400, "completion_window"),
        (
            "POST",
            "/v1/batches",
            {"input_file_id": 1, "endpoint": CHAT, "completion_window": "24h"},
            400,
            "input_file_id",
        ),
        (
            "POST",
            "/v1/batches",
            {"input_file_id": "file-x", "endpoint": "/v1/moderations", "completion_window": "24h"},
            400,
            "endpoint",
        ),
        (
            "POST",
            "/v1/batches",
            {"input_file_id": "file-x", "endpoint": CHAT, "completion_window": "48h"},
            400,
            "completion_window",
        ),
        (
            "POST",
            "/v1/batches",
            {
                "input_file_id": "file-x",
                "endpoint": CHAT,
                "completion_window": "24h",
                "output_expires_after": {"anchor": "now", "seconds": 3600},
            },
            400,
            "output_expires_after.anchor",
        ),
        (
            "POST",
            "/v1/batches",
            {
                "input_file_id": "file-x",
                "endpoint": CHAT,
                "completion_window": "24h",
                "output_expires_after": 5,
            },
            400,
            "output_expires_after",
        ),
        (
            "POST",
            "/v1/batches",
            {"input_file_id": "file-x", "endpoint": CHAT, "completion_window": "24h"},
            404,
            "id",
        ),
        ("GET", "/v1/batches/batch_nope", None, 404, "batch_id"),
        ("GET", "/v1/files/file-nope", None, 404, "id"),
        ("GET", "/v1/files?limit=0", None, 400, "limit"),
        ("GET", "/v1/files?limit=10001", None, 400, "limit"),
        ("GET", "/v1/files?limit=x", None, 400, "limit"),
        ("GET", "/v1/files?order=up", None, 400, "order"),
        ("GET", "/v1/files?after=file-nope", None, 404, "id"),
    ],
)
def test_errors_match_spec(
    server: DevServer, method: str, path: str, body: Any, status: int, param: str
) -> None:
    answer = request(server, method, path, body)
    assert answer.status == status, answer.body
    validate("ErrorResponse", answer.json())
    assert answer.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("parts", "param"),
    [
        ({"file": ("in.jsonl", b"{}\n")}, "purpose"),
        ({"purpose": (None, b"batch")}, "file"),
        ({"purpose": (None, b"user_data"), "file": (None, b"{}")}, "file"),
        ({"purpose": (None, b"training"), "file": ("in.jsonl", b"{}\n")}, "purpose"),
        ({"purpose": (None, b"batch"), "file": ("in.txt", b"{}\n")}, "file"),
        ({"purpose": (None, b"batch"), "file": ("in.jsonl", b"  \n")}, "file"),
    ],
)
def test_upload_errors_match_spec(
    server: DevServer, parts: dict[str, tuple[str | None, bytes]], param: str
) -> None:
    boundary = "b0undary"
    body = b""
    for name, (filename, value) in parts.items():
        extra = f'; filename="{filename}"' if filename else ""
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    answer = request(
        server,
        "POST",
        "/v1/files",
        body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status == 400, answer.body
    validate("ErrorResponse", answer.json())
    assert answer.json()["error"]["param"] == param


def test_upload_needs_a_multipart_body(server: DevServer) -> None:
    plain = request(server, "POST", "/v1/files", {"purpose": "batch"})
    assert plain.status == 400 and "multipart/form-data" in plain.json()["error"]["message"]
    form = b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n--b--\r\n'
    mislabelled = request(
        server, "POST", "/v1/files", form, headers={"content-type": "text/plain; boundary=b"}
    )
    assert mislabelled.status == 400
    assert mislabelled.json()["error"]["message"].startswith("Expected a multipart/form-data body")
    no_boundary = request(server, "POST", "/v1/files", b"x", headers={"content-type": "multipart/form-data"})
    assert no_boundary.status == 400 and "boundary" in no_boundary.json()["error"]["message"]


def test_every_endpoint_sends_openai_headers(server: DevServer, clock: Clock) -> None:
    batch = _create(server, [chat_line("a", "x")])
    clock.advance(3 * STAGE)
    output_id = _get(server, f"/v1/batches/{batch['id']}")["output_file_id"]
    for method, path in [
        ("GET", "/v1/files"),
        ("GET", f"/v1/files/{output_id}"),
        ("GET", f"/v1/files/{output_id}/content"),
        ("GET", "/v1/batches"),
        ("GET", f"/v1/batches/{batch['id']}"),
        ("GET", "/v1/batches/batch_missing"),
    ]:
        answer = request(server, method, path)
        assert answer.headers["x-request-id"].startswith("req_"), path
        assert answer.headers["openai-processing-ms"].isdigit(), path
        assert "x-ratelimit-remaining-requests" in answer.headers, path
    content = request(server, "GET", f"/v1/files/{output_id}/content")
    assert content.headers["transfer-encoding"] == "chunked"


def test_routes_refuse_other_methods(server: DevServer) -> None:
    for method, path in [
        ("DELETE", "/v1/batches"),
        ("DELETE", "/v1/batches/batch_x"),
        ("GET", "/v1/batches/batch_x/cancel"),
        ("POST", "/v1/files/file-x"),
        ("POST", "/v1/files/file-x/content"),
        ("GET", "/v1/files//content"),
        ("GET", "/v1/batches/"),
        ("GET", "/openai/deployments/d/files?api-version=2024-10-21"),
    ]:
        assert request(server, method, path).status == 404, (method, path)


def test_azure_client_uses_its_paths(clock: Clock) -> None:
    with (
        batch_server(clock) as server,
        openai.AzureOpenAI(
            azure_endpoint=server.azure_endpoint, api_version="2024-10-21", api_key="sk-azure", max_retries=0
        ) as client,
    ):
        uploaded = client.files.with_raw_response.create(
            file=("in.jsonl", jsonl([chat_line("a", "x")])), purpose="batch"
        )
        assert uploaded.http_request.url.path == "/openai/files"
        raw = client.batches.with_raw_response.create(
            input_file_id=uploaded.parse().id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert raw.http_request.url.path == "/openai/batches"
        clock.advance(3 * STAGE)
        done = client.batches.retrieve(raw.parse().id)
        assert done.status == "completed" and done.output_file_id is not None
        assert len(client.files.content(done.output_file_id).text.splitlines()) == 1
        missing = request(server, "GET", "/openai/batches")
        assert (missing.status, missing.json()["error"]["param"]) == (400, "api-version")
