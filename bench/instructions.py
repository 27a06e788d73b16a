"""Instructions per call that each instrumentation adds to an openai call, counted by callgrind.

    scripts/bench-venv.sh && scripts/bench-v2-venv.sh      # the two venvs, and valgrind
    .venv-bench/bin/python bench/instructions.py [--markdown] [--json] [--quick]

CPU time on a shared 2-core machine moves with the neighbours; instruction counts do not:
callgrind counts every instruction the process executes, whatever else runs. Each mode runs once,
in its own child under `valgrind --tool=callgrind` (`PYTHONHASHSEED=0`, so dict and set layouts
are the same from run to run), with the workloads of `bench/overhead.py` (the real openai client,
its in-process transport, the same canned answers, the same telemetry setup). In the child, each
workload is warmed up, then run 20 times and 120 times, each batch between two calls of
`os.getppid()`, on which callgrind dumps its counters (`--dump-before=getppid`): the batch's own
instructions, span export included (the batch ends with a `force_flush()`). Instructions per call
are (I120 − I20) / 100, so whatever a batch costs once (the flush, the marker) cancels, as does
start-up, which lies outside every batch. Added per call = mode − none; per chunk = per call / 50.

openai-v2 (the deprecated contrib instrumentation) runs in `.venv-bench-v2` (scripts/bench-v2-venv.sh),
the others in `.venv-bench`: both register the same entry point name and cannot share a venv. It
instruments no Responses API call, so its Responses figures are left out.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import overhead  # bench/overhead.py, beside this file
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

REPO = Path(__file__).resolve().parent.parent
MODES = ("none", "floor", "chatspan", "official", "openai-v2")
COUNTS = (20, 120)
TARGET_VS_V2 = 1.0
TARGET_VS_OFFICIAL = 0.67
TARGET_STREAM_VS_OFFICIAL = 1 / 3
CHUNKS = {"stream": overhead.STREAM_CHUNKS, "responses-stream": 50}
"""What a stream's per-chunk figure divides by: its chunks, or its text deltas."""
_LABELS = {
    "chat": "non-streaming call",
    "stream": "50-chunk stream",
    "responses": "Responses call",
    "responses-stream": "Responses stream (50 deltas)",
}


# --- the child: one mode, its batches between markers ---------------------------------------------


def run_child(mode: str, workloads: Sequence[str], warmup: int) -> None:
    """Set up `mode` as bench/overhead.py does, then run each workload's batches between markers."""
    exporter = overhead._DroppingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    overhead._instrument(mode, tracer_provider, meter_provider)
    client = overhead._client()
    actions: dict[str, Callable[[], object]] = {
        "chat": partial(overhead._chat_call, client),
        "stream": partial(overhead._stream_call, client),
        "responses": partial(overhead._responses_call, client),
        "responses-stream": partial(overhead._responses_stream_call, client),
    }
    segments: list[list[Any]] = []
    for workload in workloads:
        action = actions[workload]
        for _ in range(warmup):
            action()
        for count in COUNTS:
            tracer_provider.force_flush()
            gc.collect()
            os.getppid()  # callgrind dumps here: the batch starts
            for _ in range(count):
                action()
            tracer_provider.force_flush()
            os.getppid()  # and ends here
            segments.append([workload, count])
    print(json.dumps({"mode": mode, "segments": segments, "spans": exporter.count}), flush=True)
    tracer_provider.shutdown()
    meter_provider.shutdown()


# --- the parent: one callgrind child per mode -----------------------------------------------------


def _python(mode: str) -> Path:
    venv = REPO / (".venv-bench-v2" if mode == "openai-v2" else ".venv-bench")
    python = venv / "bin" / "python"
    if not python.exists():
        script = "bench-v2-venv.sh" if mode == "openai-v2" else "bench-venv.sh"
        raise overhead.BenchError(f"no {python}: run scripts/{script} first")
    return python


def _totals(prefix: str) -> list[int]:
    """The instruction totals of callgrind's dumps, in order (the first is start-up)."""
    files = sorted(glob.glob(prefix + ".*"), key=lambda name: int(name.rsplit(".", 1)[1]))
    totals = []
    for name in files:
        with open(name, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
    return totals


def measure(mode: str, workloads: Sequence[str], warmup: int, where: Path) -> dict[str, Any]:
    """Run one mode's child under callgrind; its instructions per call for each workload."""
    if mode == "openai-v2":
        workloads = [w for w in workloads if not w.startswith("responses")]
    prefix = str(where / f"{mode}.out")
    command = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=getppid",
        f"--callgrind-out-file={prefix}",
        str(_python(mode)),
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--workloads",
        ",".join(workloads),
        "--warmup",
        str(warmup),
    ]
    env = {**overhead._child_env(), "PYTHONHASHSEED": "0"}
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        raise overhead.BenchError(f"the {mode} child failed (exit {done.returncode}):\n{tail}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    totals = _totals(prefix)
    # Dump 1 is start-up; then each batch is one dump, and the stretch to the next batch another.
    batches = totals[1::2][: len(report["segments"])]
    if len(batches) != len(report["segments"]):
        raise overhead.BenchError(f"the {mode} child left {len(totals)} dumps for {report['segments']}")
    counted: dict[str, dict[int, int]] = {}
    for (workload, count), instructions in zip(report["segments"], batches, strict=True):
        counted.setdefault(workload, {})[count] = instructions
    low, high = COUNTS
    per_call = {w: (c[high] - c[low]) / (high - low) for w, c in counted.items()}
    return {
        "mode": mode,
        "per_call": per_call,
        "batches": counted,
        "spans": report["spans"],
        "seconds": round(time.monotonic() - started, 1),
    }


def summarize(results: dict[str, dict[str, Any]], workloads: Sequence[str]) -> dict[str, Any]:
    """Added instructions per call and chunk, their share of the SDK's own, and the ratios."""
    none = results["none"]["per_call"]
    added: dict[str, dict[str, float]] = {}
    for mode, result in results.items():
        if mode == "none":
            continue
        added[mode] = {w: result["per_call"][w] - none[w] for w in workloads if w in result["per_call"]}

    def ratio(mode: str, other: str, workload: str) -> float | None:
        ours, theirs = added.get(mode, {}).get(workload), added.get(other, {}).get(workload)
        return ours / theirs if ours is not None and theirs else None

    ratios = {
        w: {
            "chatspan_vs_openai_v2": ratio("chatspan", "openai-v2", w),
            "chatspan_vs_official": ratio("chatspan", "official", w),
            "floor_vs_openai_v2": ratio("floor", "openai-v2", w),
            "floor_vs_official": ratio("floor", "official", w),
        }
        for w in workloads
    }
    return {"sdk_per_call": none, "added": added, "ratios": ratios}


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f} ({'meets' if value <= target else 'misses'} ≤ {target:.2f})"


