"""`chatspan` commands: parse, call, report. User errors become one line and a distinct exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from chatspan import environment_variables as env
from chatspan.version import __version__

if TYPE_CHECKING:
    # Only for annotations: importing them at once would load the SDKs for `chatspan --help`.
    from opentelemetry.sdk.trace import ReadableSpan

    from chatspan.backfill.export import VerifiedExport
    from chatspan.backfill.otlp import Destination
    from chatspan.backfill.progress import Progress, Tally

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_AUTH = 4
EXIT_API = 5
EXIT_EXPORT = 6
EXIT_INTERRUPTED = 130

VERBOSE_HELP = "log what happens, including retries and the exporters' own messages"


class UserError(Exception):
    """An error the user can fix; printed as one line, exits with `code`."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `chatspan` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    if not args.verbose:
        # The exporters log every failed attempt; chatspan retries and reports the outcome itself.
        logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    stop = _StopRequest()
    stop.install()
    args.stop = stop
    try:
        code: int = args.command(args)
        return code
    except UserError as error:
        print(f"chatspan: error: {error}", file=sys.stderr)
        return error.code
    except _Interrupted:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("chatspan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where help is, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chatspan",
        description="OpenAI chat completions as OpenTelemetry spans.",
    )
    parser.add_argument("--version", action="version", version=f"chatspan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND", parser_class=_Parser)

    backfill = commands.add_parser(
        "backfill",
        help="emit one span per stored chat completion to the OTLP exporter",
        description=(
            "Page through the stored chat completions (store=true) and emit one span per completion, "
            "timed at its `created`, to the exporter configured by OTEL_EXPORTER_OTLP_*. Resumable: "
            "a checkpoint records what the collector confirmed. With --responses FILE: the stored "
            "responses whose ids FILE lists (the Responses API has no list), resumable by line."
        ),
    )
    _verbose_option(backfill)
    backfill.add_argument(
        "--since", help="window start: ISO date/date-time or a span back from now (default 30d)"
    )
    backfill.add_argument("--until", help="window end, same forms (default now)")
    backfill.add_argument(
        "--responses",
        metavar="FILE",
        help="backfill the stored responses whose ids FILE lists, one a line (`-`: stdin)",
    )
    backfill.add_argument(
        "--batches",
        action="store_true",
        help="backfill the finished batches created in the window: one trace per batch, a span per request",
    )
    backfill.add_argument(
        "--batch", metavar="BATCH_ID", help="with --batches: only this batch (the window is not applied)"
    )
    backfill.add_argument("--model", help="only completions of this model")
    backfill.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only completions with this pair (repeatable; all must match)",
    )
    messages = backfill.add_mutually_exclusive_group()
    messages.add_argument(
        "--with-messages",
        dest="with_messages",
        action="store_true",
        default=None,
        help="fetch each completion's input messages, or each response's input items "
        "(default: on when content capture is on)",
    )
    messages.add_argument("--no-messages", dest="with_messages", action="store_false")
    backfill.add_argument(
        "--dry-run", action="store_true", help="list and count what would be emitted; export nothing"
    )
    backfill.add_argument(
        "--checkpoint", type=Path, help="checkpoint file (default: under the user's state directory)"
    )
    backfill.add_argument("--restart", action="store_true", help="ignore and overwrite the checkpoint")
    backfill.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    backfill.add_argument(
        "--page-size",
        type=_positive_int,
        default=100,
        help="completions per page; with --responses, ids per exported batch (default 100)",
    )
    backfill.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        help="fetches at once: messages, or with --responses the responses and their items (default 4)",
    )
    backfill.add_argument(
        "--timeout", type=_positive_float, default=60.0, help="seconds per API request (default 60)"
    )
    backfill.add_argument(
        "--max-retries", type=_non_negative_int, default=5, help="SDK retries per request (default 5)"
    )
    backfill.set_defaults(command=_backfill)

    get = commands.add_parser(
        "get", help="show one stored completion or response: created, model, usage, request id, metadata"
    )
    _verbose_option(get)
    get.add_argument(
        "completion_id", metavar="ID", help="chatcmpl-... (a completion) or resp_... (a response)"
    )
    get.add_argument("--json", action="store_true", help="print it as one JSON object")
    get.add_argument(
        "--export", action="store_true", help="also send it as one span, as backfill does (same span id)"
    )
    get_messages = get.add_mutually_exclusive_group()
    get_messages.add_argument(
        "--with-messages",
        dest="with_messages",
        action="store_true",
        default=None,
        help="fetch its input messages or items (default: on when content capture is on)",
    )
    get_messages.add_argument("--no-messages", dest="with_messages", action="store_false")
    get.add_argument("--timeout", type=_positive_float, default=60.0, help=argparse.SUPPRESS)
    get.add_argument("--max-retries", type=_non_negative_int, default=2, help=argparse.SUPPRESS)
    get.set_defaults(command=_get)
    return parser


