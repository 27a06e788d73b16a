"""Zero-code: `opentelemetry-instrument python examples/app.py` -> OTLP/HTTP -> Phoenix, read back.

Nothing here touches chatspan's API: the app runs as a user would run it, in a subprocess of this
venv, and what the spans say is read from Phoenix's REST API, as JSON. Phoenix keeps OTLP value
types (int_value comes back a JSON integer, double_value a JSON number with a fraction), so the
types asserted here are the types chatspan set.

The tour ends with one Responses API call and one Responses stream. On an openai without
`client.responses` (1.63; the API came in 1.66) the app prints a `skip` line instead, and the test
asserts exactly that: the skip line, and no `responses` span in Phoenix.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.support.phoenix import PROJECT_RESOURCE_ATTRIBUTE, REPO_ROOT, Phoenix

pytestmark = pytest.mark.slow

APP = REPO_ROOT / "examples" / "app.py"
MODEL = "gpt-4o-mini"
SPAN_NAME = f"chat {MODEL}"
APP_TIMEOUT = 120.0
SPANS_TIMEOUT = 30.0
# How long to look for spans that must never come: the app has exited, so its exporter has already
# flushed, and Phoenix writes what it accepted within a few hundred milliseconds.
ABSENT_SPANS_WAIT = 5.0
REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")
HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
CHAT_API = "chat_completions"
RESPONSES_API = "responses"
SKIP_LINE = re.compile(
    rf"^skip +responses: openai {re.escape(openai.__version__)} has no client\.responses "
    r"\(the Responses API came in openai 1\.66\)$"
)


@dataclass(frozen=True)
class Call:
    """One call of the example app's tour, in the order it makes them."""

    label: str
    retries: int = 0
    error: str | None = None
    api: str = CHAT_API
    stream: bool = False


CHAT_TOUR = (
    Call("sync"),
    Call("async"),
    Call("stream", stream=True),
    Call("tool"),
    Call("stored"),
    # The devserver answers the first attempt with a 429; the SDK's retry is still the same call.
    Call("retried", retries=1),
    Call("error", error="500"),
)
RESPONSES_TOUR = (
    Call("response", api=RESPONSES_API),
    Call("rstream", api=RESPONSES_API, stream=True),
)
TOUR = CHAT_TOUR + RESPONSES_TOUR if HAS_RESPONSES else CHAT_TOUR
"""The calls that make a span on this openai: the chat tour, then the two Responses calls if it has them."""
PRINTED = [call.label for call in TOUR] + ([] if HAS_RESPONSES else ["skip"])
"""The first word of each line the app prints on this openai."""


