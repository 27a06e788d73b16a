"""How `chatspan backfill` turns the way a run ended into one summary and one exit code."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from chatspan import cli
from chatspan.backfill.export import ExportFailed
from chatspan.backfill.source import ApiUnreachable, AuthenticationFailed, SourceError


def raising(error: BaseException) -> Callable[[], None]:
    def run() -> None:
        raise error

    return run


@pytest.mark.parametrize(
    ("run", "code", "summary"),
    [
        (lambda: None, cli.EXIT_OK, None),
        (raising(AuthenticationFailed("refused")), cli.EXIT_AUTH, "refused"),
        (raising(ApiUnreachable("nothing answers")), cli.EXIT_CONFIG, "nothing answers"),
        (raising(SourceError("broken page")), cli.EXIT_API, "broken page"),
        (raising(ExportFailed("collector")), cli.EXIT_EXPORT, "collector"),
        (raising(KeyboardInterrupt()), cli.EXIT_INTERRUPTED, "interrupted"),
    ],
)
def test_every_ending_is_one_outcome_and_the_exporter_is_closed(
    run: Callable[[], None], code: int, summary: str | None
) -> None:
    closed: list[bool] = []
    stop = cli._StopRequest()
    outcome = cli._outcome(run, stop, close=lambda: closed.append(True))
    assert outcome == cli._Outcome(code, summary)
    assert closed == [True]
    assert stop.holding, "from here on, the summary is due"


def test_a_second_signal_aborts_the_run_but_not_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    stop = cli._StopRequest()
    stop._handle(signal.SIGINT, None)
    assert stop() and "again to abort" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        stop._handle(signal.SIGINT, None)
    stop.holding = True
    try:
        stop._handle(signal.SIGINT, None)  # while the summary is printed
    except KeyboardInterrupt:
        pytest.fail("a signal while the summary is printed aborted it")
    assert stop()