def _verbose_option(command: argparse.ArgumentParser) -> None:
    # Also after the command (`chatspan backfill ... -v`), as the README shows it. SUPPRESS keeps
    # a subcommand that was not given -v from resetting the `-v` given before it.
    command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)


def _backfill(args: argparse.Namespace) -> int:
    if args.batch is not None and not args.batches:
        raise UserError("--batch names one batch of --batches: add --batches", EXIT_USAGE)
    if args.batches:
        if args.responses is not None or args.model:
            raise UserError("--batches cannot be combined with --responses or --model", EXIT_USAGE)
        return _backfill_batches(args)
    if args.responses is not None:
        return _backfill_responses(args)
    # Imported here so `chatspan --help` and bad flags answer at once, without loading the SDKs.
    from chatspan.backfill import checkpoint as checkpoints
    from chatspan.backfill.otlp import resource
    from chatspan.backfill.progress import Tally
    from chatspan.backfill.runner import RunOptions, run_backfill
    from chatspan.backfill.source import StoredCompletionSource
    from chatspan.backfill.window import WindowError, empty_hint, selection

    now = datetime.now(timezone.utc)
    try:
        chosen = selection(
            since=args.since, until=args.until, model=args.model, metadata=args.metadata, now=now
        )
    except WindowError as error:
        raise UserError(str(error), EXIT_USAGE) from None
    capture = _capture_content()
    with_messages = capture if args.with_messages is None else args.with_messages
    sink = _sink(args.json)
    client = _client(args)
    scope = checkpoints.scope_key(str(client.base_url), client.project, chosen.model, chosen.metadata)
    path: Path = args.checkpoint or checkpoints.default_path(scope)
    source = StoredCompletionSource(
        client, chosen, page_size=args.page_size, with_messages=with_messages, concurrency=args.concurrency
    )
    # Paging (a thread waiting on the API) and exporting (CPU-bound encoding) take turns on the
    # GIL; the default 5 ms switch interval leaves a page that arrived waiting on the encoder.
    sys.setswitchinterval(0.0005)
    run = _Run.begin(args, sink)
    tally = Tally()
    try:
        # A run that sends nothing writes nothing either: no state directory, lock or checkpoint.
        with checkpoints.locked(path) if run.sending else contextlib.nullcontext():
            state = checkpoints.Checkpoint(scope=scope) if args.restart else checkpoints.load(path, scope)
            fresh = not state.covered and state.current is None and not state.tail
            outcome = _outcome(
                lambda: run_backfill(
                    source=source,
                    export=run.export,
                    checkpoint=state,
                    save=(lambda state: checkpoints.save(path, state)) if run.sending else None,
                    selection=chosen,
                    options=RunOptions(
                        resource=resource(),
                        capture_content=capture,
                        show=_show if args.dry_run else None,
                    ),
                    progress=run.progress,
                    tally=tally,
                    stop=args.stop,
                ),
                args.stop,
                close=run.export.shutdown if run.export is not None else None,
            )
    except checkpoints.CheckpointError as error:
        raise UserError(str(error), EXIT_CONFIG) from None
    _report(args, run, tally, outcome, path, {})
    hint = empty_hint(chosen, now=int(now.timestamp()), matched=tally.exported, fresh=fresh or args.restart)
    if hint:
        print(f"chatspan: hint: {hint}", file=sys.stderr)
    return EXIT_OK


