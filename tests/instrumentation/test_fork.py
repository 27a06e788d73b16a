"""A child forked while another thread holds chatspan's own lock still makes instrumented calls."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from chatspan.instrumentation.metrics import Headroom
from tests.support.recording import instrumented
from tests.support.transport import mock_client, response

CHILD_DEADLINE = 20.0
"""Seconds a healthy child may take (it needs milliseconds); past that it hangs and is killed."""


def wait_for_child(pid: int) -> int:
    """Return the child's exit status; kill it and return -1 when it outlives the deadline."""
    deadline = time.monotonic() + CHILD_DEADLINE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1


def fork_while_held(headroom: Headroom, child: Callable[[], object]) -> int:
    """Fork while another thread holds the headroom lock; run `child()` in the child."""
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with headroom._lock:
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 if the call went through
        try:
            child()
            code = 0
        except BaseException:
            code = 1
        os._exit(code)
    release.set()
    thread.join()
    return wait_for_child(pid)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_headroom_lock_is_fresh_in_a_forked_child() -> None:
    headroom = Headroom()
    assert fork_while_held(headroom, lambda: headroom.update({"m": "x"}, 5, 7)) == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_an_instrumented_call_in_a_child_forked_mid_update() -> None:
    headers = {"content-type": "application/json", "x-ratelimit-remaining-requests": "9"}
    body = b'{"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}'
    with instrumented() as recording:
        client = mock_client(lambda request: response(200, headers, body))
        client.chat.completions.create(model="m", messages=[])  # headroom now has a key
        from chatspan import ChatspanInstrumentor

        telemetry = ChatspanInstrumentor()._telemetry
        assert telemetry is not None
        code = fork_while_held(
            telemetry.instruments.headroom,
            lambda: client.chat.completions.create(model="m", messages=[]),
        )
    assert code == 0, "the child hung on chatspan's lock (killed) or failed"
    assert len(recording.spans()) == 1, "the parent's own span only"
