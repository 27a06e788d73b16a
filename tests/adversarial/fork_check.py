"""fork() while other threads are inside chatspan: the child must still make an instrumented call.

One thread makes instrumented calls, another hammers `Headroom.update()` (chatspan's rate-limit
gauge, behind a lock); the main thread forks again and again. Each child makes one instrumented
call and exits; a child that has not exited after `CHILD_BOUND` seconds is killed and reported,
with the stacks `faulthandler` dumped while it hung.

chatspan gets the no-op meter provider here: the OpenTelemetry SDK's own metric storage locks
(`_ViewInstrumentMatch`) are not re-created after fork either, so with the SDK's MeterProvider a
child can hang inside the SDK, whatever chatspan does. This check is about chatspan's locks.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import tempfile
import threading
import time
from typing import Any

from chatspan import ChatspanInstrumentor
from tests.adversarial import sabotage
from tests.adversarial.forms import MESSAGES
from tests.adversarial.harness import instrument
from tests.adversarial.leak_check import _answer
from tests.support.transport import mock_client

CHILD_BOUND = 10.0
"""Seconds a forked child may take for one mocked call (it needs milliseconds)."""


def _wait(pid: int, bound: float) -> int | None:
    """The child's exit status, or None when it is still running after `bound` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    return None


def _in_child(client: Any, dump_path: str, bound: float) -> None:
    code = 1
    try:
        with open(dump_path, "w") as dump:
            faulthandler.dump_traceback_later(bound / 2, file=dump)
            client.chat.completions.create(model="fork", messages=MESSAGES)
            code = 0
    finally:
        os._exit(code)


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def headroom_locks(headroom: object) -> list[Any]:
    """The locks a `Headroom` keeps (found by type, so a renamed attribute is still found)."""
    return [value for value in vars(headroom).values() if isinstance(value, _LOCK_TYPES)]


def _fork_while_held(locks: list[Any], fork: Any) -> Any:
    """Fork while another thread holds every lock in `locks`; returns what `fork()` returned."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(CHILD_BOUND)
        for lock in reversed(locks):
            lock.release()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(CHILD_BOUND)
    try:
        return fork()
    finally:
        release.set()
        holder.join(timeout=CHILD_BOUND)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Fork `forks` times while two threads are busy inside chatspan."""
    instrumented = instrument(keep=False, metrics=False)
    sabotage.apply(spec.get("sabotage"))
    client: Any = mock_client(_answer)
    # The children call through a client no thread uses: httpx's cookie jar lock (and the SDK's own)
    # would otherwise hang a child whatever chatspan does. chatspan's state is shared by both.
    child_client: Any = mock_client(_answer)
    telemetry: Any = getattr(ChatspanInstrumentor(), "_telemetry", None)
    headroom = telemetry.instruments.headroom
    stop = threading.Event()
    # The SDK's first call fills caches behind locks of its own (platform headers, under a
    # cached_property lock in 3.11): made here first, so that forks meet only the steady call path.
    client.chat.completions.create(model="fork", messages=MESSAGES)
    child_client.chat.completions.create(model="fork", messages=MESSAGES)

    def calls() -> None:
        while not stop.is_set():
            client.chat.completions.create(model="fork", messages=MESSAGES)

    def updates() -> None:
        attributes = {"gen_ai.request.model": "fork"}
        while not stop.is_set():
            headroom.update(attributes, 99, 9990)

    threads = [threading.Thread(target=target, daemon=True) for target in (calls, updates)]
    for thread in threads:
        thread.start()
    problems: list[str] = []
    bound = float(spec.get("child_bound", CHILD_BOUND))
    locks = headroom_locks(headroom)
    if not locks:
        problems.append("Headroom keeps no lock any more: update tests/adversarial/fork_check.py")
    forked = 0
    with tempfile.TemporaryDirectory(prefix="adversarial-fork-") as scratch:
        for number in range(spec["forks"]):
            time.sleep(0.002)
            dump_path = os.path.join(scratch, f"child-{number}.txt")
            # Every other fork happens while a thread holds the headroom's lock for certain; the rest
            # wherever the hammering threads happen to be.
            pid = _fork_while_held(locks, os.fork) if number % 2 == 0 else os.fork()
            if pid == 0:
                _in_child(child_client, dump_path, bound)
            forked += 1
            code = _wait(pid, bound)
            if code is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                with open(dump_path) as dump:
                    stacks = dump.read()[-4000:]
                problems.append(f"fork {number}: child hung for {bound} s and was killed\n{stacks}")
                break  # one hang proves the point; more would only cost time
            if code != 0:
                problems.append(f"fork {number}: child exited {code}")
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    started, ended, _ = instrumented.snapshot()
    return {"forks": forked, "problems": problems, "spans_started": started, "spans_ended": ended}