def test_example_app_spans_reach_phoenix(phoenix: Phoenix, devserver: DevServer, api_key: str) -> None:
    """Every call of the tour is one span in Phoenix, the two Responses calls included.

    On openai 1.63.2, which has no `client.responses`, the test asserts instead that the app printed
    its `skip` line and that Phoenix received the chat tour's spans and no `responses` span.
    """
    project = _unique_project()
    result = _run_app(_app_environment(phoenix, devserver, api_key, project))
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == PRINTED, result.stdout

    # Once the tour's count is there Phoenix is read again after a pause: a span too many is seen.
    spans = phoenix.wait_for_spans(project, len(TOUR), SPANS_TIMEOUT)

    assert [span["name"] for span in spans] == [SPAN_NAME] * len(TOUR), _names(spans)
    ordered = sorted(spans, key=lambda span: datetime.fromisoformat(span["start_time"]))
    assert [span["attributes"]["openai.api.type"] for span in ordered] == [call.api for call in TOUR]
    printed = dict(zip(PRINTED, lines, strict=True))
    for call, span in zip(TOUR, ordered, strict=True):
        _check_span(call, span)
        if call.error is None:
            # The id the app printed (its second word) is the span's, so this span is that call's.
            assert span["attributes"]["gen_ai.response.id"] == printed[call.label].split()[1], printed
    by_label = dict(zip((call.label for call in TOUR), ordered, strict=True))
    assert by_label["tool"]["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    stored = by_label["stored"]["attributes"]
    assert stored["openai.request.store"] is True
    assert stored["openai.request.metadata.example"] == "chatspan-tour"
    assert api_key not in json.dumps(spans), "the API key reached the exported spans"
    if HAS_RESPONSES:
        _check_responses(by_label["response"], by_label["rstream"], printed)
    else:
        assert SKIP_LINE.fullmatch(lines[-1]), result.stdout


def _check_responses(call_span: dict[str, Any], stream_span: dict[str, Any], printed: dict[str, str]) -> None:
    """What the Responses call and stream spans carry beyond `_check_span`'s common part."""
    call, stream = call_span["attributes"], stream_span["attributes"]
    for attributes in (call, stream):
        where = json.dumps(attributes, sort_keys=True)
        assert attributes["gen_ai.operation.name"] == "chat", where
        assert attributes["openai.response.status"] == "completed", where
        assert attributes["gen_ai.response.finish_reasons"] == ["stop"], where
        assert attributes["openai.request.store"] is True, "the Responses API stores by default"
        assert attributes["gen_ai.response.model"].startswith(MODEL), where
    assert "gen_ai.response.time_to_first_chunk" not in call, "only a stream has a first chunk"
    first_chunk = stream["gen_ai.response.time_to_first_chunk"]
    assert type(first_chunk) is float and first_chunk > 0, stream
    # The tokens on the spans are the ones the app printed ("response resp_...  model  13+13 tokens").
    for label, attributes in (("response", call), ("rstream", stream)):
        tokens = (
            f"{attributes['gen_ai.usage.input_tokens']}+{attributes['gen_ai.usage.output_tokens']} tokens"
        )
        assert f"  {tokens}  " in printed[label], (printed[label], tokens)


def test_disabled_instrumentation_exports_no_spans(
    phoenix: Phoenix, devserver: DevServer, api_key: str
) -> None:
    project = _unique_project()
    env = _app_environment(phoenix, devserver, api_key, project)
    env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "chatspan"

    result = _run_app(env)

    # The app made every call (so there was something to trace) and yet nothing arrived.
    assert [line.split()[0] for line in result.stdout.splitlines()] == PRINTED, result.stdout
    assert phoenix.wait_for_spans(project, 1, ABSENT_SPANS_WAIT) == []


def _check_span(call: Call, span: dict[str, Any]) -> None:
    attributes: dict[str, Any] = span["attributes"]
    where = f"{call.label} span: {json.dumps(attributes, sort_keys=True)}"
    # What the response headers tell arrives on failed calls as well as on completed ones.
    assert REQUEST_ID.fullmatch(attributes["openai.request.id"]), where
    processing = attributes["openai.processing.duration"]
    assert type(processing) is float and processing >= 0, where
    assert type(attributes["openai.ratelimit.requests.remaining"]) is int, where
    assert type(attributes["openai.ratelimit.tokens.reset"]) is float, where
    assert attributes["openai.retries"] == call.retries and type(attributes["openai.retries"]) is int, where
    assert attributes["gen_ai.request.model"] == MODEL, where
    assert attributes["openai.api.type"] == call.api, where
    assert attributes["gen_ai.request.stream"] is call.stream, where
    if call.error is not None:
        assert span["status_code"] == "ERROR", where
        assert attributes["error.type"] == call.error, where
        assert "gen_ai.response.id" not in attributes, where
        exceptions = [event for event in span["events"] if event["name"] == "exception"]
        assert len(exceptions) == 1, span["events"]
        assert exceptions[0]["attributes"]["exception.type"] == "openai.InternalServerError"
        return
    assert span["status_code"] == "UNSET", where
    assert "error.type" not in attributes, where
    prefix = "resp_" if call.api == RESPONSES_API else "chatcmpl-"
    assert attributes["gen_ai.response.id"].startswith(prefix), where
    assert type(attributes["openai.response.created"]) is int, where
    for tokens in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
        assert type(attributes[tokens]) is int and attributes[tokens] > 0, where


def _unique_project() -> str:
    return f"chatspan-e2e-{uuid.uuid4().hex[:12]}"


def _instrument_command() -> Path:
    """This venv's `opentelemetry-instrument`; fail clearly where it could not configure the SDK."""
    if not entry_points(group="opentelemetry_configurator"):
        pytest.fail(
            "opentelemetry-instrument configures the SDK from OTEL_* variables only with a distro "
            "installed: `pip install opentelemetry-distro` in this venv"
        )
    command = Path(sys.executable).parent / "opentelemetry-instrument"
    if not command.is_file():
        pytest.fail(f"{command} is missing: install opentelemetry-instrumentation in this venv")
    return command


def _app_environment(phoenix: Phoenix, devserver: DevServer, api_key: str, project: str) -> dict[str, str]:
    # The developer's own OpenTelemetry, OpenAI and chatspan settings must not leak into the run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "OPENAI_", "CHATSPAN_"))
    }
    env.update(
        {
            "OTEL_SERVICE_NAME": "chatspan-e2e",
            "OTEL_RESOURCE_ATTRIBUTES": f"{PROJECT_RESOURCE_ATTRIBUTE}={project}",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": phoenix.traces_endpoint,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OPENAI_BASE_URL": devserver.base_url,
            "OPENAI_API_KEY": api_key,
            "CHATSPAN_MODEL": MODEL,
            "CHATSPAN_DEVSERVER": "1",
            # Both the SDK and the exporter honour proxy variables; these servers are local.
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def _run_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(_instrument_command()), sys.executable, str(APP)]
    result = subprocess.run(
        command,
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=APP_TIMEOUT,
        check=False,
    )
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, f"the app exited with {result.returncode}\n{output}"
    return result


def _names(spans: list[dict[str, Any]]) -> str:
    return f"{len(spans)} spans: {sorted(span['name'] for span in spans)}"
