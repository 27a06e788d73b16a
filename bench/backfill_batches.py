"""What `chatspan backfill --batches` costs over streaming the same batch output with the bare SDK.

Run it in the dev venv (see bench/README.md, section "backfill.py: batches"):

    .venv/bin/python bench/backfill_batches.py [--quick] [--batch-lines 50000] [--markdown] [--json]

The parent starts one devserver seeded with one finished batch of `--batch-lines` lines
(`python -m chatspan.devserver --seed-batches 1 --seed-large-lines N`) and the OTLP/HTTP receiver
of bench/backfill.py, then times, in one run and in an order that alternates from round to round:

- `bare-batch`: a child that retrieves the batch with the openai SDK, streams its output file
  through `client.files.with_streaming_response.content(...)` and `json.loads` every line (the floor);
- `backfill-batch`: `python -m chatspan backfill --batches --batch ID --json --restart --checkpoint
  TMP`, exporting to the receiver; once with content capture off and once on (`--with-messages`:
  the input file is joined by `custom_id`).

Timing, rusage (os.wait4), the receiver and the child environment are bench/backfill.py's, imported,
not copied. Every run is checked: the bare child parsed N lines; the backfill reported N + 1
exported, and the receiver got exactly N + 1 spans (N line spans and one root span), all distinct.
Nothing asserts a timing: the targets (≤ 1.2 x bare wall, peak RSS < 250 MB) are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is no package: backfill.py is imported as the sibling script it is.
from backfill import (
    BenchError,
    _child_env,
    _load,
    _positive,
    _Server,
    _table,
    _verdict,
    _versions,
    timed_summary,
)

MODES = ("bare-batch", "bare-batch+encode", "backfill-batch", "backfill-batch+messages")
BACKFILLS = MODES[2:]
DEFAULT_LINES = 50_000
QUICK_LINES = 2_000
SEED = 1
TARGET_RATIO = 1.2
TARGET_RSS_MB = 250.0


def stream_and_encode(batch_id: str) -> None:
    """Be the `bare-batch+encode` child: the bare stream and parse, then the OTLP encoding of its spans.

    Streams and parses every line as `bare-batch` does (`parse_s`), builds each line's span as the
    backfill does (`BatchLines.span`; `build_s`, not part of the floor), and encodes them with the
    standard OTLP exporter's encoder 500 at a time, as the backfill exports them (`encode_s`): what
    any exporter of these spans through OpenTelemetry's OTLP encoding must pay on top of reading
    the file.
    """
    import openai
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from chatspan.backfill.batch_runner import BATCH_SIZE
    from chatspan.backfill.batch_spans import BatchLines
    from chatspan.backfill.otlp import resource

    client = openai.OpenAI(timeout=60.0, max_retries=5)
    batch = client.batches.retrieve(batch_id)
    batch_lines = BatchLines.of(batch, resource=resource(), capture_content=False)
    assert batch.output_file_id is not None
    parse_s = build_s = encode_s = 0.0
    encoded = count = 0
    pending: list[dict[str, Any]] = []

    def encode(lines: list[dict[str, Any]]) -> None:
        nonlocal build_s, encode_s, encoded
        started = time.perf_counter()
        spans = [batch_lines.span(line) for line in lines]
        built = time.perf_counter()
        encoded += len(encode_spans(spans).SerializeToString())
        build_s += built - started
        encode_s += time.perf_counter() - built

    started = time.perf_counter()
    with client.files.with_streaming_response.content(batch.output_file_id) as response:
        for line in response.iter_lines():
            if line.strip():
                pending.append(json.loads(line))
                count += 1
                if len(pending) == BATCH_SIZE:
                    parse_s += time.perf_counter() - started
                    encode(pending)
                    pending = []
                    started = time.perf_counter()
    parse_s += time.perf_counter() - started
    if pending:
        encode(pending)
    summary = {"lines": count, "parse_s": parse_s, "build_s": build_s, "encode_s": encode_s, "bytes": encoded}
    print(json.dumps(summary), flush=True)


def stream_bare(batch_id: str) -> None:
    """Be the `bare-batch` child: retrieve the batch, stream and parse its output file, print the count."""
    import openai

    started = time.perf_counter()
    client = openai.OpenAI(timeout=60.0, max_retries=5)
    batch = client.batches.retrieve(batch_id)
    count = 0
    assert batch.output_file_id is not None
    with client.files.with_streaming_response.content(batch.output_file_id) as response:
        for line in response.iter_lines():
            if line.strip():
                json.loads(line)
                count += 1
    print(json.dumps({"lines": count, "loop_s": time.perf_counter() - started}), flush=True)


@dataclass(frozen=True)
class Run:
    """One timed command: wall seconds from spawn to exit, and its own rusage."""

    mode: str
    round: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    devserver_cpu_s: float
    output: dict[str, Any]
    received: dict[str, Any] | None


def _commands(batch_id: str, workdir: Path) -> dict[str, list[str]]:
    backfill = [
        sys.executable,
        "-m",
        "chatspan",
        "backfill",
        "--batches",
        "--batch",
        batch_id,
        "--json",
        "--restart",
        "--checkpoint",
    ]
    return {
        "bare-batch": [sys.executable, str(Path(__file__).resolve()), "--stream", batch_id],
        "bare-batch+encode": [sys.executable, str(Path(__file__).resolve()), "--stream-encode", batch_id],
        "backfill-batch": [*backfill, str(workdir / "off.json")],
        "backfill-batch+messages": [*backfill, str(workdir / "on.json"), "--with-messages"],
    }


def _run(
    mode: str,
    number: int,
    lines: int,
    command: list[str],
    env: dict[str, str],
    devserver: _Server,
    receiver: _Server,
) -> Run:
    """Time one command and check that it did all its work; BenchError when it did not."""
    where = f"{mode} (round {number})"
    wall, cpu, rss, devserver_cpu, received, output = timed_summary(where, command, env, devserver, receiver)
    if mode.startswith("bare-batch"):
        if output["lines"] != lines or received["spans"] != 0:
            raise BenchError(f"{where} parsed {output['lines']} lines and sent {received['spans']} spans")
        return Run(mode, number, wall, cpu, rss, devserver_cpu, output, None)
    spans = lines + 1  # one per line and the root
    if output.get("error") is not None or output.get("exported") != spans:
        raise BenchError(f"{where} reported {output.get('exported')} exported, error {output.get('error')!r}")
    if received["spans"] != spans or received["distinct"] != spans or received["refused"]:
        raise BenchError(
            f"{where}: the receiver got {received['spans']} spans ({received['distinct']} distinct, "
            f"{received['refused']} refused requests), not {spans}"
        )
    return Run(mode, number, wall, cpu, rss, devserver_cpu, output, received)


def _batch_id(base_url: str) -> str:
    """The one seeded batch's id, asked of the devserver with the standard library."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/batches?limit=1", headers={"Authorization": "Bearer sk-bench"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        data = json.load(answer)["data"]
    if len(data) != 1:
        raise BenchError(f"the devserver lists {len(data)} batches, not the one seeded")
    return str(data[0]["id"])


