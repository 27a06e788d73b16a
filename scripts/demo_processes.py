"""Processes the demo starts: each in a session of its own, recorded in a pid file, stopped by pid.

A pid file holds one line, `PID START NAME`: START is the process's start time in clock ticks
since boot (field 22 of /proc/PID/stat), so `scripts/demo-stop.sh` never signals a process that
merely inherited a recycled pid; it is `-` where there is no /proc.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

STOP_TIMEOUT: Final = 15.0


class Started:
    """A process started by `start_detached`: the leader of its own process group."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    def record(self, pid_file: Path, name: str) -> None:
        """Write the pid file `scripts/demo-stop.sh` reads."""
        pid_file.write_text(f"{self.pid} {start_time(self.pid)} {name}\n")

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL after STOP_TIMEOUT seconds; reaps the leader."""
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            if not self.running():
                return
            with contextlib.suppress(ProcessLookupError):  # the group is already gone
                os.killpg(self.pid, sig)
            try:
                self._process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue


def start_detached(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    log_path: Path | None = None,
    stdout_pipe: bool = False,
) -> Started:
    """Start `command` as the leader of a new session: Ctrl-C at the terminal does not reach it,
    and stopping its group ends any child it spawned. Output goes to `log_path` (or a pipe)."""
    if stdout_pipe:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Started(process)
    target = log_path or Path(os.devnull)
    with target.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(process)


def start_time(pid: int) -> str:
    """The process's start time from /proc (clock ticks since boot), or `-` where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "-"
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else "-"
