"""`chatspan backfill` step by step: a window, model and metadata filters, resuming after an interruption.

    python examples/backfill_walkthrough.py

Runs each command as you would type it (printed before its output) against a chatspan devserver
started in-process on 127.0.0.1 with 2,000 stored completions of the last 30 days. Against OpenAI
the commands are the same: set OPENAI_API_KEY instead of OPENAI_BASE_URL.

The spans go where OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) says, over OTLP/HTTP; when
neither is set, to the Phoenix that `make demo` left running (its endpoint is in .demo/otlp-endpoint),
as the project `chatspan-walkthrough`. The checkpoint lives in a temporary directory, so the
walkthrough starts from nothing each time and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatspan.devserver import DevServer

STORED = 2000
SEED = 7
API_KEY = "sk-chatspan-walkthrough"
PROJECT = "chatspan-walkthrough"
INTERRUPT_AFTER = 1.5
"""Seconds the slowed-down backfill runs before the walkthrough presses Ctrl-C (sends SIGINT)."""
SLOW_LIST = "list:latency=0.25"
"""A devserver fault: every page of the stored list takes 0.25 s, so there is time to interrupt."""
DEMO_ENDPOINT = Path(__file__).resolve().parents[1] / ".demo" / "otlp-endpoint"


def main() -> int:
    """Walk through the steps; returns the process exit code."""
    exporter_env = _exporter_env()
    if exporter_env is None:
        print(
            "error: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318), or run `make demo` "
            "first: its Phoenix receives the spans",
            file=sys.stderr,
        )
        return 2
    with (
        DevServer(seed_stored=STORED, seed=SEED, api_key=API_KEY) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")},
            **exporter_env,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": API_KEY,
        }
        # Relative to the working directory of the commands, the temporary directory.
        checkpoint = "checkpoint.json"
        print(f"A devserver at {server.base_url} holds {STORED} stored completions of the last 30 days.")

        _step("1. How many completions a window holds: --dry-run lists them and exports nothing.")
        everything = _backfill(env, tmp, "--since", "31d", "--dry-run")
        _backfill(env, tmp, "--since", "14d", "--until", "7d", "--dry-run")

        _step("2. Only one model, and only completions whose metadata has these pairs (all must match).")
        _backfill(env, tmp, "--since", "31d", "--model", "gpt-4o-mini", "--dry-run")
        _backfill(
            env, tmp, "--since", "31d", "--metadata", "team=search", "--metadata", "env=prod", "--dry-run"
        )

        _step(
            "3. Export the month, and press Ctrl-C halfway (the list is slowed down to make room for it).\n"
            "   The checkpoint only moves when the collector has confirmed a batch."
        )
        server.set_faults([SLOW_LIST])
        first = _backfill(
            env, tmp, "--since", "31d", "--checkpoint", checkpoint, interrupt_after=INTERRUPT_AFTER
        )
        server.set_faults([])

        _step("4. The same command again: it resumes where the checkpoint stands.")
        second = _backfill(env, tmp, "--since", "31d", "--checkpoint", checkpoint)
        total = first["exported"] + second["exported"]
        print(
            f"   {first['exported']} before the interrupt + {second['exported']} after it = {total} "
            f"exported for the {everything['listed']} completions of the month"
            + (" (a batch in flight at the interrupt is sent again: same span ids)" if total > STORED else "")
        )

        _step("5. Once more: only the last 10 minutes are listed again (completions still being stored).")
        _backfill(env, tmp, "--since", "31d", "--checkpoint", checkpoint)
    return 0


def _exporter_env() -> dict[str, str] | None:
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return {"OTEL_SERVICE_NAME": os.environ.get("OTEL_SERVICE_NAME") or "chatspan-backfill"}
    if not DEMO_ENDPOINT.is_file():
        return None
    return {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": DEMO_ENDPOINT.read_text().strip(),
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _step(text: str) -> None:
    print(f"\n{text}")


def _backfill(
    env: dict[str, str], cwd: str, *args: str, interrupt_after: float | None = None
) -> dict[str, Any]:
    """Run `chatspan backfill ARGS --json`, print the command and its report; returns the summary."""
    shown = " ".join(("chatspan", "backfill", *args))
    print(f"   $ {shown}" + ("    # then Ctrl-C" if interrupt_after else ""))
    command = [sys.executable, "-m", "chatspan", "backfill", *args, "--json"]
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    # The final progress line, and `chatspan: interrupted` after a Ctrl-C.
    for line in stderr.splitlines()[-(2 if interrupt_after else 1) :]:
        print(f"   {line}")
    summary = _summary(stdout.splitlines())
    listed_ids = [line for line in stdout.splitlines() if line.startswith("chatcmpl-")]
    for line in listed_ids[:2]:
        print(f"   {line}")
    if len(listed_ids) > 2:
        print(f"   ... {len(listed_ids) - 2} more")
    print(f"   exit {process.returncode}: {summary}")
    return summary


def _summary(lines: Sequence[str]) -> dict[str, Any]:
    for line in reversed(lines):
        if line.startswith("{"):
            summary: dict[str, Any] = json.loads(line)
            return {key: summary[key] for key in ("listed", "exported", "error") if key in summary}
    raise SystemExit("chatspan backfill printed no summary")


if __name__ == "__main__":
    sys.exit(main())