def render(summary: dict[str, Any], workloads: Sequence[str], markdown: bool) -> str:
    """The per-mode table and the ratio table, as aligned text or Markdown."""
    sdk = summary["sdk_per_call"]
    rows: list[list[str]] = []
    for workload in workloads:
        chunks = CHUNKS.get(workload)
        rows.append([_LABELS[workload], "none", f"{sdk[workload] / 1e6:.3f} M", "—", "—", "—"])
        for mode, added in summary["added"].items():
            if workload not in added:
                rows.append([_LABELS[workload], mode, "—", "not instrumented", "—", "—"])
                continue
            value = added[workload]
            per_chunk = f"{value / chunks / 1e3:.1f} k" if chunks else "—"
            share = f"{value / sdk[workload] * 100:.1f} %"
            total = f"{(sdk[workload] + value) / 1e6:.3f} M"
            rows.append([_LABELS[workload], mode, total, f"+{value / 1e6:.3f} M", per_chunk, share])
    header = ["workload", "mode", "per call", "added per call", "added per chunk", "of the SDK's own"]
    ratio_rows = []
    for workload in workloads:
        r = summary["ratios"][workload]
        streams = workload in CHUNKS
        official_target = TARGET_STREAM_VS_OFFICIAL if streams else TARGET_VS_OFFICIAL
        ratio_rows.append(
            [
                _LABELS[workload],
                "—" if streams else _verdict(r["chatspan_vs_openai_v2"], TARGET_VS_V2),
                _verdict(r["chatspan_vs_official"], official_target),
                f"{r['floor_vs_openai_v2']:.2f}" if r["floor_vs_openai_v2"] is not None else "n/a",
                f"{r['floor_vs_official']:.2f}" if r["floor_vs_official"] is not None else "n/a",
            ]
        )
    ratio_header = [
        "workload",
        "chatspan / openai-v2",
        "chatspan / official",
        "floor / openai-v2",
        "floor / official",
    ]
    return "\n\n".join(
        [
            overhead._table(header, rows, markdown),
            overhead._table(ratio_header, ratio_rows, markdown),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Count, print the tables; errors become one line and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes (none required)")
    parser.add_argument("--workloads", default=",".join(overhead.WORKLOADS), help="comma-separated")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls of each workload first")
    parser.add_argument("--jobs", type=int, default=2, help="callgrind children at once")
    parser.add_argument("--quick", action="store_true", help="the non-streaming chat call only")
    parser.add_argument("--markdown", action="store_true", help="the tables as Markdown")
    parser.add_argument("--json", action="store_true", help="everything, every batch's count too")
    parser.add_argument("--keep", type=Path, help="keep callgrind's files in this directory")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    if args.child is not None:
        run_child(args.child, workloads, args.warmup)
        return 0
    if args.quick:
        workloads = ["chat"]
    modes = [m for m in args.modes.split(",") if m]
    try:
        if "none" not in modes or any(m not in MODES for m in modes):
            raise overhead.BenchError(f"--modes must include none and name only {', '.join(MODES)}")
        if any(w not in overhead.WORKLOADS for w in workloads):
            raise overhead.BenchError(f"--workloads names only {', '.join(overhead.WORKLOADS)}")
        if shutil.which("valgrind") is None:
            raise overhead.BenchError("no valgrind: scripts/bench-venv.sh installs it (Debian's valgrind)")
        where = args.keep or Path(tempfile.mkdtemp(prefix="chatspan-callgrind-"))
        where.mkdir(parents=True, exist_ok=True)
        print(f"instructions: {len(modes)} callgrind children, {args.jobs} at a time", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {m: pool.submit(measure, m, workloads, args.warmup, where) for m in modes}
            results = {m: future.result() for m, future in futures.items()}
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)
        summary = summarize(results, workloads)
        if args.json:
            print(json.dumps({"results": results, **summary}, indent=2))
        else:
            print(render(summary, workloads, args.markdown))
        return 0
    except overhead.BenchError as error:
        print(f"instructions: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
