"""Stored chat completions, page by page, through the openai SDK's own cursor pager.

The SDK handles auth, base URLs, Azure and retries with `retry-after`; this module adds the window
(newest first, stopping at its start), a second look at the filters, a bounded retry for pages the
SDK could not parse, and the input messages of each completion when asked for.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from openai.pagination import SyncCursorPage

from chatspan.backfill.checkpoint import Pass
from chatspan.backfill.window import Selection
from chatspan.mapping._values import field

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_A = TypeVar("_A")


class SourceError(Exception):
    """The stored list could not be read; its text says which page and why."""


class AuthenticationFailed(SourceError):
    """The API refused the key (401/403)."""


class NotFound(SourceError):
    """The API answered 404: the record is not there (deleted, never stored) or the path is wrong."""


class ApiUnreachable(SourceError):
    """Nothing answered the run's first request at the base URL: a configuration mistake, not an outage."""


@dataclass(frozen=True)
class StoredPage:
    """One page of the list: the completions to emit, and where the next page starts."""

    completions: list[Any]
    seen: int
    """Items on the page inside the pass's time range (emitted or filtered out)."""
    cursor: str | None
    """Id of the page's last item: a resumed pass lists `after` it."""
    messages: dict[str, list[Any]]
    """Input messages by completion id, when they were asked for."""


class StoredItem(openai.BaseModel):
    """A stored completion as the list holds it: the SDK's cursor pager needs only `id`.

    Everything else stays plain JSON (pydantic extras, read through the mapping's `field()`):
    building the SDK's full `ChatCompletion` model for each item cost more CPU than all the rest
    of a backfill, mapping and OTLP encoding included.
    """

    id: str | None = None
    created: int | None = None


