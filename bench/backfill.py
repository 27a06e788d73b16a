"""What `chatspan backfill` costs over paging the same stored completions with the bare openai SDK.

Run it in the dev venv (see bench/README.md, section "backfill.py"):

    .venv/bin/python bench/backfill.py [--quick] [--sizes 10000,100000] [--markdown] [--json]

For each size N the parent starts the devserver (`python -m chatspan.devserver --seed-stored N`)
and an OTLP/HTTP receiver, each in its own process, and then times two commands that take turns,
in an order that alternates from round to round:

- `bare`: a child that pages `client.chat.completions.list(order="desc", limit=100)` with the
  openai SDK and does nothing else with the pages (`backfill.py --pager`);
- `backfill`: `python -m chatspan backfill --since 31d --json --restart --checkpoint TMP`, exporting
  to the receiver over OTLP/HTTP.

Each command is a fresh process, timed from spawn to exit (the wall time a user waits for), and
reaped with `os.wait4` on its pid, whose rusage is that one child's: peak RSS and CPU time. The
receiver only keeps the request bodies while a command runs and decodes them when asked, after the
command exited, so counting spans costs the backfill nothing. Every run is checked: the pager saw
N completions, the backfill reported N exported, and the receiver got exactly N distinct spans.

Nothing asserts a timing: the targets (backfill ≤ 1.1 x bare paging, peak RSS < 200 MB at
100,000) are reported as met or missed. The module imports only the standard library at the top,
so the `bare` child loads nothing but openai.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

MODES = ("bare", "backfill")
DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000,)
PAGE_SIZE = 100
SINCE = "31d"
"""The devserver seeds the last 30 days, so a 31-day window holds every stored completion."""
SEED = 1
TARGET_RATIO = 1.1
TARGET_RSS_MB = 200.0
TARGET_RSS_AT = 100_000
_LISTENING = "listening on "


class BenchError(Exception):
    """A run that cannot give a meaningful result; the CLI prints it as one line."""


# --- the children: the bare pager and the receiver ------------------------------------------------


def page_bare() -> None:
    """Be the `bare` child: page the whole list as the backfill does, keep nothing, print the count.

    The client is built as `chatspan backfill` builds its own (same timeout and retries, key and
    base URL from OPENAI_*), so the two differ only in what they do with each page.
    """
    import openai

    started = time.perf_counter()
    client = openai.OpenAI(timeout=60.0, max_retries=5)
    count = 0
    for page in client.chat.completions.list(order="desc", limit=PAGE_SIZE).iter_pages():
        count += len(page.data)
    print(json.dumps({"completions": count, "loop_s": time.perf_counter() - started}), flush=True)


class _Bodies:
    """The request bodies received since the last reset; decoded only when counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.refused = 0


def _receiver_handler(store: _Bodies) -> type[BaseHTTPRequestHandler]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    # The answer never changes: serialise it once, not per request.
    answer = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as a collector answers: the exporter reuses one connection for every batch.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            accepted = self.path == "/v1/traces" and not self.headers.get("content-encoding")
            with store.lock:
                if accepted:
                    store.bodies.append(body)
                else:
                    store.refused += 1
            self.send_response(200 if accepted else 400)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer) if accepted else 0))
            self.end_headers()
            if accepted:
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _count(bodies: list[bytes]) -> dict[str, int]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    spans = 0
    ids: set[bytes] = set()
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                spans += len(scope_spans.spans)
                ids.update(span.trace_id + span.span_id for span in scope_spans.spans)
    return {"spans": spans, "distinct": len(ids), "requests": len(bodies), "bytes": sum(map(len, bodies))}


