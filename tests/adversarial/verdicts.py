"""The judgements the adversarial tests pass on child results (shared with the sabotage tests).

A sabotage test runs exactly these functions on a sabotaged run, so it proves that the check the
real test applies can fail, not some look-alike.
"""

from __future__ import annotations

from typing import Any

_ENCODING = ("span encoding", "metric encoding")


def differences(plain: dict[str, Any], other: dict[str, Any], *, limit: int = 12) -> list[str]:
    """Where the application saw something else with chatspan than without it (first `limit`)."""
    found: list[str] = []
    plain_calls, other_calls = plain["calls"], other["calls"]
    if set(plain_calls) != set(other_calls):
        found.append(f"different calls ran: {sorted(set(plain_calls) ^ set(other_calls))[:10]}")
    for key in sorted(set(plain_calls) & set(other_calls)):
        seen, seen_with = plain_calls[key]["seen"], other_calls[key]["seen"]
        if seen != seen_with:
            at = next(
                (i for i, (a, b) in enumerate(zip(seen, seen_with, strict=False)) if a != b),
                min(len(seen), len(seen_with)),
            )
            found.append(
                f"{key}: {len(seen)} observations plain, {len(seen_with)} instrumented; first difference at "
                f"{at}: plain {_short(seen, at)} / instrumented {_short(seen_with, at)}"
            )
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


def _short(seen: list[Any], at: int) -> str:
    return repr(seen[at])[:300] if at < len(seen) else "(nothing)"


def accounting_problems(run: dict[str, Any]) -> list[str]:
    """Per-call span accounting problems (count, end, status) of an instrumented differential run."""
    found = [
        f"{key}: {problem}"
        for key, call in sorted(run["calls"].items())
        for problem in call["problems"]
        if not problem.startswith(_ENCODING)
    ]
    if run["spans_started"] != run["spans_ended"]:
        found.append(f"spans started {run['spans_started']} != ended {run['spans_ended']}")
    return found


def encoding_problems(run: dict[str, Any]) -> list[str]:
    """What the OTLP encoder refused in an instrumented differential run."""
    return [
        f"{key}: {problem}"
        for key, call in sorted(run["calls"].items())
        for problem in call["problems"]
        if problem.startswith(_ENCODING)
    ]


def unreported_failures(run: dict[str, Any], failed: set[str]) -> list[str]:
    """The calls in `failed` (the server reported a failure the app did not see raised) not ERROR.

    A `Response` whose status is failed, a `response.failed` or an `error` event reach the app as
    values; chatspan still owes them a span with status ERROR.
    """
    found = [f"{key}: not run" for key in sorted(failed - set(run["calls"]))]
    for key in sorted(failed & set(run["calls"])):
        statuses = run["calls"][key].get("statuses", [])
        if statuses != ["ERROR"]:
            found.append(f"{key}: the server reported a failure but the span statuses are {statuses}")
    return found
