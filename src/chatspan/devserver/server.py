"""`DevServer`: the devserver's lifecycle, in a background thread, on 127.0.0.1 only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from chatspan.devserver.batch_seeding import LARGE_LINES, seed_batches
from chatspan.devserver.batches import DEFAULT_BATCH_SECONDS
from chatspan.devserver.httpserver import DevHTTPServer
from chatspan.devserver.ratelimit import RateLimiter
from chatspan.devserver.response_store import StoredResponse
from chatspan.devserver.seeding import seeded_entries
from chatspan.devserver.state import DEFAULT_BACKGROUND_SECONDS, FaultWait, ServerState, wait_on_stop
from chatspan.devserver.store import StoredCompletion

HOST = "127.0.0.1"
DEFAULT_RPM = 5_000
DEFAULT_TPM = 4_000_000


class DevServer:
    """A local OpenAI-compatible chat completions and Responses API server; use it as a context manager.

    Binds 127.0.0.1 only (any other `host` raises ValueError): the devserver accepts any request
    and is for tests and demos. `port=0` picks a free port. `api_key=None` accepts any key.
    `rpm`/`tpm` are the per-minute limits behind the `x-ratelimit-*` headers and 429s.
    `faults` start as if passed to `set_faults`. `seed_stored=N` stores N made-up completions over
    the last `seed_days` days, drawn from `seed` (see `seed_stored`). `ignore_limit=True` makes the
    list endpoint answer pages of 20 whatever its `limit` says, as OpenAI has been seen to do.
    `clock` gives the seconds responses are created at and by which a background response
    progresses (`queued` for `background_seconds`, then `in_progress` as long again, then
    finished), and when given it also drives the rate limits' 60 s window. Tests pass a clock
    they advance instead of sleeping; by default those are `time.time` and `time.monotonic`.
    `fault_wait(seconds, stop_event) -> stopping?` waits out a fault's delay (default: on the stop
    event, so `stop()` cuts it short); tests pass one that records the delays it is asked for.
    `batch_seconds` is how long each stage of a batch lasts on `clock` (validating, in_progress,
    finalizing; cancelling). `seed_batches=N` adds N finished batches of the last `seed_days` days
    with their files (see `seed_batches`).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = HOST,
        api_key: str | None = None,
        rpm: int = DEFAULT_RPM,
        tpm: int = DEFAULT_TPM,
        organization: str = "user-chatspan-dev",
        faults: list[str] | None = None,
        seed_stored: int = 0,
        seed: int = 0,
        seed_days: float = 30,
        ignore_limit: bool = False,
        clock: Callable[[], float] | None = None,
        background_seconds: float = DEFAULT_BACKGROUND_SECONDS,
        fault_wait: FaultWait = wait_on_stop,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
        seed_batches: int = 0,
    ) -> None:
        if host != HOST:
            raise ValueError(f"the chatspan devserver binds {HOST} only, not {host!r}")
        if not background_seconds >= 0:
            raise ValueError(f"background_seconds must be at least 0, not {background_seconds!r}")
        if not batch_seconds >= 0:
            raise ValueError(f"batch_seconds must be at least 0, not {batch_seconds!r}")
        self._state = ServerState(
            limiter=RateLimiter(rpm, tpm, clock=clock or time.monotonic),
            api_key=api_key,
            organization=organization,
            ignore_limit=ignore_limit,
            clock=clock or time.time,
            background_seconds=background_seconds,
            fault_wait=fault_wait,
            batch_seconds=batch_seconds,
        )
        self._state.set_faults(list(faults or []))
        if seed_stored:
            self.seed_stored(seed_stored, days=seed_days, seed=seed)
        if seed_batches:
            self.seed_batches(seed_batches, days=seed_days, seed=seed)
        self._port = port
        self._httpd: DevHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DevServer:
        """Bind and serve in a background thread; returns self. Raises OSError if the port is taken."""
        if self._httpd is not None:
            return self
        self._state.stopping.clear()
        self._httpd = DevHTTPServer((HOST, self._port), self._state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"chatspan-devserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and fault delays short, and free the port."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._state.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the requested one until `start()`)."""
        if self._httpd is None:
            return self._port
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        """Always 127.0.0.1."""
        return HOST

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, the `base_url` for `openai.OpenAI`."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        """`http://127.0.0.1:PORT`, the `azure_endpoint` for `openai.AzureOpenAI`."""
        return f"http://{HOST}:{self.port}"

    @property
    def stored(self) -> Mapping[str, StoredCompletion]:
        """Read-only snapshot of the stored completions, id -> record, in storing order.

        Taking it copies the ids only; a seeded record is built when it is looked up.
        """
        return self._state.store.snapshot()

    @property
    def stored_responses(self) -> Mapping[str, StoredResponse]:
        """Read-only snapshot of the stored responses (`store: true`), id -> record, oldest first."""
        store = self._state.responses
        records = {response_id: store.get(response_id) for response_id in store.ids()}
        return {response_id: record for response_id, record in records.items() if record is not None}

    def seed_stored(self, n: int, *, days: float = 30, seed: int = 0, now: float | None = None) -> int:
        """Store `n` made-up completions, as if answered over the last `days` days; returns `n`.

        Deterministic for a given `seed` (and `now`, default the current time): the same ids,
        times, models, metadata and contents. Their `created` times are never in the future, and
        some share a second. Seeding the same seed again replaces the same completions. 100,000
        take about a second and 50 MB: records are built when listed or retrieved, not kept whole.
        See `chatspan.devserver.seeding` for what they hold. Raises ValueError for `n` < 0 or
        `days` <= 0.
        """
        return self._state.store.put_entries(seeded_entries(n, days=days, seed=seed, now=now))

    def seed_batches(
        self,
        n: int,
        *,
        days: float = 30,
        seed: int = 0,
        now: float | None = None,
        large_lines: int = LARGE_LINES,
    ) -> int:
        """Add `n` finished batches of the last `days` days, with their input, output and error files.

        A mix of completed (with some failed lines), expired, cancelled and failed batches, one
        completed batch whose output file has expired, and (the first) one of 50,000 lines; see
        `chatspan.devserver.batch_seeding`. Deterministic for `seed` and `now` (default: the
        server's clock). Fast (10 batches: about 10 ms): outputs are produced when read, and the
        first Files or Batch request totals them once (about 0.4 s with the large one). Raises
        ValueError for `n` < 0 or `days` <= 0.
        """
        state = self._state
        moment = state.clock() if now is None else now
        return seed_batches(
            state.batches, state.files, n, days=days, seed=seed, now=moment, large_lines=large_lines
        )

    @property
    def ignore_limit(self) -> bool:
        """Whether the list endpoint ignores `limit` (pages of 20)."""
        return self._state.ignore_limit

    @property
    def faults(self) -> list[str]:
        """The persistent faults, as given to `set_faults`."""
        return list(self._state.faults()[1])

    def set_faults(self, faults: list[str]) -> None:
        """Replace the persistent faults (`[]` clears); see `chatspan.devserver.faults`.

        Untargeted faults apply to every following chat request; targeted ones (`list:500;times=2`)
        to requests to their endpoint, counted from this call on. Raises `FaultSyntaxError` (a
        ValueError) for a fault it cannot read, and then changes nothing.
        """
        self._state.set_faults(list(faults))