def serve_receiver() -> None:
    """Be the receiver child: accept OTLP/HTTP protobuf traces, answer the parent's commands.

    Prints the endpoint, then answers one line per stdin line: `count` gives the spans, distinct
    span ids, requests and bytes received since the last `count` plus this process's CPU seconds
    over that time, and forgets them; `stop` (or EOF) exits.
    """
    store = _Bodies()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(store))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="otlp-receiver", daemon=True).start()
    print(f"otlp receiver {_LISTENING}http://127.0.0.1:{server.server_address[1]}/v1/traces", flush=True)
    cpu = time.process_time()
    for line in sys.stdin:
        if line.strip() != "count":
            break
        # CPU time is read before decoding: decoding is the receiver's bookkeeping, not its load.
        spent, cpu = time.process_time() - cpu, time.process_time()
        with store.lock:
            bodies, store.bodies = store.bodies, []
            refused, store.refused = store.refused, 0
        counts = _count(bodies)
        del bodies
        print(json.dumps({**counts, "refused": refused, "cpu_s": spent}), flush=True)
        cpu = time.process_time()
    server.shutdown()


# --- the parent: servers, timed runs, report -------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One timed command: wall seconds from spawn to exit, and its own rusage."""

    mode: str
    round: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    devserver_cpu_s: float
    receiver_cpu_s: float | None
    output: dict[str, Any]
    received: dict[str, int] | None


class _Server:
    """A child that prints one `... listening on URL` line, then serves until told to stop."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], *, stdin: bool = False) -> None:
        self.name = name
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self._readline()
        if _LISTENING not in line:
            self.close()
            raise BenchError(f"the {name} did not start: {line.strip() or 'no output'}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    @property
    def pid(self) -> int:
        return self._process.pid

    def _readline(self) -> str:
        assert self._process.stdout is not None
        return self._process.stdout.readline()

    def ask(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        line = self._readline()
        if not line:
            raise BenchError(f"the {self.name} exited (exit code {self._process.wait()}); see above")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc (its own threads, not its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the parenthesised command name, which may itself hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int, bytes, bytes]:
    """Run `command`; (wall s, CPU s, peak RSS MB, exit code, stdout, stderr).

    Reaped with os.wait4 on its pid: that rusage is this child's alone, where RUSAGE_CHILDREN
    would mix in every child reaped before (servers, earlier runs) and keep the largest RSS.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env
        )
        assert process.stdout is not None
        # Read to EOF first: a child blocked on a full pipe would never exit.
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.stdout.close()
        # Popen did not reap it, so tell it the outcome or it would wait on a pid that is gone.
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read()
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, out, err