def _backfill_responses(args: argparse.Namespace) -> int:
    """`backfill --responses FILE`: the stored responses an id list names, resumable by line."""
    from chatspan.backfill import checkpoint as checkpoints
    from chatspan.backfill.otlp import resource
    from chatspan.backfill.progress import Tally
    from chatspan.backfill.responses import StoredResponseSource, read_id_list
    from chatspan.backfill.runner import RunOptions, SkipReport, run_response_backfill
    from chatspan.backfill.show import SkipNotices, response_row

    given = [flag for flag, value in _WINDOW_FLAGS.items() if getattr(args, value)]
    if given:
        raise UserError(
            f"{', '.join(given)} cannot be combined with --responses: the id list says what to backfill",
            EXIT_USAGE,
        )
    try:
        ids, identity = read_id_list(args.responses, sys.stdin.buffer)
    except OSError as error:
        raise UserError(
            f"cannot read the id list {args.responses}: {error.strerror or error}", EXIT_USAGE
        ) from None
    capture = _capture_content()
    with_items = capture if args.with_messages is None else args.with_messages
    sink = _sink(args.json)
    client = _responses_client(args)
    scope = checkpoints.responses_scope(str(client.base_url), client.project, identity)
    path: Path = args.checkpoint or checkpoints.default_path(scope, "responses")
    source = StoredResponseSource(client, with_input_items=with_items, concurrency=args.concurrency)
    run = _Run.begin(args, sink)
    tally = Tally()
    notices = SkipNotices(sys.stderr)
    report = SkipReport(on_missing=notices.on_missing, on_invalid=notices.on_invalid)
    try:
        with checkpoints.locked(path) if run.sending else contextlib.nullcontext():
            fresh = checkpoints.LineCheckpoint(scope=scope)
            state = fresh if args.restart else checkpoints.load_lines(path, scope)
            if state.lines and (state.lines > len(ids.lines) or ids.digest(state.lines) != state.digest):
                raise checkpoints.CheckpointError(
                    f"the id list {args.responses} no longer begins with the {state.lines} lines the "
                    f"checkpoint {path} confirmed; run again with --restart to start over"
                )
            outcome = _outcome(
                lambda: run_response_backfill(
                    source=source,
                    ids=ids,
                    export=run.export,
                    checkpoint=state,
                    save=(lambda state: checkpoints.save(path, state)) if run.sending else None,
                    options=RunOptions(
                        resource=resource(),
                        capture_content=capture,
                        show=(lambda response: print(response_row(response), flush=True))
                        if args.dry_run
                        else None,
                    ),
                    progress=run.progress,
                    tally=tally,
                    report=report,
                    batch_size=args.page_size,
                    stop=args.stop,
                ),
                args.stop,
                close=run.export.shutdown if run.export is not None else None,
            )
    except checkpoints.CheckpointError as error:
        raise UserError(str(error), EXIT_CONFIG) from None
    _report(args, run, tally, outcome, path, {"source": "responses"})
    hint = notices.hint()
    if hint:
        print(f"chatspan: hint: {hint}", file=sys.stderr)
    return EXIT_OK


def _backfill_batches(args: argparse.Namespace) -> int:
    """`backfill --batches`: each finished batch of the window as one trace, resumable by span."""
    from chatspan.backfill import checkpoint as checkpoints
    from chatspan.backfill.batch_checkpoint import batches_scope
    from chatspan.backfill.batch_runner import backfill_batches
    from chatspan.backfill.batches import BatchSelection
    from chatspan.backfill.otlp import resource
    from chatspan.backfill.progress import Tally
    from chatspan.backfill.runner import RunOptions
    from chatspan.backfill.window import WindowError, selection

    now = datetime.now(timezone.utc)
    try:
        window = selection(since=args.since, until=args.until, model=None, metadata=args.metadata, now=now)
    except WindowError as error:
        raise UserError(str(error), EXIT_USAGE) from None
    capture = _capture_content() if args.with_messages is None else args.with_messages
    sink = _sink(args.json)
    client = _client(args)
    scope = batches_scope(str(client.base_url), client.project, window.metadata)
    path: Path = args.checkpoint or checkpoints.default_path(scope, "batches")
    run = _Run.begin(args, sink)
    tally = Tally()
    try:
        outcome = _outcome(
            lambda: backfill_batches(
                client,
                export=run.export,
                checkpoint_path=path,
                scope=scope,
                selection=BatchSelection(window=window, batch_id=args.batch),
                options=RunOptions(
                    resource=resource(), capture_content=capture, show=_show_batch if args.dry_run else None
                ),
                progress=run.progress,
                tally=tally,
                restart=args.restart,
                stop=args.stop,
            ),
            args.stop,
            close=run.export.shutdown if run.export is not None else None,
        )
    except checkpoints.CheckpointError as error:
        raise UserError(str(error), EXIT_CONFIG) from None
    _report(args, run, tally, outcome, path, {"source": "batches"})
    return EXIT_OK


def _show_batch(batch: Any) -> None:
    created = datetime.fromtimestamp(int(batch.created_at), tz=timezone.utc).isoformat()
    print(f"{batch.id}\t{created.replace('+00:00', 'Z')}\t{batch.status}\t{batch.endpoint}", flush=True)


_WINDOW_FLAGS = {"--since": "since", "--until": "until", "--model": "model", "--metadata": "metadata"}
"""Options of the stored-completions list that an id list has no use for."""


