"""Starting adversarial children from the tests: bounded in time, several at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_CHATSPAN_VARIABLES = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "CHATSPAN_STREAM_INCLUDE_USAGE",
    "CHATSPAN_LINK_STORED",
)


class ChildFailed(AssertionError):
    """A child did not run its check to the end (crash, sabotage target missing, or timeout)."""


def run_children(specs: list[dict[str, Any]], *, timeout: float) -> list[dict[str, Any]]:
    """Run one child per spec, all at once; return their results in order.

    Every child is killed when `timeout` seconds have passed, and that is a failure: a check that
    cannot finish in time has found a hang.
    """
    environment = {k: v for k, v in os.environ.items() if k not in _CHATSPAN_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="adversarial-") as scratch:
        started: list[tuple[subprocess.Popen[bytes], Path, Any]] = []
        for index, spec in enumerate(specs):
            spec_path = Path(scratch, f"spec-{index}.json")
            spec_path.write_text(json.dumps(spec))
            out_path = Path(scratch, f"result-{index}.json")
            stderr = open(Path(scratch, f"stderr-{index}.txt"), "w+b")  # noqa: SIM115 - closed below
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.adversarial.child", str(spec_path), str(out_path)],
                cwd=REPO,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            started.append((process, out_path, stderr))
        deadline = time.monotonic() + timeout
        results: list[dict[str, Any]] = []
        failures: list[str] = []
        for (process, out_path, stderr), spec in zip(started, specs, strict=True):
            killed = False
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                killed = True
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-3000:]
            stderr.close()
            if killed:
                failures.append(f"{_label(spec)}: killed after {timeout} s\n{tail}")
            elif process.returncode != 0:
                failures.append(f"{_label(spec)}: exit {process.returncode}\n{tail}")
            results.append(json.loads(out_path.read_text()) if out_path.exists() else {})
        if failures:
            raise ChildFailed("\n".join(failures))
        return results


def _label(spec: dict[str, Any]) -> str:
    return " ".join(f"{k}={spec[k]}" for k in ("check", "mode", "group", "sabotage") if spec.get(k))