def _child_env(base_url: str, endpoint: str) -> dict[str, str]:
    """The environment minus anything that configures OpenTelemetry, chatspan or openai, plus ours.

    Content capture is off because its variable is gone, so the backfill fetches no messages and
    pages exactly what the bare pager pages.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHATSPAN_", "OPENAI_"))}
    if "PYTHONPATH" in env:
        # opentelemetry-instrument works through a sitecustomize on PYTHONPATH.
        kept = [p for p in env["PYTHONPATH"].split(os.pathsep) if "auto_instrumentation" not in p]
        env["PYTHONPATH"] = os.pathsep.join(kept)
    env["OPENAI_API_KEY"] = "sk-bench"
    env["OPENAI_BASE_URL"] = base_url
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = endpoint
    env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
    return env


def _commands(checkpoint: Path, profile: Path | None = None) -> dict[str, list[str]]:
    backfill = [
        "chatspan",
        "backfill",
        "--since",
        SINCE,
        "--json",
        "--restart",
        "--checkpoint",
        str(checkpoint),
    ]
    profiled = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    return {
        "bare": [sys.executable, str(Path(__file__).resolve()), "--pager"],
        "backfill": [sys.executable, *profiled, "-m", *backfill],
    }


def timed_summary(
    where: str, command: list[str], env: dict[str, str], devserver: _Server, receiver: _Server
) -> tuple[float, float, float, float, dict[str, Any], dict[str, Any]]:
    """Run `command` timed: (wall, CPU, peak RSS, devserver CPU, receiver count, its JSON summary).

    BenchError when it exits non-zero or its last line is no JSON summary.
    """
    devserver_cpu = _cpu_seconds(devserver.pid)
    wall, cpu, rss, code, out, err = _timed(command, env)
    devserver_cpu = _cpu_seconds(devserver.pid) - devserver_cpu
    # Asked after every run, so a backfill never gets credit for spans another run sent.
    received = receiver.ask("count")
    last = out.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if code != 0:
        detail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise BenchError(f"{where} exited with {code}: {detail[0]}")
    try:
        output: dict[str, Any] = json.loads(last[0])
    except json.JSONDecodeError:
        raise BenchError(f"{where} printed no JSON summary: {last[0]!r}") from None
    return wall, cpu, rss, devserver_cpu, received, output


def _run(
    mode: str,
    number: int,
    size: int,
    command: list[str],
    env: dict[str, str],
    devserver: _Server,
    receiver: _Server,
) -> Run:
    """Time one command and check that it did all its work; BenchError when it did not."""
    where = f"{mode} at {size:,} (round {number})"
    wall, cpu, rss, devserver_cpu, received, output = timed_summary(where, command, env, devserver, receiver)
    if mode == "bare":
        if output["completions"] != size or received["spans"] != 0:
            raise BenchError(
                f"{where} paged {output['completions']} completions and sent {received['spans']} spans"
            )
        return Run(mode, number, wall, cpu, rss, devserver_cpu, None, output, None)
    if output.get("error") is not None or output.get("exported") != size:
        raise BenchError(f"{where} reported {output.get('exported')} exported, error {output.get('error')!r}")
    if received["spans"] != size or received["distinct"] != size or received["refused"]:
        raise BenchError(
            f"{where}: the receiver got {received['spans']} spans ({received['distinct']} distinct, "
            f"{received['refused']} refused requests), not {size}"
        )
    return Run(mode, number, wall, cpu, rss, devserver_cpu, received.pop("cpu_s"), output, received)


def run_size(size: int, rounds: int, warmup: bool, workdir: Path, profile: Path | None) -> list[Run]:
    """Start the servers for `size`, time `rounds` rounds of both modes in alternating order.

    With `warmup`, each mode first runs once untimed (imports compiled and cached, the devserver's
    first pages served). With `profile`, one more untimed backfill runs under cProfile into that
    file.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHATSPAN_", "OPENAI_"))}
    devserver = _Server(
        "devserver",
        [
            sys.executable,
            "-m",
            "chatspan.devserver",
            "--port",
            "0",
            "--seed-stored",
            str(size),
            "--seed",
            str(SEED),
        ],
        env,
    )
    receiver: _Server | None = None
    try:
        receiver = _Server(
            "receiver", [sys.executable, str(Path(__file__).resolve()), "--receiver"], env, stdin=True
        )
        child_env = _child_env(devserver.url, receiver.url)
        commands = _commands(workdir / f"checkpoint-{size}.json")
        if warmup:
            for mode in MODES:
                _run(mode, 0, size, commands[mode], child_env, devserver, receiver)
        runs: list[Run] = []
        for number in range(1, rounds + 1):
            # Alternate which mode goes first: a neighbour's load that drifts over the round then
            # weighs on both modes alike instead of always on the second.
            order = MODES if number % 2 else MODES[::-1]
            for mode in order:
                print(
                    f"backfill bench: N={size:,} round {number}/{rounds} {mode}", file=sys.stderr, flush=True
                )
                runs.append(_run(mode, number, size, commands[mode], child_env, devserver, receiver))
        if profile is not None:
            print(
                f"backfill bench: N={size:,} profiling the backfill into {profile}",
                file=sys.stderr,
                flush=True,
            )
            profiled = _commands(workdir / f"checkpoint-{size}.json", profile)["backfill"]
            _run("backfill", 0, size, profiled, child_env, devserver, receiver)
        return runs
    finally:
        if receiver is not None:
            receiver.close()
        devserver.close()