@dataclass(frozen=True)
class _Run:
    """Where a run's spans go and how it is shown: exporter (if it sends), progress line."""

    kind: str
    sending: bool
    export: VerifiedExport | None
    progress: Progress

    @classmethod
    def begin(cls, args: argparse.Namespace, sink: Destination) -> _Run:
        from chatspan.backfill.export import VerifiedExport
        from chatspan.backfill.progress import Progress

        export = None
        if sink.exporter is not None:
            if args.dry_run:
                sink.exporter.shutdown()
            else:
                export = VerifiedExport(sink.exporter, destination=sink.description)
        sending = export is not None
        verb = "would export" if args.dry_run else ("exported" if sending else "made, sent nowhere")
        progress = Progress(sys.stderr, interactive=sys.stderr.isatty(), verb=verb)
        return cls(sink.kind, sending, export, progress)


def _report(
    args: argparse.Namespace, run: _Run, tally: Tally, outcome: _Outcome, path: Path, extra: dict[str, Any]
) -> None:
    """The end of every backfill: the final line and summary, once; a failure raised as its exit."""
    run.progress.done(tally)
    if args.json:
        summary = {
            **tally.as_json(),
            "dry_run": args.dry_run,
            "exporter": run.kind,
            "checkpoint": str(path),
            "error": outcome.summary,
            **extra,
        }
        print(json.dumps(summary), flush=True)
    if outcome.code == EXIT_INTERRUPTED:
        print("chatspan: interrupted", file=sys.stderr)
        raise _Interrupted
    if outcome.code != EXIT_OK:
        raise UserError(outcome.summary or "failed", outcome.code)


class _Interrupted(Exception):
    """The run was interrupted and has reported so; main() exits 130 without a second line."""


def _sink(json_output: bool) -> Destination:
    """The configured exporter, checked before the first API call: a bad endpoint is a typo."""
    from chatspan.backfill.otlp import ConfigurationError, destination

    try:
        # Console spans go to stderr under --json, so that stdout stays one JSON object.
        return destination(console=sys.stderr if json_output else sys.stdout)
    except ConfigurationError as error:
        raise UserError(str(error), EXIT_CONFIG) from None


def _capture_content() -> bool:
    return env.env_flag(os.environ.get(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT))


@dataclass(frozen=True)
class _Outcome:
    """How a backfill run ended: its exit code and the summary's `error` (None when it succeeded)."""

    code: int
    summary: str | None


def _outcome(run: Callable[[], None], stop: _StopRequest, close: Callable[[], None] | None) -> _Outcome:
    """Run the backfill and turn however it ends into an outcome, so the summary is printed once.

    From the moment the run ends, a further Ctrl-C no longer aborts: the summary must come out whole.
    """
    from chatspan.backfill.export import ExportFailed
    from chatspan.backfill.source import ApiUnreachable, AuthenticationFailed, SourceError

    try:
        try:
            run()
        finally:
            stop.holding = True
            if close is not None:
                close()
    except AuthenticationFailed as error:
        return _Outcome(EXIT_AUTH, str(error))
    except ApiUnreachable as error:
        return _Outcome(EXIT_CONFIG, str(error))
    except SourceError as error:
        return _Outcome(EXIT_API, str(error))
    except ExportFailed as error:
        return _Outcome(EXIT_EXPORT, str(error))
    except KeyboardInterrupt:
        return _Outcome(EXIT_INTERRUPTED, "interrupted")
    return _Outcome(EXIT_OK, None)


def _get(args: argparse.Namespace) -> int:
    record_id = args.completion_id.strip()
    if not record_id:
        raise UserError(
            "COMPLETION_ID is empty: give the id of a stored completion (chatcmpl-...) "
            "or response (resp_...)",
            EXIT_USAGE,
        )
    if record_id.startswith("resp_"):
        return _get_response(args, record_id)
    if not record_id.startswith("chatcmpl-"):
        raise UserError(
            f"{record_id!r} is not an id chatspan get takes: give a stored completion's "
            "(chatcmpl-...) or a stored response's (resp_...)",
            EXIT_USAGE,
        )
    return _get_completion(args, record_id)


