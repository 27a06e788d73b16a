"""The completion store: records, copies, paging and filters, thread safety."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatspan.devserver.store import (
    CompletionStore,
    StoredCompletion,
    UnknownCompletion,
    json_copy,
    stored_record,
)


def _record(number: int, created: int, model: str = "gpt-4o-mini", **metadata: str) -> StoredCompletion:
    completion = {
        "id": f"chatcmpl-{number}",
        "created": created,
        "model": f"{model}-2024-07-18",
        "choices": [],
    }
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": str(number)}],
        "seed": number,
    }
    return stored_record(completion, body, f"req_{number}", metadata)


def test_record_keeps_request_fields_and_copies() -> None:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}
    completion: dict[str, Any] = {"id": "chatcmpl-1", "created": 5, "model": "m-2024-08-06", "choices": []}
    record = stored_record(completion, body, "req_1", {"k": "v"})
    body["messages"][0]["content"] = "changed"
    completion["choices"].append("changed")
    assert record.messages == ({"role": "user", "content": "hi"},)
    assert record.completion["choices"] == []
    assert record.request["temperature"] == 0.2 and record.request["seed"] is None
    assert record.model == "m-2024-08-06"
    shown = record.as_object()
    assert (shown["request_id"], shown["metadata"], shown["temperature"]) == ("req_1", {"k": "v"}, 0.2)


def test_put_get_delete_update() -> None:
    store = CompletionStore()
    store.put(_record(1, 10))
    assert store.get("chatcmpl-1") is not None and store.get("chatcmpl-2") is None
    updated = store.update_metadata("chatcmpl-1", {"a": "b"})
    assert updated is not None and updated.metadata == {"a": "b"}
    assert store.update_metadata("chatcmpl-9", {}) is None
    snapshot = store.snapshot()
    assert store.delete("chatcmpl-1") and not store.delete("chatcmpl-1")
    assert list(snapshot) == ["chatcmpl-1"] and len(store) == 0
    with pytest.raises(TypeError):  # read-only, whatever its static type says
        cast("dict[str, StoredCompletion]", snapshot)["x"] = _record(2, 1)


def test_paging_orders_and_filters() -> None:
    store = CompletionStore()
    for number, created in enumerate([30, 10, 20, 20]):
        store.put(
            _record(number, created, model="gpt-4o" if number == 3 else "gpt-4o-mini", team=str(number % 2))
        )
    assert [r.id for r in store.page().records] == ["chatcmpl-1", "chatcmpl-2", "chatcmpl-3", "chatcmpl-0"]
    page = store.page(limit=2, order="desc")
    assert ([r.id for r in page.records], page.has_more) == (["chatcmpl-0", "chatcmpl-3"], True)
    rest = store.page(limit=2, order="desc", after=page.last_id)
    assert ([r.id for r in rest.records], rest.has_more) == (["chatcmpl-2", "chatcmpl-1"], False)
    assert [r.id for r in store.page(model="gpt-4o").records] == ["chatcmpl-3"]
    assert [r.id for r in store.page(model="gpt-4o-mini-2024-07-18").records] == [
        "chatcmpl-1",
        "chatcmpl-2",
        "chatcmpl-0",
    ]
    assert [r.id for r in store.page(metadata={"team": "1"}).records] == ["chatcmpl-1", "chatcmpl-3"]
    empty = store.page(model="gpt-5")
    assert (empty.records, empty.first_id, empty.last_id, empty.has_more) == ((), None, None, False)
    with pytest.raises(UnknownCompletion):
        store.page(after="chatcmpl-404")


def test_concurrent_puts() -> None:
    store = CompletionStore()

    def put_many(offset: int) -> None:
        for number in range(offset, offset + 200):
            store.put(_record(number, number))
            store.snapshot()

    threads = [threading.Thread(target=put_many, args=(offset,)) for offset in range(0, 800, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(store) == 800
    assert len(store.page(limit=1000).records) == 800


_MODELS = ("gpt-4o-mini", "gpt-4o")
_TEAMS = ("a", "b")
_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.integers(0, 15),
            st.integers(0, 4),
            st.sampled_from(_MODELS),
            st.sampled_from((None, *_TEAMS)),
        ),
        st.tuples(st.just("delete"), st.integers(0, 15)),
        st.tuples(st.just("update"), st.integers(0, 15), st.sampled_from((None, *_TEAMS))),
    ),
    max_size=40,
)


@given(
    operations=_operations,
    limit=st.integers(1, 5),
    order=st.sampled_from(("asc", "desc")),
    model=st.sampled_from((None, *_MODELS, "gpt-4o-2024-07-18")),
    team=st.sampled_from((None, *_TEAMS)),
)
def test_pages_agree_with_a_plain_sort(
    operations: list[tuple[Any, ...]], limit: int, order: str, model: str | None, team: str | None
) -> None:
    """Whatever was stored, replaced, updated or deleted, paging equals sorting and filtering all."""
    store = CompletionStore()
    for operation in operations:
        if operation[0] == "put":
            _, number, created, model_name, put_team = operation
            store.put(_record(number, created, model_name, **({"team": put_team} if put_team else {})))
        elif operation[0] == "delete":
            store.delete(f"chatcmpl-{operation[1]}")
        else:
            store.update_metadata(f"chatcmpl-{operation[1]}", {"team": operation[2]} if operation[2] else {})
    snapshot = store.snapshot()
    records = [snapshot[completion_id] for completion_id in snapshot]
    wanted = {"team": team} if team else {}
    expected = [
        record.id
        for record in sorted(records, key=lambda record: (record.created, record.id), reverse=order == "desc")
        if (model is None or model in (record.model, record.request["model"]))
        and all(record.metadata.get(key) == value for key, value in wanted.items())
    ]
    walked: list[str] = []
    after: str | None = None
    for _ in range(len(records) + 1):  # a walk that stops moving must fail, not hang
        page = store.page(after=after, limit=limit, order=order, model=model, metadata=wanted)
        assert len(page.records) <= limit
        walked.extend(record.id for record in page.records)
        if not page.has_more:
            break
        after = page.last_id
    assert walked == expected


def test_after_an_id_the_filter_excludes() -> None:
    store = CompletionStore()
    for number in range(6):
        store.put(_record(number, number, team="a" if number % 2 else "b"))
    assert [record.id for record in store.page(after="chatcmpl-2").records] == [
        "chatcmpl-3",
        "chatcmpl-4",
        "chatcmpl-5",
    ]
    assert [record.id for record in store.page(after="chatcmpl-2", order="desc").records] == [
        "chatcmpl-1",
        "chatcmpl-0",
    ]
    page = store.page(after="chatcmpl-2", metadata={"team": "a"})
    assert [record.id for record in page.records] == ["chatcmpl-3", "chatcmpl-5"]
    page = store.page(after="chatcmpl-2", metadata={"team": "a"}, order="desc")
    assert [record.id for record in page.records] == ["chatcmpl-1"]


def test_snapshot_is_lazy_and_fixed() -> None:
    store = CompletionStore()
    store.put(_record(1, 10))
    snapshot = store.snapshot()
    store.put(_record(2, 11))
    store.delete("chatcmpl-1")
    assert list(snapshot) == ["chatcmpl-1"] and "chatcmpl-1" in snapshot and len(snapshot) == 1
    assert snapshot["chatcmpl-1"].id == "chatcmpl-1"
    with pytest.raises(KeyError):
        snapshot["chatcmpl-2"]


def test_as_object_is_a_copy_and_object_view_is_not() -> None:
    record = _record(1, 10, team="a")
    shown = record.as_object()
    shown["choices"].append("changed")
    shown["metadata"]["team"] = "changed"
    assert record.completion["choices"] == [] and record.metadata == {"team": "a"}
    assert record.object_view()["choices"] is record.completion["choices"]
    assert json_copy({"a": [1, {"b": None}]}) == {"a": [1, {"b": None}]}
