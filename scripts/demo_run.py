"""`make demo`, after scripts/demo.sh has made sure the virtual environments exist.

    python -m scripts.demo_run --venv .venv [--phoenix-venv .venv-phoenix]

1. the OpenAI API when OPENAI_API_KEY is set, else `chatspan.devserver` on 127.0.0.1 with 300
   seeded stored completions and 4 finished batches (a few lines each);
2. the trace viewer: Arize Phoenix on 127.0.0.1 (port 6006 when free), unless
   OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT names one already, in which case the spans go there
   through an OTLP relay on 127.0.0.1 that keeps a copy for step 5;
3. `opentelemetry-instrument python examples/app.py`, with CHATSPAN_LINK_STORED=true;
4. `chatspan backfill` over the stored list, then `chatspan backfill --batches` over the finished
   batches (one trace per batch);
5. one line per span that reached the viewer, and the URL to open.

Everything it started stops when it ends, except Phoenix, which keeps serving the UI until
`make demo-stop` (scripts/demo-stop.sh) ends it by the pid file in the demo directory.

Environment: CHATSPAN_DEMO_DIR (pid files, logs, Phoenix's data; default `<repo>/.demo`),
CHATSPAN_DEMO_PORT (Phoenix's port; 0 for any free one), CHATSPAN_MODEL (default gpt-4o-mini).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scripts.demo_phoenix import DemoPhoenix, PhoenixError, start_phoenix
from scripts.demo_processes import Started, start_detached
from scripts.demo_relay import OtlpRelay, RelayConfigError, Upstream
from scripts.demo_view import SentSpan, View, build_view, from_phoenix, table_text

REPO: Final = Path(__file__).resolve().parents[1]
PROJECT: Final = "chatspan-demo"
"""Phoenix project of every demo span (the resource attribute `openinference.project.name`)."""
APP_SERVICE: Final = "chatspan-demo"
BACKFILL_SERVICE: Final = "chatspan-backfill"
DEFAULT_MODEL: Final = "gpt-4o-mini"
SEEDED: Final = 300
SEEDED_BATCHES: Final = 4
"""Finished batches the devserver seeds: completed, expired (its output file gone), cancelled, ..."""
BATCH_LINES: Final = 20
"""Lines of the first (large) seeded batch: small, so the demo stays quick."""
DEVSERVER_KEY: Final = "sk-chatspan-demo"
PHOENIX_READY_TIMEOUT: Final = 180.0
SPANS_TIMEOUT: Final = 60.0
_LISTENING: Final = re.compile(r"listening on (http://127\.0\.0\.1:\d+/v1)")
# The one OTEL_* setting a user may want to keep for the demo: message content on the spans.
_KEPT_OTEL: Final = frozenset({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"})

_WIDTH: Final = 100
"""Where the demo wraps its own notes (the span table is wider)."""

_LineFilter = Callable[[str], bool]


class DemoError(Exception):
    """A step failed; the message says which and what to look at."""


@dataclass(frozen=True)
class Target:
    """Where the app and the backfill send their OpenAI requests."""

    env: dict[str, str]
    backfill_args: tuple[str, ...]
    batch_args: tuple[str, ...]
    description: str


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step worked and Phoenix (if started) is left running."""
    parser = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, required=True, help="the dev venv (chatspan, opentelemetry)")
    parser.add_argument("--phoenix-venv", type=Path, default=REPO / ".venv-phoenix")
    args = parser.parse_args(argv)
    state = Path(os.environ.get("CHATSPAN_DEMO_DIR") or REPO / ".demo").resolve()
    try:
        run(args.venv.resolve(), args.phoenix_venv.resolve(), state, os.environ)
    except DemoError as error:
        print(f"\ndemo: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    return 0


def run(venv: Path, phoenix_venv: Path, state: Path, environ: Mapping[str, str]) -> None:
    """The five steps; raises DemoError, having stopped what it started, when one fails."""
    _fresh_state(state)
    try:
        upstream = Upstream.from_environment(environ)
    except RelayConfigError as error:
        raise DemoError(str(error)) from None
    model = environ.get("CHATSPAN_MODEL") or DEFAULT_MODEL
    with contextlib.ExitStack() as cleanup:
        target = _openai_target(venv, state, environ, model, cleanup)
        print(f"[1/5] OpenAI: {target.description}", flush=True)

        phoenix: DemoPhoenix | None = None
        relay: OtlpRelay | None = None
        viewer_guard: _StopUnlessKept | None = None
        if upstream is None:
            phoenix, viewer_guard = _start_viewer(phoenix_venv, state, environ, cleanup)
            endpoint = phoenix.traces_endpoint
        else:
            relay = OtlpRelay(upstream).start()
            cleanup.callback(relay.stop)
            endpoint = relay.traces_endpoint
            print(
                f"[2/5] Viewer: yours, at {upstream.url} (from OTEL_EXPORTER_OTLP_*); "
                "the demo relays to it and keeps a copy to show what it accepted",
                flush=True,
            )

        command = ["opentelemetry-instrument", "python", "examples/app.py"]
        print(f"[3/5] App: {' '.join(command)}  (CHATSPAN_LINK_STORED=true, model {model})", flush=True)
        app_env = _exporting_env(environ, APP_SERVICE, endpoint, phoenix is not None)
        app_env.update(target.env)
        app_env.update({"CHATSPAN_MODEL": model, "CHATSPAN_LINK_STORED": "true"})
        app_lines = _run_step(
            [str(venv / "bin" / "opentelemetry-instrument"), str(venv / "bin" / "python"), "examples/app.py"],
            app_env,
            "examples/app.py",
        )

        backfill = ["chatspan", "backfill", *target.backfill_args]
        print(f"[4/5] Backfill: {' '.join(backfill)}", flush=True)
        backfill_env = _exporting_env(environ, BACKFILL_SERVICE, endpoint, phoenix is not None)
        backfill_env.update(target.env)
        checkpoint = state / "backfill-checkpoint.json"
        output = _run_step(
            [
                str(venv / "bin" / "chatspan"),
                "backfill",
                *target.backfill_args,
                "--checkpoint",
                str(checkpoint),
                "--restart",
                "--json",
            ],
            backfill_env,
            "chatspan backfill",
            show=lambda line: not line.startswith("{"),
        )
        exported = _exported(output)
        batches = ["chatspan", "backfill", "--batches", *target.batch_args]
        print(f"      then: {' '.join(batches)}", flush=True)
        batch_output = _run_step(
            [
                str(venv / "bin" / "chatspan"),
                "backfill",
                "--batches",
                *target.batch_args,
                "--checkpoint",
                str(state / "batch-checkpoint.json"),
                "--restart",
                "--json",
            ],
            backfill_env,
            "chatspan backfill --batches",
            show=lambda line: not line.startswith("{"),
        )
        exported += _exported(batch_output)

        expected = len(app_lines) + exported
        if phoenix is not None:
            print(f"[5/5] What Phoenix received (its REST API, project {PROJECT}):", flush=True)
            raw = phoenix.wait_for_spans(PROJECT, expected, SPANS_TIMEOUT)
            spans = [from_phoenix(span) for span in raw]
        else:
            assert relay is not None
            print(f"[5/5] What {relay.upstream.url} accepted (a copy kept by the demo's relay):", flush=True)
            spans = relay.spans()
        view = _show(spans, expected, state, relay)
        if phoenix is not None and viewer_guard is not None:
            _show_phoenix(phoenix, view, state)
            viewer_guard.keep = True  # the devserver and the relay still stop as the block ends
        else:
            print(
                "\nOpen your viewer and search for service chatspan-demo (live spans) and "
                "chatspan-backfill (backfilled ones); with examples/jaeger: http://localhost:16686"
            )


def _fresh_state(state: Path) -> None:
    """Empty the demo directory, refusing while a previous demo's process is still recorded there."""
    if state.is_dir():
        running = sorted(path.name for path in state.glob("*.pid"))
        if running:
            raise DemoError(
                f"a previous demo is still recorded in {state} ({', '.join(running)}): run `make demo-stop`"
            )
        shutil.rmtree(state)
    state.mkdir(parents=True)


def _openai_target(
    venv: Path, state: Path, environ: Mapping[str, str], model: str, cleanup: contextlib.ExitStack
) -> Target:
    if environ.get("OPENAI_API_KEY"):
        # A real account: only this demo's completions (the app tags its stored call), not the
        # account's whole stored history, and only the last day of it.
        where = environ.get("OPENAI_BASE_URL") or "the OpenAI API"
        return Target(
            env={},
            backfill_args=("--since", "1d", "--metadata", "example=chatspan-tour"),
            # The tour submits no batch: only batches tagged as the tour's would be shown.
            batch_args=("--since", "1d", "--metadata", "example=chatspan-tour"),
            # The app skips its two Responses calls on an openai older than 1.66 (no client.responses).
            description=(
                f"{where} (OPENAI_API_KEY is set), model {model}, 9 small requests "
                "(7 chat completions, 2 Responses API calls; 7 on an openai before 1.66)"
            ),
        )
    devserver = start_detached(
        [
            str(venv / "bin" / "python"),
            "-m",
            "chatspan.devserver",
            "--port",
            "0",
            "--seed-stored",
            str(SEEDED),
            "--seed-batches",
            str(SEEDED_BATCHES),
            "--seed-large-lines",
            str(BATCH_LINES),
        ],
        env={key: value for key, value in environ.items() if not key.startswith(("OTEL_", "OPENAI_"))},
        cwd=REPO,
        log_path=state / "devserver.log",
    )
    pid_file = state / "devserver.pid"
    devserver.record(pid_file, "devserver")
    cleanup.callback(_stop, devserver, pid_file)
    base_url = _devserver_url(devserver, state / "devserver.log")
    return Target(
        env={
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": DEVSERVER_KEY,
            # The devserver answers the tour's injected 429 and 500 (x-chatspan-fault).
            "CHATSPAN_DEVSERVER": "1",
        },
        backfill_args=("--since", "31d"),
        batch_args=("--since", "31d"),
        description=(
            f"no OPENAI_API_KEY: chatspan.devserver at {base_url}, "
            f"{SEEDED} stored completions and {SEEDED_BATCHES} finished batches seeded over 30 days"
        ),
    )


def _devserver_url(devserver: Started, log: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace")) if log.exists() else None
        if found:
            return found.group(1)
        if not devserver.running():
            break
        time.sleep(0.1)
    raise DemoError(f"chatspan.devserver did not start; see {log}")


def _start_viewer(
    phoenix_venv: Path, state: Path, environ: Mapping[str, str], cleanup: contextlib.ExitStack
) -> tuple[DemoPhoenix, _StopUnlessKept]:
    python = phoenix_venv / "bin" / "python"
    if not python.is_file():
        raise DemoError(f"no {python}: create it with scripts/phoenix-venv.sh {phoenix_venv}")
    wanted = environ.get("CHATSPAN_DEMO_PORT")
    port = int(wanted) if wanted and wanted.isdigit() else None
    phoenix = start_phoenix(python, state / "phoenix", port=port)
    pid_file = state / "phoenix.pid"
    phoenix.process.record(pid_file, "phoenix")
    # Stopped when a later step fails; a demo that succeeds keeps it running for the user.
    guard = _StopUnlessKept(phoenix.process, pid_file)
    cleanup.callback(guard)
    print(
        f"[2/5] Viewer: Arize Phoenix on {phoenix.url} (pid {phoenix.process.pid}, "
        "loopback only, telemetry off) ...",
        end="",
        flush=True,
    )
    started = time.monotonic()
    try:
        phoenix.wait_ready(PHOENIX_READY_TIMEOUT)
    except PhoenixError as error:
        print()
        raise DemoError(str(error)) from None
    print(f" ready in {time.monotonic() - started:.0f} s", flush=True)
    return phoenix, guard


def _stop(process: Started, pid_file: Path) -> None:
    process.stop()
    pid_file.unlink(missing_ok=True)


class _StopUnlessKept:
    """An exit callback that stops a process and removes its pid file, unless `keep` was set."""

    def __init__(self, process: Started, pid_file: Path) -> None:
        self.process = process
        self.pid_file = pid_file
        self.keep = False

    def __call__(self) -> None:
        if not self.keep:
            _stop(self.process, self.pid_file)


def _exporting_env(environ: Mapping[str, str], service: str, endpoint: str, phoenix: bool) -> dict[str, str]:
    """The user's environment with the demo's exporter settings in place of their OTEL_* ones."""
    env = {
        key: value
        for key, value in environ.items()
        if (not key.startswith("OTEL_") or key in _KEPT_OTEL) and key != "CHATSPAN_LINK_STORED"
    }
    env.update(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            # The viewer or relay is on loopback: never through the user's HTTP proxy.
            "NO_PROXY": ",".join(filter(None, [environ.get("NO_PROXY"), "127.0.0.1,localhost"])),
            "no_proxy": ",".join(filter(None, [environ.get("no_proxy"), "127.0.0.1,localhost"])),
        }
    )
    if phoenix:
        env["OTEL_RESOURCE_ATTRIBUTES"] = f"openinference.project.name={PROJECT}"
    return env


def _run_step(
    command: list[str], env: Mapping[str, str], label: str, show: _LineFilter | None = None
) -> list[str]:
    """Run a step in the foreground, echoing its output indented; its output lines, or DemoError."""
    lines: list[str] = []
    with subprocess.Popen(
        command,
        env=dict(env),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in _lines(process.stdout):
            lines.append(line)
            if show is None or show(line):
                print(f"      {line}", flush=True)
    if process.returncode != 0:
        raise DemoError(f"{label} exited with code {process.returncode}")
    return lines


def _lines(stream: Iterator[str]) -> Iterator[str]:
    for line in stream:
        # The backfill redraws its progress line with \r on a terminal; keep the last drawing.
        yield line.rstrip("\n").rsplit("\r", 1)[-1]


def _exported(lines: Sequence[str]) -> int:
    for line in reversed(lines):
        if line.startswith("{"):
            summary = json.loads(line)
            return int(summary.get("exported", 0))
    raise DemoError("chatspan backfill printed no --json summary")


def _show(spans: list[SentSpan], expected: int, state: Path, relay: OtlpRelay | None) -> View:
    view = build_view(spans)
    listing = state / "spans.txt"
    listing.write_text("\n".join(view.full_table) + "\n")
    notes = [*view.summary, f"Every span, one line each: {listing}"]
    if len(spans) < expected:
        notes.append(f"Only {len(spans)} of {expected} exported spans arrived within {SPANS_TIMEOUT:.0f} s.")
    if relay is not None and relay.refused:
        notes.append(f"{relay.refused} export request(s) were refused upstream; last: {relay.last_error}")
    for note in notes:
        print(textwrap.fill(note, width=_WIDTH, initial_indent="  ", subsequent_indent="  "))
    print()
    print(table_text(view.table))
    return view


def _show_phoenix(phoenix: DemoPhoenix, view: View, state: Path) -> None:
    # Where examples/backfill_walkthrough.py sends its spans when no OTEL endpoint is set.
    (state / "otlp-endpoint").write_text(phoenix.traces_endpoint + "\n")
    # Backfilled spans sit at their `created`, up to a month back: the project link carries a time
    # range from the earliest span to the latest, or Phoenix's default range would hide most of them.
    time_range = (
        (view.earliest_ns, view.latest_ns)
        if view.earliest_ns is not None and view.latest_ns is not None
        else None
    )
    try:
        project_link = phoenix.project_url(PROJECT, time_range)
    except PhoenixError as error:
        raise DemoError(str(error)) from None
    trace_link = phoenix.trace_url(view.linked_trace) if view.linked_trace else None
    print(f"\nOpen {project_link}")
    if time_range is not None:
        print(f"  (the time range covers every span above, {_day(time_range[0])} to {_day(time_range[1])})")
    if trace_link:
        print(f"  the stored call's trace, backfilled under live: {trace_link}")
    if view.batch_trace:
        print(f"  a batch's trace, one span per request of the batch: {phoenix.trace_url(view.batch_trace)}")
    print(
        f"Phoenix keeps running (pid {phoenix.process.pid}, data and log in {state / 'phoenix'}); "
        "`make demo-stop` ends it."
    )


def _day(nanoseconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(nanoseconds / 1e9))


if __name__ == "__main__":
    sys.exit(main())