def _get_completion(args: argparse.Namespace, completion_id: str) -> int:
    from chatspan.backfill.otlp import resource
    from chatspan.backfill.show import completion_lines, completion_summary
    from chatspan.backfill.source import StoredCompletionSource
    from chatspan.backfill.spans import stored_span
    from chatspan.backfill.window import Selection

    capture = _capture_content()
    with_messages = capture if args.with_messages is None else args.with_messages
    sink = _sink(args.json) if args.export else None
    source = StoredCompletionSource(_client(args), Selection(since=0, until=0), with_messages=with_messages)
    with _api_errors():
        completion = source.retrieve(completion_id)
        messages = source.messages([completion]).get(completion.id) if args.export else None
    summary = completion_summary(completion)
    if sink is not None:
        span = stored_span(completion, resource=resource(), capture_content=capture, messages=messages)
        summary["exported"] = _export_one(sink, span)
    print(json.dumps(summary) if args.json else "\n".join(completion_lines(summary)))
    return EXIT_OK


def _get_response(args: argparse.Namespace, response_id: str) -> int:
    from chatspan.backfill.otlp import resource
    from chatspan.backfill.responses import StoredResponseSource
    from chatspan.backfill.show import response_lines, response_summary
    from chatspan.backfill.source import NotFound
    from chatspan.backfill.spans import response_span

    capture = _capture_content()
    with_items = capture if args.with_messages is None else args.with_messages
    sink = _sink(args.json) if args.export else None
    source = StoredResponseSource(_responses_client(args))
    with _api_errors():
        try:
            response = source.retrieve(response_id)
        except NotFound:
            raise UserError(
                f"no stored response {response_id} (deleted, or created with store=false?)", EXIT_API
            ) from None
        items = source.input_items(response_id) if with_items else None
    summary = response_summary(response, items)
    if sink is not None:
        span = response_span(response, resource=resource(), capture_content=capture, input_items=items)
        summary["exported"] = _export_one(sink, span)
    print(json.dumps(summary) if args.json else "\n".join(response_lines(summary)))
    return EXIT_OK


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    """An API error of `chatspan get` as one line and the exit code backfill gives it."""
    from chatspan.backfill.source import ApiUnreachable, AuthenticationFailed, SourceError

    try:
        yield
    except AuthenticationFailed as error:
        raise UserError(str(error), EXIT_AUTH) from None
    except ApiUnreachable as error:
        raise UserError(str(error), EXIT_CONFIG) from None
    except SourceError as error:
        raise UserError(str(error), EXIT_API) from None


def _export_one(sink: Destination, span: ReadableSpan) -> dict[str, str] | None:
    """Send one span through the backfill's verified export; where it went (None: sent nowhere)."""
    from chatspan.backfill.export import ExportFailed, VerifiedExport

    if sink.exporter is None:
        return None
    export = VerifiedExport(sink.exporter, destination=sink.description)
    try:
        export.export([span])
    except ExportFailed as error:
        raise UserError(str(error), EXIT_EXPORT) from None
    finally:
        export.shutdown()
    context = span.context
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "to": sink.description,
    }


def _responses_client(args: argparse.Namespace) -> Any:
    """A client for the Responses API, or one line saying this openai predates it (exit 3)."""
    from chatspan.backfill.responses import has_responses_api

    if not has_responses_api():
        import openai

        raise UserError(
            f"this openai ({openai.__version__}) has no Responses API: upgrade openai", EXIT_CONFIG
        )
    return _client(args)


def _client(args: argparse.Namespace) -> Any:
    import openai

    # openai 1.x takes an empty OPENAI_API_KEY as a key and sends it; that is a missing key too.
    if not os.environ.get("OPENAI_API_KEY", "").strip():
        raise UserError(
            "OPENAI_API_KEY is not set: export it (and OPENAI_BASE_URL for another server)", EXIT_CONFIG
        )
    try:
        return openai.OpenAI(timeout=args.timeout, max_retries=args.max_retries)
    except openai.OpenAIError:
        raise UserError(
            "OPENAI_API_KEY is not set: export it (and OPENAI_BASE_URL for another server)", EXIT_CONFIG
        ) from None


def _show(completion: Any) -> None:
    from chatspan.backfill.show import completion_row

    print(completion_row(completion), flush=True)


class _StopRequest:
    """Ctrl-C and SIGTERM ask for a stop after the batch in flight is confirmed; a second one aborts.

    Stopping between the collector's answer and the checkpoint write would send that batch again
    on the next run, so the first signal only raises a flag the backfill looks at between batches.
    """

    def __init__(self) -> None:
        self.requested = False
        self.holding = False
        """Set once the run has ended: a further signal then no longer aborts (the summary is due)."""

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            if self.holding:
                return
            raise KeyboardInterrupt
        self.requested = True
        print(
            "chatspan: stopping after the batch in flight (again to abort at once)",
            file=sys.stderr,
            flush=True,
        )


def _positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(_number(text, float))
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
