"""The completion store: records, copies, paging and filters, thread safety."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest

from chatspan.devserver.store import CompletionStore, StoredCompletion, stored_record


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
    empty = store.page(after="chatcmpl-404")
    assert (empty.records, empty.first_id, empty.last_id) == ((), None, None)


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