class StoredCompletionSource:
    """Page through `client.chat.completions.list`, newest first, one pass at a time."""

    def __init__(
        self,
        client: openai.OpenAI,
        selection: Selection,
        *,
        page_size: int = 100,
        with_messages: bool = False,
        concurrency: int = 4,
        page_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._selection = selection
        self._page_size = page_size
        self._with_messages = with_messages
        self._concurrency = concurrency
        self._calls = ApiCalls(client, attempts=page_attempts, sleep=sleep)

    def pages(self, running: Pass) -> Iterator[StoredPage]:
        """Yield the pages of one pass, from its cursor down to its `since`."""
        query: dict[str, Any] = {"order": "desc", "limit": self._page_size}
        if self._selection.model:
            query["model"] = self._selection.model
        if self._selection.metadata:
            query["metadata"] = dict(self._selection.metadata)
        if running.cursor:
            query["after"] = running.cursor
        where = f"after {running.cursor}" if running.cursor else "first page"
        page = self._first(where, lambda client: self._list(client, query))
        while True:
            items = list(page.data or ())
            chosen: list[Any] = []
            seen = 0
            reached_start = False
            for item in items:
                created = item.created
                if not isinstance(created, int):
                    raise SourceError(f"stored completion {item.id!r} has no usable 'created' field")
                if created < running.since:
                    reached_start = True
                    break
                if created <= running.until:
                    seen += 1
                    if self._selection.matches(created, field(item, "model"), field(item, "metadata")):
                        chosen.append(item)
            cursor = items[-1].id if items else running.cursor
            yield StoredPage(chosen, seen, cursor, self.messages(chosen))
            if reached_start or not items or not page.has_next_page():
                return
            # The next page as the SDK's pager asks for it (`after` the last id), through the
            # retrying client: the first page may have come through the one that does not retry.
            query = {**query, "after": cursor}
            page = self._fetch(f"after {cursor}", functools.partial(self._list, self._client, query))

    def _list(self, client: openai.OpenAI, query: dict[str, Any]) -> SyncCursorPage[StoredItem]:
        # The SDK's own cursor pager (auth, base URL, Azure, retries with retry-after), the same
        # request as `client.chat.completions.list(...)`, with a lean item model.
        return client.get_api_list(
            "/chat/completions",
            model=StoredItem,
            page=SyncCursorPage[StoredItem],
            options={"params": dict(query)},
        )

    def messages(self, completions: list[Any]) -> dict[str, list[Any]]:
        """Fetch the input messages of each completion (every page of each), a few at a time."""
        if not self._with_messages or not completions:
            return {}

        def fetch(completion_id: str) -> list[Any]:
            return self._fetch(
                f"messages of {completion_id}",
                lambda: list(
                    self._client.chat.completions.messages.list(completion_id, limit=100, order="asc")
                ),
            )

        ids = [c.id for c in completions]
        return dict(zip(ids, ordered_map(fetch, ids, self._concurrency), strict=True))

    def retrieve(self, completion_id: str) -> Any:
        """One stored completion by id (for `chatspan get`)."""
        return self._first(completion_id, lambda client: client.chat.completions.retrieve(completion_id))

    def _first(self, where: str, request: Callable[[openai.OpenAI], _T]) -> _T:
        return self._calls.first(where, request)

    def _fetch(self, where: str, request: Callable[[], _T]) -> _T:
        return self._calls.fetch(where, request)


class ApiCalls:
    """How a backfill asks the API: the error mapping and retries every source shares.

    One instance per run: once the API has answered any request of it, no later failure is taken
    for a configuration mistake.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._attempts = attempts
        self._sleep = sleep
        self.answered = False
        """Whether the API has answered a request of this run."""

    def first(self, where: str, request: Callable[[openai.OpenAI], _T]) -> _T:
        """The run's first request: once without the SDK's retries, so that a base URL where
        nothing listens fails at once (no backoff, no page attempts); anything else that fails is
        asked again through the retrying client, as every later request is."""
        if self.answered:
            return self.fetch(where, lambda: request(self._client))
        try:
            answer = request(self._client.with_options(max_retries=0))
            self.answered = True
            return answer
        except openai.APIConnectionError as error:
            if _refused(error):
                raise ApiUnreachable(
                    f"nothing answers at {str(self._client.base_url).rstrip('/')} ({_cause(error)}): check "
                    "OPENAI_BASE_URL (unset, it is OpenAI's API) and that the server is running"
                ) from None
            logger.info("%s failed (%s); trying again", where, _describe(error))
        except (openai.APIError, ValueError) as error:
            final = _final_error(where, error)
            if final is not None:
                raise final from None
            logger.info("%s failed (%s); trying again", where, _describe(error))
        return self.fetch(where, lambda: request(self._client))

    def fetch(self, where: str, request: Callable[[], _T]) -> _T:
        """Ask through the retrying client, a few more times when the answer could not be parsed.

        Raises AuthenticationFailed (401/403), NotFound (404), SourceError (anything else final,
        or still failing after every attempt, with resume advice).
        """
        # The SDK already retried 429/5xx/connection errors with its backoff; what reaches here is
        # either final (auth, 4xx) or a page it could not parse, which one more try may mend.
        delay = 1.0
        for attempt in range(1, self._attempts + 1):
            try:
                answer = request()
                self.answered = True
                return answer
            except (openai.APIError, ValueError) as error:
                final = _final_error(where, error)
                if final is not None:
                    raise final from None
                if attempt == self._attempts:
                    raise SourceError(
                        f"{where}: still failing after {attempt} attempts ({_describe(error)}); "
                        "nothing was skipped: run again to resume"
                    ) from None
                logger.info("%s failed (%s); trying again in %.0fs", where, _describe(error), delay)
                self._sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


def ordered_map(function: Callable[[_A], _T], items: Sequence[_A], workers: int) -> list[_T]:
    """`function` of each item, `workers` at a time, the results in the items' order.

    The first exception raised is raised here once every worker has stopped. The workers are
    daemon threads, unlike a ThreadPoolExecutor's: a second Ctrl-C must end the process at once,
    not wait at exit for a request that hangs.
    """
    results: list[Any] = [None] * len(items)
    failures: list[tuple[int, BaseException]] = []
    indexes = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = None if failures else next(indexes, None)
            if index is None:
                return
            try:
                results[index] = function(items[index])
            except BaseException as error:
                with lock:
                    failures.append((index, error))
                return

    threads = [
        threading.Thread(target=work, name="chatspan-fetch", daemon=True)
        for _ in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return results


def prefetched(pages: Iterator[_T], depth: int = 2) -> Iterator[_T]:
    """Read pages ahead in a thread, so listing the next page overlaps exporting this one."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(("page", page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", None))
        except BaseException as error:
            buffer.put(("error", error))

    worker = threading.Thread(target=produce, name="chatspan-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _final_error(where: str, error: Exception) -> SourceError | None:
    """The error to stop with when asking again cannot help (auth, not found, bad request)."""
    if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return AuthenticationFailed(
            f"the API refused the key ({error.status_code}): check OPENAI_API_KEY "
            "and that it may read stored completions and responses"
        )
    if isinstance(error, openai.NotFoundError):
        return NotFound(f"{where}: not found ({error.status_code}): {_message(error)}")
    if isinstance(error, openai.BadRequestError):
        return SourceError(f"{where}: the API rejected the request: {_message(error)}")
    return None


def _refused(error: openai.APIConnectionError) -> bool:
    """Whether no connection could be made at all (refused, unknown host), not one that broke."""
    # A timeout (httpx's ConnectTimeout or ReadTimeout) is no ConnectError: a slow server, retried.
    cause: BaseException | None = error.__cause__
    while cause is not None:
        # httpx.ConnectError or httpx2.ConnectError, whichever transport the SDK runs on.
        if any(kind.__name__ == "ConnectError" for kind in type(cause).__mro__):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _cause(error: BaseException) -> str:
    cause = error.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause or error).strip()
    return text or "connection refused"


def _message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if isinstance(message, str):
            return message
    return str(error)


def _describe(error: Exception) -> str:
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}"
    if isinstance(error, openai.APIConnectionError):
        return "connection failed"
    return type(error).__name__