def run_all(lines: int, rounds: int, warmup: bool, workdir: Path) -> list[Run]:
    """Start the devserver and receiver, time `rounds` rounds of every mode in rotating order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHATSPAN_", "OPENAI_"))}
    devserver = _Server(
        "devserver",
        [
            sys.executable,
            "-m",
            "chatspan.devserver",
            "--port",
            "0",
            "--seed-batches",
            "1",
            "--seed-large-lines",
            str(lines),
            "--seed",
            str(SEED),
        ],
        env,
    )
    receiver: _Server | None = None
    try:
        backfill_script = str(Path(__file__).resolve().parent / "backfill.py")
        receiver = _Server("receiver", [sys.executable, backfill_script, "--receiver"], env, stdin=True)
        child_env = _child_env(devserver.url, receiver.url)
        commands = _commands(_batch_id(devserver.url), workdir)
        if warmup:
            for mode in MODES:
                _run(mode, 0, lines, commands[mode], child_env, devserver, receiver)
        runs: list[Run] = []
        for number in range(1, rounds + 1):
            shift = (number - 1) % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                print(
                    f"batch bench: {lines:,} lines, round {number}/{rounds} {mode}",
                    file=sys.stderr,
                    flush=True,
                )
                runs.append(_run(mode, number, lines, commands[mode], child_env, devserver, receiver))
        return runs
    finally:
        if receiver is not None:
            receiver.close()
        devserver.close()


def summarize(lines: int, runs: list[Run]) -> dict[str, Any]:
    """Medians per mode, each backfill's ratio to the bare stream (of medians and per round), peaks."""
    by_mode = {mode: [run for run in runs if run.mode == mode] for mode in MODES}
    wall = {mode: statistics.median(run.wall_s for run in by_mode[mode]) for mode in MODES}
    encode_s = [run.output["encode_s"] for run in by_mode["bare-batch+encode"]]
    # The floor with encoding, per round: the bare stream's wall plus the encoding of its spans.
    encoding_floor = [
        bare.wall_s + encoding for bare, encoding in zip(by_mode["bare-batch"], encode_s, strict=True)
    ]
    return {
        "lines": lines,
        "wall_s": wall,
        "cpu_s": {mode: statistics.median(run.cpu_s for run in by_mode[mode]) for mode in MODES},
        "encode_s": statistics.median(encode_s),
        "build_s": statistics.median(run.output["build_s"] for run in by_mode["bare-batch+encode"]),
        "encoding_floor_s": statistics.median(encoding_floor),
        "ratio": {mode: wall[mode] / wall["bare-batch"] for mode in BACKFILLS},
        "ratio_per_round": {
            mode: [b.wall_s / a.wall_s for a, b in zip(by_mode["bare-batch"], by_mode[mode], strict=True)]
            for mode in BACKFILLS
        },
        "ratio_to_encoding_floor": {
            mode: [run.wall_s / floor for run, floor in zip(by_mode[mode], encoding_floor, strict=True)]
            for mode in BACKFILLS
        },
        "peak_rss_mb": {mode: max(run.peak_rss_mb for run in by_mode[mode]) for mode in MODES},
        "devserver_cpu_s": {
            mode: statistics.median(run.devserver_cpu_s for run in by_mode[mode]) for mode in MODES
        },
        "spans_received": {
            mode: [run.received["spans"] for run in by_mode[mode] if run.received] for mode in BACKFILLS
        },
    }


