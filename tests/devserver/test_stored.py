"""The stored-completion endpoints over raw HTTP, every answer validated against OpenAI's spec."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest

from chatspan.devserver import DevServer
from tests.devserver.rawhttp import RawResponse, chat, request
from tests.support.openapi import undeclared_properties, validate, validator

NOW = 1_750_000_000
# Fields of stored completions that OpenAI sends (the spec's own list example has every one) but
# `CreateChatCompletionResponse` does not declare.
STORED_ONLY = {
    "request_id",
    "seed",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "tools",
    "tool_choice",
    "response_format",
    "input_user",
}
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(scope="module")
def seeded() -> Iterator[DevServer]:
    """One server with 300 seeded completions, shared by the read-only tests of this module."""
    server = DevServer()
    server.seed_stored(300, seed=7, now=NOW)
    with server:
        yield server


def _get(server: DevServer, path: str, **query: Any) -> RawResponse:
    return request(server, "GET", f"{path}?{urlencode(query)}" if query else path)


def _check_list(body: Any) -> None:
    validate("ChatCompletionList", body)
    for path in undeclared_properties("ChatCompletionList", body):
        assert path.rsplit(".", 1)[-1] in STORED_ONLY and path.startswith("$.data["), path


def _walk(server: DevServer, **query: Any) -> list[dict[str, Any]]:
    """Every completion the list gives, page by page, checking each page against the spec."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = _get(server, "/v1/chat/completions", **query, **({"after": after} if after else {}))
        assert page.status == 200, page.body
        body = page.json()
        if body["data"]:
            _check_list(body)
            assert (body["first_id"], body["last_id"]) == (body["data"][0]["id"], body["data"][-1]["id"])
        items.extend(body["data"])
        if not body["has_more"]:
            return items
        after = body["last_id"]


def _all(server: DevServer) -> list[dict[str, Any]]:
    return [server.stored[completion_id].as_object() for completion_id in server.stored]


def test_walk_asc_and_desc_give_everything_in_order(seeded: DevServer) -> None:
    expected = sorted(_all(seeded), key=lambda item: (item["created"], item["id"]))
    ascending = _walk(seeded, limit=17)
    assert [item["id"] for item in ascending] == [item["id"] for item in expected]
    assert ascending == expected  # the whole objects, as retrieve gives them
    descending = _walk(seeded, limit=100, order="desc")
    assert [item["id"] for item in descending] == [item["id"] for item in reversed(expected)]
    default = _get(seeded, "/v1/chat/completions").json()
    assert len(default["data"]) == 20 and default["has_more"]  # limit defaults to 20, order to asc
    assert [item["id"] for item in default["data"]] == [item["id"] for item in expected[:20]]


def test_ties_on_created_break_by_id(seeded: DevServer) -> None:
    items = _walk(seeded, limit=100)
    keys = [(item["created"], item["id"]) for item in items]
    assert keys == sorted(keys)
    assert len({item["created"] for item in items}) < len(items)  # some do share a second


@pytest.mark.parametrize(
    "filters",
    [
        {"model": "gpt-4o-mini"},
        {"model": "gpt-4o-mini-2024-07-18"},
        {"model": "o4-mini"},
        {"metadata[team]": "search"},
        {"metadata[team]": "billing", "metadata[env]": "prod"},
        {"model": "gpt-4.1-nano", "metadata[env]": "staging"},
        {"metadata[team]": "nobody"},
        {"model": "gpt-5"},
    ],
)
def test_filters_keep_exactly_the_matches(seeded: DevServer, filters: dict[str, str]) -> None:
    wanted = {name[len("metadata[") : -1]: value for name, value in filters.items() if name != "model"}
    model = filters.get("model")

    def matches(item: dict[str, Any]) -> bool:
        record = seeded.stored[item["id"]]
        names = (record.model, record.request["model"])
        return (model is None or model in names) and all(
            item["metadata"].get(key) == value for key, value in wanted.items()
        )

    ordered = sorted(_all(seeded), key=lambda item: (item["created"], item["id"]))
    expected = [item["id"] for item in ordered if matches(item)]
    assert [item["id"] for item in _walk(seeded, limit=9, **filters)] == expected
    assert [item["id"] for item in _walk(seeded, limit=9, order="desc", **filters)] == expected[::-1]