def summarize(size: int, runs: list[Run]) -> dict[str, Any]:
    """Medians per mode, the ratio of the medians and the per-round ratios, peaks and checks."""
    by_mode = {mode: [run for run in runs if run.mode == mode] for mode in MODES}
    wall = {mode: statistics.median(run.wall_s for run in by_mode[mode]) for mode in MODES}
    cpu = {mode: statistics.median(run.cpu_s for run in by_mode[mode]) for mode in MODES}
    per_round = [
        backfill.wall_s / bare.wall_s
        for bare, backfill in zip(by_mode["bare"], by_mode["backfill"], strict=True)
    ]
    received = [run.received for run in by_mode["backfill"] if run.received is not None]
    return {
        "size": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "ratio": wall["backfill"] / wall["bare"],
        "ratio_per_round": per_round,
        "cpu_ratio": cpu["backfill"] / cpu["bare"],
        # What each reports as its own run time (after interpreter start-up and most imports):
        # wall minus this is start-up, which weighs on the small sizes only.
        "in_process_s": {
            "bare": statistics.median(run.output["loop_s"] for run in by_mode["bare"]),
            "backfill": statistics.median(run.output["seconds"] for run in by_mode["backfill"]),
        },
        "peak_rss_mb": {mode: max(run.peak_rss_mb for run in by_mode[mode]) for mode in MODES},
        "devserver_cpu_s": {
            mode: statistics.median(run.devserver_cpu_s for run in by_mode[mode]) for mode in MODES
        },
        "receiver_cpu_s": statistics.median(
            run.receiver_cpu_s for run in by_mode["backfill"] if run.receiver_cpu_s is not None
        ),
        "spans_received": [r["spans"] for r in received],
        "otlp_requests": statistics.median(r["requests"] for r in received),
        "otlp_bytes_per_span": statistics.median(r["bytes"] / r["spans"] for r in received),
    }


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
    )


def _verdict(met: bool) -> str:
    return "meets" if met else "misses"


