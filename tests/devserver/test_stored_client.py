"""The stored-completion endpoints through the real openai SDK (3.x here, 1.63 in its own venv), and Azure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.devserver.conftest import CLIENT_TIMEOUT

NOW = 1_750_000_000
AZURE_API_VERSION = "2024-10-21"
MESSAGES: Any = [{"role": "user", "content": "What is stored?"}]


@pytest.fixture
def seeded() -> Iterator[DevServer]:
    server = DevServer()
    server.seed_stored(120, seed=11, now=NOW)
    with server:
        yield server


def _client(server: DevServer, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=0, **options
    )


def _expected_ids(server: DevServer, *, descending: bool = False) -> list[str]:
    records = [server.stored[completion_id] for completion_id in server.stored]
    ordered = sorted(records, key=lambda record: (record.created, record.id))
    return [record.id for record in (reversed(ordered) if descending else ordered)]


def test_auto_pagination_desc(seeded: DevServer) -> None:
    with _client(seeded) as client:
        page = client.chat.completions.list(order="desc", limit=7)
        assert len(page.data) == 7 and page.has_more
        completions = list(client.chat.completions.list(order="desc", limit=7))
    assert [completion.id for completion in completions] == _expected_ids(seeded, descending=True)
    assert all(completion.object == "chat.completion" for completion in completions)
    created = [completion.created for completion in completions]
    assert created == sorted(created, reverse=True)


def test_filters_through_the_sdk(seeded: DevServer) -> None:
    with _client(seeded) as client:
        found = list(client.chat.completions.list(metadata={"team": "support", "env": "prod"}, limit=5))
        by_model = list(client.chat.completions.list(model="o4-mini", limit=50))
    assert found and all(
        c.metadata and c.metadata.items() >= {("team", "support"), ("env", "prod")} for c in found
    )
    expected = [
        completion_id
        for completion_id in _expected_ids(seeded)
        if seeded.stored[completion_id].metadata.items() >= {("team", "support"), ("env", "prod")}
    ]
    assert [c.id for c in found] == expected
    assert by_model and {c.model for c in by_model} == {"o4-mini-2025-04-16"}


def test_retrieve_update_delete_and_messages(seeded: DevServer) -> None:
    with _client(seeded) as client:
        stored = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, store=True, metadata={"team": "search"}
        )
        retrieved = client.chat.completions.retrieve(stored.id)
        assert (retrieved.id, retrieved.metadata) == (stored.id, {"team": "search"})
        assert retrieved.choices[0].message.content == stored.choices[0].message.content
        updated = client.chat.completions.update(stored.id, metadata={"team": "billing"})
        assert updated.metadata == {"team": "billing"}
        messages = list(client.chat.completions.messages.list(stored.id))
        assert [(m.id, m.role, m.content) for m in messages] == [
            (f"{stored.id}-0", "user", "What is stored?")
        ]
        seeded_id = _expected_ids(seeded)[0]
        seeded_messages = list(client.chat.completions.messages.list(seeded_id, limit=1))
        assert [m.id for m in seeded_messages] == [
            f"{seeded_id}-{index}" for index in range(len(seeded.stored[seeded_id].messages))
        ]
        deleted = client.chat.completions.delete(stored.id)
        assert (deleted.id, deleted.deleted, deleted.object) == (stored.id, True, "chat.completion.deleted")
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.retrieve(stored.id)
        assert caught.value.status_code == 404
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.list(after=stored.id)


def test_limit_out_of_range_is_bad_request(seeded: DevServer) -> None:
    with _client(seeded) as client, pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.list(limit=101)
    assert caught.value.param == "limit"


def test_pagination_does_not_rely_on_limit() -> None:
    with DevServer(seed_stored=50, seed=3, ignore_limit=True) as server, _client(server) as client:
        first = client.chat.completions.list(limit=100, order="desc")
        assert len(first.data) == 20 and first.has_more
        assert [c.id for c in client.chat.completions.list(limit=7, order="desc")] == _expected_ids(
            server, descending=True
        )


async def test_async_auto_pagination(seeded: DevServer) -> None:
    async with openai.AsyncOpenAI(
        base_url=seeded.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=0
    ) as client:
        ids = [completion.id async for completion in client.chat.completions.list(limit=13)]
        first = ids[0]
        messages = [message.role async for message in client.chat.completions.messages.list(first)]
    assert ids == _expected_ids(seeded)
    assert messages[:2] == ["system", "user"]


def _azure(server: DevServer, **options: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version=AZURE_API_VERSION,
        api_key="sk-azure-key-1234",
        timeout=CLIENT_TIMEOUT,
        max_retries=0,
        **options,
    )


def test_azure_client_posts_to_its_deployment() -> None:
    with DevServer(api_key="sk-azure-key-1234") as server, _azure(server) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, store=True
        )
        completion = raw.parse()
        assert raw.http_request.url.path == "/openai/deployments/gpt-4o-mini/chat/completions"
        assert raw.http_request.url.params["api-version"] == AZURE_API_VERSION
        assert completion.model == "gpt-4o-mini-2024-07-18"
        assert completion.choices[0].message.content == "You said: What is stored?"
        stream = client.chat.completions.create(model="o4-mini", messages=MESSAGES, stream=True)
        assert {chunk.model for chunk in stream} == {"o4-mini-2025-04-16"}
        listed = list(client.chat.completions.list())
        assert [c.id for c in listed] == [completion.id]
        assert client.chat.completions.retrieve(completion.id).id == completion.id
        assert [m.role for m in client.chat.completions.messages.list(completion.id)] == ["user"]


def test_azure_deployment_overrides_the_model() -> None:
    with DevServer() as server, _azure(server, azure_deployment="prod-chat") as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.http_request.url.path == "/openai/deployments/prod-chat/chat/completions"
    assert raw.parse().model == "prod-chat-2024-08-06"


def test_azure_key_is_checked() -> None:
    with (
        DevServer(api_key="sk-azure-key-1234") as server,
        openai.AzureOpenAI(
            azure_endpoint=server.azure_endpoint,
            api_version=AZURE_API_VERSION,
            api_key="sk-wrong-key-0000",
            max_retries=0,
        ) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