def render(summary: dict[str, Any], info: dict[str, Any], markdown: bool) -> str:
    """The setup and one row per mode, as aligned text or Markdown."""
    setup = [
        f"Python {info['python']}, openai {info['openai']}, opentelemetry-sdk {info['sdk']}; "
        f"{info['cpus']} CPUs, load average {info['load_before']} before the run, "
        f"{info['load_after']} after.",
        f"One batch of {summary['lines']:,} lines from `python -m chatspan.devserver --seed-batches 1 "
        f"--seed-large-lines {summary['lines']} --seed {SEED}`; {info['rounds']} rounds, the modes rotating "
        f"which goes first{', after one untimed warm-up run of each' if info['warmup'] else ''}; wall from "
        "spawn to exit, peak RSS and CPU from os.wait4; medians, peak RSS the largest.",
    ]
    if markdown:
        setup = [f"- {line}" for line in setup]
    rows = []
    for mode in MODES:
        wall = summary["wall_s"][mode]
        rss = summary["peak_rss_mb"][mode]
        if mode == "bare-batch":
            ratio, rss_cell, spans, floor = "1.00 (the floor)", f"{rss:.0f}", "–", "–"
        elif mode == "bare-batch+encode":
            ratio, rss_cell, spans = "–", f"{rss:.0f}", "–"
            floor = (
                f"{summary['encoding_floor_s']:.2f} s = bare + {summary['encode_s']:.2f} s encoding "
                f"(building the spans: {summary['build_s']:.2f} s)"
            )
        else:
            per_round = summary["ratio_per_round"][mode]
            value = summary["ratio"][mode]
            ratio = (
                f"{value:.2f} ({_verdict(value <= TARGET_RATIO)} ≤ {TARGET_RATIO}; "
                f"rounds {min(per_round):.2f}–{max(per_round):.2f})"
            )
            rss_cell = f"{rss:.0f} ({_verdict(rss < TARGET_RSS_MB)} < {TARGET_RSS_MB:.0f})"
            spans = " / ".join(f"{n:,}" for n in summary["spans_received"][mode])
            to_floor = summary["ratio_to_encoding_floor"][mode]
            floor = f"{statistics.median(to_floor):.2f} (rounds {min(to_floor):.2f}–{max(to_floor):.2f})"
        rows.append(
            [
                mode,
                f"{wall:.2f}",
                ratio,
                f"{summary['cpu_s'][mode]:.2f}",
                rss_cell,
                f"{summary['devserver_cpu_s'][mode]:.2f}",
                spans,
                floor,
            ]
        )
    table = _table(
        [
            "mode",
            "wall (s)",
            "ratio to bare-batch",
            "CPU (s)",
            "peak RSS (MB)",
            "devserver CPU (s)",
            "spans received",
            "ratio to bare + OTLP encoding",
        ],
        rows,
        markdown,
    )
    return "\n\n".join(["\n".join(setup), table])


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stream", metavar="BATCH_ID", help=argparse.SUPPRESS)  # the bare child
    parser.add_argument("--stream-encode", metavar="BATCH_ID", help=argparse.SUPPRESS)  # and with encoding
    parser.add_argument(
        "--batch-lines",
        type=_positive,
        default=DEFAULT_LINES,
        help="lines of the seeded batch (default 50_000)",
    )
    parser.add_argument("--rounds", type=_positive, default=3, help="timed runs of each mode")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first run of each mode")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_LINES:,} lines, one round")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", action="store_true", help="print the results (every run too) as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_lines, args.rounds = QUICK_LINES, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or its bare child); errors become one line and exit 1."""
    args = _arguments(argv)
    if args.stream:
        stream_bare(args.stream)
        return 0
    if args.stream_encode:
        stream_and_encode(args.stream_encode)
        return 0
    load = _load()
    try:
        with tempfile.TemporaryDirectory(prefix="chatspan-batch-bench-") as workdir:
            runs = run_all(args.batch_lines, args.rounds, not args.no_warmup, Path(workdir))
        summary = summarize(args.batch_lines, runs)
        info = _versions(args, load)
        if args.json:
            print(json.dumps({"info": info, "summary": summary, "runs": [asdict(r) for r in runs]}, indent=2))
        else:
            print(render(summary, info, args.markdown))
        return 0
    except BenchError as error:
        print(f"batch bench: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