def render(summaries: list[dict[str, Any]], info: dict[str, Any], markdown: bool) -> str:
    """The setup, the results table and the CPU table, as aligned text or Markdown."""
    setup = [
        f"Python {info['python']}, openai {info['openai']}, opentelemetry-sdk {info['sdk']}, "
        f"opentelemetry-exporter-otlp-proto-http {info['exporter']}; {info['cpus']} CPUs, "
        f"load average {info['load_before']} before the run, {info['load_after']} after.",
        f"{info['rounds']} round{'s' if info['rounds'] != 1 else ''} per size, bare and backfill "
        "alternating which goes first"
        f"{', after one untimed warm-up run of each' if info['warmup'] else ''}; wall time from spawn "
        "to exit (interpreter start-up and imports included), peak RSS and CPU from os.wait4 on the "
        "child's pid; medians over rounds, peak RSS the largest.",
        f"Stored completions from `python -m chatspan.devserver --seed-stored N --seed {SEED}`, pages of "
        f"{PAGE_SIZE}; backfill: `chatspan backfill --since {SINCE} --json --restart --checkpoint TMP`, "
        "OTLP/HTTP protobuf to a local receiver, content capture off (no message fetches).",
    ]
    if markdown:
        setup = [f"- {line}" for line in setup]
    rows = []
    for s in summaries:
        low, high = min(s["ratio_per_round"]), max(s["ratio_per_round"])
        rss = s["peak_rss_mb"]["backfill"]
        rss_cell = f"{rss:.0f}"
        if s["size"] >= TARGET_RSS_AT:
            rss_cell += f" ({_verdict(rss < TARGET_RSS_MB)} < {TARGET_RSS_MB:.0f})"
        rows.append(
            [
                f"{s['size']:,}",
                f"{s['wall_s']['bare']:.2f}",
                f"{s['wall_s']['backfill']:.2f}",
                f"{s['ratio']:.2f} ({_verdict(s['ratio'] <= TARGET_RATIO)} ≤ {TARGET_RATIO}; "
                f"rounds {low:.2f}–{high:.2f})",
                rss_cell,
                f"{s['peak_rss_mb']['bare']:.0f}",
                " / ".join(f"{n:,}" for n in s["spans_received"]),
            ]
        )
    results = _table(
        [
            "N",
            "bare paging (s)",
            "backfill (s)",
            "ratio backfill/bare",
            "backfill peak RSS (MB)",
            "bare peak RSS (MB)",
            "spans received (per backfill run)",
        ],
        rows,
        markdown,
    )
    cpu_rows = [
        [
            f"{s['size']:,}",
            f"{s['cpu_s']['bare']:.2f}",
            f"{s['cpu_s']['backfill']:.2f}",
            f"{s['cpu_ratio']:.2f}",
            f"{s['in_process_s']['bare']:.2f} / {s['in_process_s']['backfill']:.2f}",
            f"{s['devserver_cpu_s']['bare']:.2f}",
            f"{s['devserver_cpu_s']['backfill']:.2f}",
            f"{s['receiver_cpu_s']:.2f}",
            f"{s['otlp_requests']:,.0f} / {s['otlp_bytes_per_span']:.0f}",
        ]
        for s in summaries
    ]
    cpu = _table(
        [
            "N",
            "bare CPU (s)",
            "backfill CPU (s)",
            "CPU ratio",
            "after start-up: bare / backfill (s)",
            "devserver CPU during bare (s)",
            "devserver CPU during backfill (s)",
            "receiver CPU (s)",
            "OTLP requests / bytes per span",
        ],
        cpu_rows,
        markdown,
    )
    return "\n\n".join(["\n".join(setup), results, cpu])


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _versions(args: argparse.Namespace, load: str) -> dict[str, Any]:
    import openai

    return {
        "python": platform.python_version(),
        "openai": openai.__version__,
        "sdk": metadata.version("opentelemetry-sdk"),
        "exporter": metadata.version("opentelemetry-exporter-otlp-proto-http"),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_before": load,
        "load_after": _load(),
        "rounds": args.rounds,
        "warmup": not args.no_warmup,
    }


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.strip().replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be at least 1: {text!r}")
    return sizes


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pager", action="store_true", help=argparse.SUPPRESS)  # the bare child
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)  # the receiver child
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="stored completions per devserver, comma-separated (default 10_000,100_000)",
    )
    parser.add_argument("--rounds", type=_positive, default=3, help="timed runs of each mode per size")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first run of each mode")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="after the rounds, run one more (untimed) backfill per size under cProfile into DIR",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 completions, one round")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--json", action="store_true", help="print the results (every run too) as JSON")
    parser.add_argument("--save", type=Path, metavar="FILE", help="also write that JSON to FILE")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds = list(QUICK_SIZES), 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or one of its children); errors become one line and exit 1."""
    args = _arguments(argv)
    if args.pager:
        page_bare()
        return 0
    if args.receiver:
        serve_receiver()
        return 0
    if importlib.util.find_spec("chatspan") is None:
        print("backfill bench: run it with the dev venv's python (.venv/bin/python)", file=sys.stderr)
        return 1
    load = _load()
    try:
        summaries = []
        every_run: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="chatspan-bench-") as workdir:
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
            for size in args.sizes:
                profile = args.profile / f"backfill-{size}.prof" if args.profile is not None else None
                runs = run_size(size, args.rounds, not args.no_warmup, Path(workdir), profile)
                summaries.append(summarize(size, runs))
                every_run += [{"size": size, **asdict(run)} for run in runs]
        info = _versions(args, load)
        results = json.dumps({"info": info, "sizes": summaries, "runs": every_run}, indent=2)
        if args.save is not None:
            args.save.write_text(results + "\n", encoding="utf-8")
        if args.json:
            print(results)
        else:
            print(render(summaries, info, args.markdown))
        return 0
    except BenchError as error:
        print(f"backfill bench: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
