"""Fault knobs on the Files and Batch APIs: failing lists, failing and cut file content, expired files."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import openai
import pytest

from chatspan.devserver import DevServer, FaultSyntaxError
from tests.devserver.batchkit import STAGE, Clock, batch_server, chat_line, client_for, create, upload
from tests.devserver.rawhttp import TIMEOUT, request

LINES = 6


@pytest.fixture
def clock() -> Clock:
    """The server's clock."""
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    """A devserver on the test clock."""
    with batch_server(clock) as running:
        yield running


@pytest.fixture
def output_id(server: DevServer, clock: Clock) -> str:
    """The output file of a finished batch of `LINES` lines."""
    with client_for(server) as client:
        batch = create(client, upload(client, [chat_line(f"r{i}", f"line {i}") for i in range(LINES)]))
        clock.advance(3 * STAGE)
        finished = client.batches.retrieve(batch.id).output_file_id
    assert finished is not None
    return finished


def _raw_content(server: DevServer, file_id: str) -> tuple[int, bytes, bool]:
    """(status, body, whether the body ended cleanly) of `GET /v1/files/{id}/content`."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("GET", f"/v1/files/{file_id}/content", headers={"authorization": "Bearer sk"})
        response = connection.getresponse()
        try:
            return response.status, response.read(), True
        except http.client.IncompleteRead as error:
            return response.status, error.partial, False
    finally:
        connection.close()


def test_batches_list_500_then_the_sdk_retry_passes(server: DevServer, sdk_sleeps: list[float]) -> None:
    server.set_faults(["batches.list:500;times=2"])
    with client_for(server, max_retries=2) as client:
        assert client.batches.list().data == []
    assert len(sdk_sleeps) == 2


def test_batches_list_429_on_the_nth_request(server: DevServer) -> None:
    server.set_faults(["batches.list:429;nth=2;retry-after=3"])
    with client_for(server) as client:
        client.batches.list()
        with pytest.raises(openai.RateLimitError) as raised:
            client.batches.list()
        assert raised.value.response.headers["retry-after"] == "3"
        client.batches.list()


def test_file_content_500_and_429(server: DevServer, output_id: str) -> None:
    server.set_faults(["files.content:500;times=1", "files.content:429;nth=2"])
    with client_for(server) as client:
        with pytest.raises(openai.InternalServerError):
            client.files.content(output_id)
        with pytest.raises(openai.RateLimitError):
            client.files.content(output_id)
        assert len(client.files.content(output_id).text.splitlines()) == LINES


def test_file_content_retries_through_the_sdk(
    server: DevServer, output_id: str, sdk_sleeps: list[float]
) -> None:
    server.set_faults(["files.content:429;times=1"])
    with client_for(server, max_retries=1) as client:
        assert len(client.files.content(output_id).text.splitlines()) == LINES
    assert sdk_sleeps == [0.01]


def test_truncated_content_is_cut_mid_line(server: DevServer, output_id: str) -> None:
    whole = _raw_content(server, output_id)[1]
    server.set_faults(["files.content:truncated"])
    status, body, clean = _raw_content(server, output_id)
    assert (status, clean) == (200, True)
    lines = body.split(b"\n")
    assert len(lines) == LINES // 2 + 1
    assert all(json.loads(line) for line in lines[:-1])
    assert lines[-1] and not body.endswith(b"\n")
    with pytest.raises(ValueError):
        json.loads(lines[-1])
    assert whole.startswith(body)


def test_truncated_after_n_lines(server: DevServer, output_id: str) -> None:
    server.set_faults(["files.content:truncated=1"])
    with client_for(server) as client:
        text = client.files.content(output_id).text
    assert text.count("\n") == 1 and not text.endswith("\n")


def test_drop_after_lines_cuts_the_connection(server: DevServer, output_id: str) -> None:
    server.set_faults(["files.content:drop-after=2"])
    status, body, clean = _raw_content(server, output_id)
    assert (status, clean) == (200, False)
    assert body.count(b"\n") == 2 and body.endswith(b"\n")
    with client_for(server) as client, pytest.raises(openai.APIConnectionError):
        client.files.content(output_id)


def test_drop_before_any_line(server: DevServer, output_id: str) -> None:
    server.set_faults(["files.content:drop-after=0"])
    status, body, clean = _raw_content(server, output_id)
    assert (status, body, clean) == (200, b"", False)


def test_truncated_only_targets_file_content(server: DevServer) -> None:
    with pytest.raises(FaultSyntaxError, match=r"only files\.content"):
        server.set_faults(["batches.list:truncated"])
    with pytest.raises(FaultSyntaxError, match="whole number"):
        server.set_faults(["files.content:truncated=x"])
    refused = request(server, "GET", "/v1/batches", headers={"x-chatspan-fault": "truncated"})
    assert refused.status == 400 and refused.json()["error"]["param"] == "x-chatspan-fault"


def test_truncated_from_a_header(server: DevServer, output_id: str) -> None:
    cut = request(
        server, "GET", f"/v1/files/{output_id}/content", headers={"x-chatspan-fault": "truncated=2"}
    )
    assert cut.status == 200 and cut.body.count(b"\n") == 2 and not cut.body.endswith(b"\n")


@pytest.mark.parametrize(
    ("target", "method", "path"),
    [
        ("files.list", "GET", "/v1/files"),
        ("files.retrieve", "GET", "/v1/files/file-x"),
        ("files.delete", "DELETE", "/v1/files/file-x"),
        ("files.create", "POST", "/v1/files"),
        ("batches.create", "POST", "/v1/batches"),
        ("batches.retrieve", "GET", "/v1/batches/batch_x"),
        ("batches.cancel", "POST", "/v1/batches/batch_x/cancel"),
    ],
)
def test_every_target_can_fail(server: DevServer, target: str, method: str, path: str) -> None:
    server.set_faults([f"{target}:503;times=1"])
    assert request(server, method, path, {}).status == 503
    assert request(server, method, path, {}).status != 503


def test_seeded_batch_with_an_expired_output_file(clock: Clock) -> None:
    with batch_server(clock, seed_batches=7, seed=2) as server, client_for(server) as client:
        batches = list(client.batches.list())
        expired = [
            b
            for b in batches
            if b.metadata and b.metadata.get("seeded") and _expired_output(client, b.output_file_id)
        ]
        assert len(expired) == 1
        file_id = expired[0].output_file_id
        assert file_id is not None
        with pytest.raises(openai.NotFoundError, match=f"No such File object: {file_id}"):
            client.files.content(file_id)


def _expired_output(client: openai.OpenAI, file_id: str | None) -> bool:
    if file_id is None:
        return False
    try:
        client.files.retrieve(file_id)
    except openai.NotFoundError:
        return True
    return False