def test_empty_list(server: DevServer) -> None:
    body = _get(server, "/v1/chat/completions").json()
    assert body == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    # The spec types first_id and last_id as strings; an empty page has none to give (see stored.py).
    validate("ChatCompletionList", {**body, "first_id": "", "last_id": ""})


@pytest.mark.parametrize(
    ("query", "param", "code", "message"),
    [
        ({"limit": 0}, "limit", "integer_below_min_value", "Expected a value >= 1, but got 0 instead."),
        ({"limit": 101}, "limit", "integer_above_max_value", "Expected a value <= 100, but got 101 instead."),
        ({"limit": "ten"}, "limit", "invalid_type", "expected an integer, but got a string instead."),
        ({"order": "newest"}, "order", "invalid_value", "Supported values are: 'asc' and 'desc'."),
    ],
)
def test_bad_list_parameters_are_400(
    seeded: DevServer, query: dict[str, Any], param: str, code: str, message: str
) -> None:
    response = _get(seeded, "/v1/chat/completions", **query)
    assert response.status == 400
    validate("ErrorResponse", response.json())
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"].endswith(message)


def test_unknown_after_is_404(seeded: DevServer) -> None:
    response = _get(seeded, "/v1/chat/completions", after="chatcmpl-nope")
    assert response.status == 404
    validate("ErrorResponse", response.json())
    assert response.json()["error"]["message"] == "No chat completion found with id 'chatcmpl-nope'."


def test_ignore_limit_answers_pages_of_20() -> None:
    with DevServer(seed_stored=45, ignore_limit=True) as server:
        pages = []
        for limit in (5, 100, 1000, 0):
            pages.append(_get(server, "/v1/chat/completions", limit=limit).json())
        assert {len(page["data"]) for page in pages} == {20}
        assert server.ignore_limit
        assert len(_walk(server, limit=3)) == 45


def test_stored_by_a_request_then_retrieve_update_delete(server: DevServer) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "store": True,
        "metadata": {"team": "search"},
        "tools": [TOOL],
        "tool_choice": "none",
        "temperature": 0.3,
    }
    created = chat(server, body).json()
    path = f"/v1/chat/completions/{created['id']}"
    retrieved = request(server, "GET", path)
    assert retrieved.status == 200
    shown = retrieved.json()
    validate("CreateChatCompletionResponse", shown)
    assert set(undeclared_properties("CreateChatCompletionResponse", shown)) == {
        f"$.{f}" for f in STORED_ONLY
    }
    assert {key: shown[key] for key in ("id", "created", "model", "choices", "usage")} == {
        key: created[key] for key in ("id", "created", "model", "choices", "usage")
    }
    assert (shown["metadata"], shown["temperature"], shown["tools"], shown["tool_choice"]) == (
        {"team": "search"},
        0.3,
        [TOOL],
        "none",
    )
    assert shown["request_id"].startswith("req_")
    updated = request(server, "POST", path, {"metadata": {"team": "billing", "env": "prod"}})
    assert updated.status == 200
    validate("CreateChatCompletionResponse", updated.json())
    assert updated.json()["metadata"] == {"team": "billing", "env": "prod"}
    assert _walk(server, **{"metadata[team]": "search"}) == []
    assert [item["id"] for item in _walk(server, **{"metadata[team]": "billing"})] == [created["id"]]
    deleted = request(server, "DELETE", path)
    assert deleted.json() == {"object": "chat.completion.deleted", "id": created["id"], "deleted": True}
    validate("ChatCompletionDeleted", deleted.json())
    assert undeclared_properties("ChatCompletionDeleted", deleted.json()) == []
    for method in ("GET", "DELETE"):
        gone = request(server, method, path)
        assert gone.status == 404
        validate("ErrorResponse", gone.json())
    assert request(server, "POST", path, {"metadata": {}}).status == 404
    assert _walk(server) == []


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties"),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "string_above_max_length"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ({"metadata": "team=search"}, "metadata", "invalid_type"),
        ({}, "metadata", "missing_required_parameter"),
        ({"metadata": {}, "store": False}, None, None),
    ],
)
def test_update_validates_metadata_as_create_does(
    seeded: DevServer, body: dict[str, Any], param: str | None, code: str | None
) -> None:
    completion_id = next(iter(seeded.stored))
    response = request(seeded, "POST", f"/v1/chat/completions/{completion_id}", body)
    assert response.status == 400
    validate("ErrorResponse", response.json())
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (param, code)


