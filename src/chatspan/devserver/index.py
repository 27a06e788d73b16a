"""Ordered indexes of the completion store: every id by `(created, id)`, and per model and metadata pair.

A page is a bisect into one sorted list and a walk of `limit` steps along it, so its cost is
O(log N + limit), not O(N), however many completions are stored. Filters walk the smallest list
that can hold their matches (a model's, or one metadata pair's) and check the rest per item.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping

Key = tuple[int, str]
"""`(created, id)`: the order of the list endpoint, `asc`."""


class OrderedIndex:
    """Keys of the stored completions, one sorted list for all and one per model and metadata pair.

    Not thread-safe: the store calls it under its lock.
    """

    def __init__(self) -> None:
        self._all: list[Key] = []
        self._by_model: dict[str, list[Key]] = {}
        self._by_pair: dict[tuple[str, str], list[Key]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def add(self, key: Key, models: Iterable[str], metadata: Mapping[str, str]) -> None:
        """Index one completion under its key, its model names and its metadata pairs."""
        for keys in self._lists(models, metadata, create=True):
            bisect.insort(keys, key)

    def remove(self, key: Key, models: Iterable[str], metadata: Mapping[str, str]) -> None:
        """Forget one completion (as indexed with the same models and metadata)."""
        for keys in self._lists(models, metadata, create=False):
            position = bisect.bisect_left(keys, key)
            if position < len(keys) and keys[position] == key:
                del keys[position]
        for model in set(models):
            if not self._by_model.get(model, True):
                del self._by_model[model]
        for pair in metadata.items():
            if not self._by_pair.get(pair, True):
                del self._by_pair[pair]

    def rebuild(self, items: Iterable[tuple[Key, Iterable[str], Mapping[str, str]]]) -> None:
        """Index all these completions afresh, for bulk loads: one sort, then appends in order."""
        self._all, self._by_model, self._by_pair = [], {}, {}
        by_model, by_pair = self._by_model, self._by_pair
        for key, models, metadata in sorted(items, key=lambda item: item[0]):
            self._all.append(key)
            for model in set(models):
                keys = by_model.get(model)
                if keys is None:
                    keys = by_model[model] = []
                keys.append(key)
            for pair in metadata.items():
                keys = by_pair.get(pair)
                if keys is None:
                    keys = by_pair[pair] = []
                keys.append(key)

    def walk(
        self,
        *,
        descending: bool,
        after: Key | None,
        model: str | None,
        metadata: Mapping[str, str],
    ) -> Iterator[Key]:
        """Keys in order (`asc` or `desc`), strictly past `after`, from the smallest fitting list.

        The keys come from the list of `model` or of one of the `metadata` pairs when a filter is
        given, so every match is among them, but the caller still checks the other filters.
        """
        keys = self._narrowest(model, metadata)
        if descending:
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            return (keys[position] for position in range(end - 1, -1, -1))
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return (keys[position] for position in range(start, len(keys)))

    def _narrowest(self, model: str | None, metadata: Mapping[str, str]) -> list[Key]:
        candidates = [self._all]
        if model is not None:
            candidates.append(self._by_model.get(model, []))
        candidates.extend(self._by_pair.get(pair, []) for pair in metadata.items())
        return min(candidates, key=len)

    def _lists(self, models: Iterable[str], metadata: Mapping[str, str], *, create: bool) -> list[list[Key]]:
        lists = [self._all]
        for model in set(models):
            found = self._by_model.setdefault(model, []) if create else self._by_model.get(model)
            if found is not None:
                lists.append(found)
        for pair in metadata.items():
            found = self._by_pair.setdefault(pair, []) if create else self._by_pair.get(pair)
            if found is not None:
                lists.append(found)
        return lists

    def _every_list(self) -> Iterator[list[Key]]:
        yield self._all
        yield from self._by_model.values()
        yield from self._by_pair.values()
