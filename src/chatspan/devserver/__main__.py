"""`python -m chatspan.devserver`: serve until SIGINT or SIGTERM.

Prints exactly one line on stdout once the server accepts requests:
``chatspan devserver listening on http://127.0.0.1:PORT/v1``. Errors are one line on stderr and a
non-zero exit code.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from chatspan.devserver.batch_seeding import LARGE_LINES
from chatspan.devserver.batches import DEFAULT_BATCH_SECONDS
from chatspan.devserver.faults import FaultSyntaxError
from chatspan.devserver.server import DEFAULT_RPM, DEFAULT_TPM, HOST, DevServer
from chatspan.devserver.state import DEFAULT_BACKGROUND_SECONDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chatspan.devserver",
        description="A local OpenAI-compatible server: chat completions, stored completions, the "
        "Responses API, and the Files and Batch APIs (binds 127.0.0.1 only).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default=HOST, help=f"only {HOST} is accepted")
    parser.add_argument("--api-key", default=None, help="accept only this Bearer key (default: any key)")
    parser.add_argument("--rpm", type=int, default=DEFAULT_RPM, help="requests per minute limit")
    parser.add_argument("--tpm", type=int, default=DEFAULT_TPM, help="tokens per minute limit")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="FAULT",
        help="fault applied to every model call (chat completions and POST /v1/responses), e.g. "
        "500;times=1, or to one endpoint, e.g. list:500;times=2 or responses.retrieve:503 "
        "(repeatable; see chatspan.devserver.faults)",
    )
    parser.add_argument(
        "--seed-stored",
        type=int,
        default=0,
        metavar="N",
        help="store N made-up completions from the last --seed-days days before serving",
    )
    parser.add_argument(
        "--seed-batches",
        type=int,
        default=0,
        metavar="N",
        help="add N finished batches from the last --seed-days days, with their files (the first of "
        "50,000 lines; then completed, expired, cancelled, failed, ...); takes milliseconds",
    )
    parser.add_argument(
        "--seed-large-lines",
        type=int,
        default=LARGE_LINES,
        metavar="N",
        help=f"lines of the first (large) seeded batch (default: {LARGE_LINES:,}; bench/backfill_batches.py)",
    )
    parser.add_argument("--seed-days", type=float, default=30, metavar="DAYS", help="default: 30")
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of --seed-stored and --seed-batches (default: 0)"
    )
    parser.add_argument(
        "--ignore-limit",
        action="store_true",
        help="the list endpoint answers pages of 20 whatever its limit parameter says",
    )
    parser.add_argument(
        "--background-seconds",
        type=float,
        default=DEFAULT_BACKGROUND_SECONDS,
        metavar="S",
        help="a background response (background: true) stays queued S seconds, then in_progress S "
        f"seconds, then completes (default: {DEFAULT_BACKGROUND_SECONDS:g})",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=DEFAULT_BATCH_SECONDS,
        metavar="S",
        help="each stage of a batch (validating, in_progress, finalizing; cancelling) lasts S seconds "
        f"(default: {DEFAULT_BATCH_SECONDS:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the devserver until SIGINT/SIGTERM; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.host != HOST:
        print(
            f"error: the chatspan devserver binds {HOST} only; refusing --host {args.host}", file=sys.stderr
        )
        return 2
    if args.rpm < 1 or args.tpm < 1:
        print("error: --rpm and --tpm must be at least 1", file=sys.stderr)
        return 2
    if args.seed_stored < 0 or not args.seed_days > 0:
        print("error: --seed-stored must be at least 0 and --seed-days above 0", file=sys.stderr)
        return 2
    if args.seed_batches < 0 or args.seed_large_lines < 1:
        print("error: --seed-batches must be at least 0 and --seed-large-lines at least 1", file=sys.stderr)
        return 2
    if not args.background_seconds >= 0:
        print("error: --background-seconds must be at least 0", file=sys.stderr)
        return 2
    if not args.batch_seconds >= 0:
        print("error: --batch-seconds must be at least 0", file=sys.stderr)
        return 2
    try:
        server = DevServer(
            args.port,
            api_key=args.api_key,
            rpm=args.rpm,
            tpm=args.tpm,
            faults=args.fault,
            seed_stored=args.seed_stored,
            seed=args.seed,
            seed_days=args.seed_days,
            ignore_limit=args.ignore_limit,
            background_seconds=args.background_seconds,
            batch_seconds=args.batch_seconds,
        )
        # Seeded here rather than by DevServer(seed_batches=...), which has no large-batch size.
        server.seed_batches(
            args.seed_batches, days=args.seed_days, seed=args.seed, large_lines=args.seed_large_lines
        )
        server.start()
    except FaultSyntaxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot listen on {HOST}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        print(f"chatspan devserver listening on {server.base_url}", flush=True)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