def test_update_accepts_limits_and_null(server: DevServer) -> None:
    completion_id = chat(
        server, {"model": "m", "messages": [{"role": "user", "content": "x"}], "store": True}
    )
    path = f"/v1/chat/completions/{completion_id.json()['id']}"
    full = {f"k{i:02}" + "k" * 61: "v" * 512 for i in range(16)}
    assert request(server, "POST", path, {"metadata": full}).json()["metadata"] == full
    assert request(server, "POST", path, {"metadata": None}).json()["metadata"] == {}


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    if not error.context:
        yield error
        return
    for child in error.context:
        yield from _leaves(child)


def _message_errors(instance: Any) -> list[str]:
    """Validation errors of a `ChatCompletionMessageList`, less the spec's one known contradiction.

    The spec builds each message from `ChatCompletionResponseMessage`, whose `role` can only be
    `assistant` and which requires `refusal`; its own example, like the API, lists a user message
    without `refusal`. Those two errors are allowed for non-assistant messages, and only those.
    """
    errors = []
    for error in validator("ChatCompletionMessageList").iter_errors(instance):
        for leaf in _leaves(error):
            path = list(leaf.absolute_path)
            message = instance["data"][path[1]] if len(path) >= 2 and path[0] == "data" else None
            contradiction = (
                message is not None
                and message["role"] != "assistant"
                and (
                    (path[2:] == ["role"] and leaf.validator == "enum")
                    or (path[2:] == [] and leaf.validator == "required" and "'refusal'" in leaf.message)
                )
            )
            if not contradiction:
                errors.append(f"{path}: {leaf.message}")
    return errors


def test_the_spec_example_has_only_the_known_contradiction() -> None:
    example: dict[str, Any] = {
        "object": "list",
        "data": [
            {
                "id": "chatcmpl-A-0",
                "role": "user",
                "content": "write a haiku",
                "name": None,
                "content_parts": None,
            }
        ],
        "first_id": "chatcmpl-A-0",
        "last_id": "chatcmpl-A-0",
        "has_more": False,
    }
    assert _message_errors(example) == []
    assert next(validator("ChatCompletionMessageList").iter_errors(example), None) is not None
    message: dict[str, Any] = example["data"][0]
    broken = {**example, "data": [{**message, "content": 5}]}
    assert _message_errors(broken) != []  # anything else still fails


