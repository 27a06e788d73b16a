"""The adversarial child process: `python -m tests.adversarial.child SPEC.json RESULT.json`.

The spec names a check (`differential`, `concurrency`, `leak`, `cycles`, `fork`), its parameters
(for `differential`: the `api`, "chat" or "responses", and a `mode`: plain, instrumented, usage
with CHATSPAN_STREAM_INCLUDE_USAGE, content with message-content capture) and an optional
sabotage; the child runs it in a fresh interpreter and writes its result as JSON.
Exit status 0 means the check ran (its findings are in the result), anything else that it could not.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.adversarial import forms, hostile_cases, hostile_responses, responses_forms, sabotage
from tests.adversarial.harness import Instrumented, clients, instrument

CALL_BOUND = 20.0
"""Seconds an async call may take before the child gives up on it (the SDK timeout ends it sooner)."""


@dataclass(frozen=True)
class Api:
    """One API's call forms and which of its cases retry (and so run in its retry forms only)."""

    sync_forms: dict[str, forms.SyncForm]
    async_forms: dict[str, forms.AsyncForm]
    retry_forms: tuple[str, ...]
    retrying: frozenset[str]


APIS = {
    "chat": Api(forms.SYNC_FORMS, forms.ASYNC_FORMS, forms.RETRY_FORMS, hostile_cases.RETRYING),
    "responses": Api(
        responses_forms.SYNC_FORMS,
        responses_forms.ASYNC_FORMS,
        responses_forms.RETRY_FORMS,
        hostile_responses.RETRYING,
    ),
}
"""The spec's `api` (default "chat") -> what the differential child runs."""


def planned_calls(form_names: list[str], case_names: list[str], api: str = "chat") -> list[tuple[str, str]]:
    """(form, case) pairs to run: the retrying cases only in the API's retry forms."""
    chosen = APIS[api]
    return [
        (form, case)
        for case in case_names
        for form in form_names
        if case not in chosen.retrying or form in chosen.retry_forms
    ]


def _record(
    results: dict[str, Any],
    instrumented: Instrumented | None,
    key: str,
    before: Any,
    seen: forms.Observations,
    started: float,
    last_of_case: str,
) -> None:
    problems = instrumented.problems_since(before, raised=forms.is_call_error(seen)) if instrumented else []
    if instrumented and key == last_of_case:
        # Metrics are collected once per case (collecting is costly); what one case spoilt stays.
        problems += instrumented.metric_problems()
    results[key] = {"seen": seen, "problems": problems, "seconds": time.monotonic() - started}
    if instrumented:
        results[key]["statuses"] = instrumented.statuses_since(before)


def differential(spec: dict[str, Any]) -> dict[str, Any]:
    """Run every (form, case) of the spec's group and record what the application saw."""
    mode = spec["mode"]
    if mode == "usage":
        os.environ["CHATSPAN_STREAM_INCLUDE_USAGE"] = "true"
    if mode == "content":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    instrumented = instrument(keep=True) if mode != "plain" else None
    sabotage.apply(spec.get("sabotage"))
    api = APIS[spec.get("api", "chat")]
    plan = planned_calls(spec["forms"], spec["cases"], spec.get("api", "chat"))
    results: dict[str, Any] = {}
    last_of_case = {case: f"{form}/{case}" for form, case in plan}
    plain, retrying = clients(spec["base_url"], asynchronous=spec["group"] == "async")

    def pick(case: str) -> Any:
        return retrying if case in api.retrying else plain

    def before() -> Any:
        return instrumented.snapshot() if instrumented else None

    if spec["group"] == "sync":
        for form, case in plan:
            counts, began = before(), time.monotonic()
            seen = forms.observe_call(api.sync_forms[form], pick(case), case)
            _record(results, instrumented, f"{form}/{case}", counts, seen, began, last_of_case[case])
    else:

        async def run_all() -> None:
            for form, case in plan:
                counts, began = before(), time.monotonic()
                call = forms.observe_async_call(api.async_forms[form], pick(case), case)
                try:
                    seen = await asyncio.wait_for(call, CALL_BOUND)
                except TimeoutError:
                    seen = [["unbounded", f"no outcome within {CALL_BOUND} s"]]
                _record(results, instrumented, f"{form}/{case}", counts, seen, began, last_of_case[case])

        asyncio.run(run_all())
    spans = instrumented.snapshot() if instrumented else (0, 0, 0)
    return {"calls": results, "spans_started": spans[0], "spans_ended": spans[1]}


def _hang(spec: dict[str, Any]) -> dict[str, Any]:
    """Never return: the runner's own timeout is tested with this."""
    while True:
        time.sleep(60)


def _check(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if name == "differential":
        return differential
    if name == "hang":
        return _hang
    # Imported here so that a child loads only the check it runs.
    module = importlib.import_module(f"tests.adversarial.{_MODULES[name]}")
    found: Callable[[dict[str, Any]], dict[str, Any]] = module.run
    return found


_MODULES = {
    "concurrency": "concurrency_check",
    "leak": "leak_check",
    "cycles": "cycles_check",
    "fork": "fork_check",
}


def main(arguments: list[str]) -> int:
    """Run the spec in `arguments[0]` and write the result to `arguments[1]`."""
    warnings.simplefilter("ignore")
    with open(arguments[0]) as spec_file:
        spec = json.load(spec_file)
    started = time.monotonic()
    result = _check(spec["check"])(spec)
    result["seconds"] = time.monotonic() - started
    with open(arguments[1], "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
