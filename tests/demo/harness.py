"""Run `scripts/demo.sh` and `scripts/demo-stop.sh` as `make demo` does, in a directory of the test's own."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.phoenix import REPO_ROOT

DEMO = REPO_ROOT / "scripts" / "demo.sh"
DEMO_STOP = REPO_ROOT / "scripts" / "demo-stop.sh"
DEMO_TIMEOUT = 240.0
"""Phoenix takes 10-30 s to start, the app and a 300-completion backfill a few seconds each."""
HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
"""Whether this venv's openai has `client.responses` (1.66+): examples/app.py makes its two
Responses calls only then, and says in one `skip` line that it leaves them out otherwise."""
CHAT_CALLS = 7
"""The chat completion calls of examples/app.py's tour: sync, async, stream, tool, stored, retried, error."""
TOUR_SPANS = CHAT_CALLS + 2 if HAS_RESPONSES else CHAT_CALLS
"""The live spans examples/app.py makes on this venv's openai."""
SEEDED_AND_STORED = 301
"""What the demo's backfill exports: the 300 seeded stored completions and the tour's stored call."""
BATCH_SPANS = 84
"""What the demo's `backfill --batches` exports from the devserver's 4 seeded batches (`--seed 0`,
the first of 20 lines): a root span per batch and one child per line of its output and error files."""


@dataclass(frozen=True)
class DemoRun:
    """One finished `scripts/demo.sh` run."""

    code: int
    stdout: str
    stderr: str
    state: Path
    env: dict[str, str]

    def output(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def demo_environment(state: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without OpenAI, OpenTelemetry or chatspan settings, plus `extra`.

    The demo directory is `state` and Phoenix takes any free port, so a demo the developer runs
    at the same time (on 6006, in .demo) is neither disturbed nor mistaken for this one.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "OPENAI_", "CHATSPAN_")) or key == "CHATSPAN_PHOENIX_VENV"
    }
    env.update({"CHATSPAN_DEMO_DIR": str(state), "CHATSPAN_DEMO_PORT": "0", **extra})
    return env


def run_demo(env: dict[str, str], state: Path) -> DemoRun:
    """`make demo` with this interpreter's venv as the dev venv (each openai of the matrix)."""
    done = subprocess.run(
        [str(DEMO), sys.prefix],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return DemoRun(done.returncode, done.stdout, done.stderr, state, env)


def stop_demo(env: dict[str, str]) -> str:
    """`make demo-stop` for the demo directory in `env`; its output."""
    done = subprocess.run(
        [str(DEMO_STOP)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def processes_of(state: Path) -> dict[int, str]:
    """Every live process whose environment names this demo directory: what the demo started.

    (The demo passes its environment on, so its processes and their children all carry
    CHATSPAN_DEMO_DIR; zombies, already ended, are not counted.)
    """
    marker = f"CHATSPAN_DEMO_DIR={state}".encode()
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone, or not ours to read
        if marker in environ and stat.rsplit(")", 1)[-1].split()[0] != "Z":
            found[int(proc.name)] = command[:120]
    return found


def listening_addresses(pids: set[int]) -> list[str]:
    """`host:port` of every TCP socket in LISTEN state that one of `pids` holds (from /proc/net)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        except OSError:
            continue
    addresses: list[str] = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: TCP_LISTEN
                host, port = local.split(":")
                addresses.append(f"{_host(host, width)}:{int(port, 16)}")
    return addresses


def _host(hex_host: str, width: int) -> str:
    """/proc/net's little-endian hex address as text: 127.0.0.1, ::1, ::ffff:127.0.0.1, ..."""
    import ipaddress

    raw = bytes.fromhex(hex_host)
    # Each 32-bit word is in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.IPv4Address(words) if width == 8 else ipaddress.IPv6Address(words))