def test_messages_list(server: DevServer) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": "text", "text": "this"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "found it"},
        {"role": "user", "content": "thanks", "name": "ada"},
    ]
    completion_id = chat(
        server, {"model": "gpt-4o", "messages": messages, "tools": [TOOL], "store": True}
    ).json()["id"]
    path = f"/v1/chat/completions/{completion_id}/messages"
    body = request(server, "GET", path).json()
    assert _message_errors(body) == []
    for path_found in undeclared_properties("ChatCompletionMessageList", body):
        assert path_found.endswith(".name")  # in the spec's own example, though not declared
    data = body["data"]
    assert [item["id"] for item in data] == [f"{completion_id}-{index}" for index in range(5)]
    assert [item["role"] for item in data] == ["system", "user", "assistant", "tool", "user"]
    assert data[0] == {
        "id": f"{completion_id}-0",
        "role": "system",
        "content": "Be brief.",
        "name": None,
        "content_parts": None,
    }
    assert (data[1]["content"], data[1]["content_parts"]) == ("Look: this", messages[1]["content"])
    assert (data[2]["tool_calls"], data[2]["refusal"]) == (messages[2]["tool_calls"], None)
    assert data[4]["name"] == "ada"
    assert (body["first_id"], body["last_id"], body["has_more"]) == (data[0]["id"], data[4]["id"], False)
    first = request(server, "GET", f"{path}?limit=2").json()
    assert ([item["id"] for item in first["data"]], first["has_more"]) == (
        [data[0]["id"], data[1]["id"]],
        True,
    )
    rest = request(server, "GET", f"{path}?limit=2&after={first['last_id']}").json()
    assert [item["id"] for item in rest["data"]] == [data[2]["id"], data[3]["id"]]
    newest = request(server, "GET", f"{path}?order=desc&limit=1").json()
    assert [item["id"] for item in newest["data"]] == [data[4]["id"]]
    assert request(server, "GET", f"{path}?after={completion_id}-9").status == 404
    assert request(server, "GET", f"{path}?limit=101").status == 400
    missing = request(server, "GET", "/v1/chat/completions/chatcmpl-nope/messages")
    assert missing.status == 404
    validate("ErrorResponse", missing.json())


def test_seeded_messages_validate(seeded: DevServer) -> None:
    for completion_id in itertools.islice(seeded.stored, 0, 300, 15):
        body = _get(seeded, f"/v1/chat/completions/{completion_id}/messages").json()
        assert _message_errors(body) == []
        assert body["data"][0]["role"] == "system" and body["data"][1]["role"] == "user"


def test_paths_not_served_are_404(server: DevServer) -> None:
    for method, path in [
        ("PUT", "/v1/chat/completions/chatcmpl-1"),
        ("POST", "/v1/chat/completions/chatcmpl-1/messages"),
        ("GET", "/v1/chat/completions/chatcmpl-1/messages/extra"),
        ("GET", "/v1/chat/completions//messages"),
        ("DELETE", "/v1/chat/completions"),
    ]:
        response = request(server, method, path)
        assert response.status == 404, (method, path)
        assert response.json()["error"]["message"] == f"Invalid URL ({method} {path})"


def test_stored_endpoints_check_the_key() -> None:
    with DevServer(api_key="sk-right-key-1234", seed_stored=3) as server:
        completion_id = next(iter(server.stored))
        for method, path in [
            ("GET", "/v1/chat/completions"),
            ("GET", f"/v1/chat/completions/{completion_id}"),
            ("DELETE", f"/v1/chat/completions/{completion_id}"),
            ("GET", f"/v1/chat/completions/{completion_id}/messages"),
        ]:
            assert request(server, method, path, headers={"authorization": "Bearer sk-wrong"}).status == 401
        assert len(server.stored) == 3


def test_azure_paths_need_an_api_version(server: DevServer) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    path = "/openai/deployments/gpt-4o/chat/completions"
    missing = request(server, "POST", path, body)
    assert missing.status == 400
    validate("ErrorResponse", missing.json())
    assert missing.json()["error"]["param"] == "api-version"
    answered = request(server, "POST", f"{path}?api-version=2024-10-21", body)
    assert answered.status == 200 and answered.json()["model"] == "gpt-4o-2024-08-06"
    assert request(server, "GET", "/openai/chat/completions?api-version=2024-10-21").status == 200
    assert request(server, "GET", "/openai/models?api-version=2024-10-21").status == 404
