"""`make demo` on the embedded default, then its viewer in a real browser, as a person would check it.

The demo runs as the Makefile runs it (scripts/demo.sh: devserver, Phoenix, the app under
`opentelemetry-instrument`, `chatspan backfill`), in a demo directory and on a port of its own.
Then headless Chromium (Debian's, `make browser-deps`, driven by Playwright) opens the trace page
of the demo's linked call: the live `chat gpt-4o-mini` span with the backfilled `stored chat ...`
span nested under it, and the header attributes in the attribute panel of each; then the trace page
of the tour's Responses stream, its span named `chat gpt-4o-mini` too, told apart by
`openai.api.type=responses` in its panel. Screenshots go to test-output/demo-openai-VERSION/.
Last, `make demo-stop` must end what the demo left running.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.demo.harness import (
    BATCH_SPANS,
    CHAT_CALLS,
    HAS_RESPONSES,
    SEEDED_AND_STORED,
    TOUR_SPANS,
    DemoRun,
    demo_environment,
    listening_addresses,
    processes_of,
    run_demo,
    stop_demo,
)
from tests.support.phoenix import REPO_ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_TIMEOUT_MS = 30_000
SCREENSHOTS = REPO_ROOT / "test-output" / f"demo-openai-{openai.__version__}"
LIVE_NAME = "chat gpt-4o-mini"
STORED_NAME = re.compile(r"^stored chat gpt-4o-mini")
TRACE_URL = re.compile(r"(http://127\.0\.0\.1:(\d+))/redirects/traces/([0-9a-f]{32})")
PROJECT_URL = re.compile(r"^Open (http://127\.0\.0\.1:\d+/projects/[^/\s?]+\?\S+)$", re.MULTILINE)
REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")
# Each span row of the tree is a `.span-node__heading`; a span's children are a <ul> beside its row,
# inside the element that holds both (Phoenix 20.26, pinned in scripts/phoenix-venv.sh). So a row's
# parent is the row that shares an element with the row's own list, outside that list.
# Returns [name, parent name or null] for every row, top to bottom.
_TREE_SCRIPT = """
() => Array.from(document.querySelectorAll('.span-node__heading')).map((heading) => {
  const list = heading.closest('ul');
  const holder = list ? list.parentElement : null;
  const parent = holder
    ? Array.from(holder.querySelectorAll('.span-node__heading')).find((row) => !list.contains(row))
    : undefined;
  return [heading.textContent.trim(), parent ? parent.textContent.trim() : null];
})
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """One demo for the module; whatever happens, demo-stop runs after it."""
    state = tmp_path_factory.mktemp("demo") / "state"
    env = demo_environment(state)
    try:
        yield run_demo(env, state)
    finally:
        stop_demo(env)


def test_demo_prints_what_phoenix_received(demo: DemoRun) -> None:
    assert demo.code == 0, demo.output()
    base, _port, trace_id = _trace_link(demo)
    spans = _phoenix_spans(base)
    live = sorted(
        (span for span in spans if span["attributes"].get("chatspan.source") == "live"),
        key=lambda span: span["start_time"],
    )
    batch_traces = {span["context"]["trace_id"] for span in spans if span["name"].startswith("batch batch_")}
    in_batches = [span for span in spans if span["context"]["trace_id"] in batch_traces]
    backfilled = [
        span
        for span in spans
        if span["attributes"].get("chatspan.source") == "backfill" and span not in in_batches
    ]
    # The tour's 7 chat calls and, from openai 1.66 on, its 2 Responses calls; the 300 seeded
    # stored completions and the tour's one stored call; the seeded batches' traces.
    assert (len(live), len(backfilled), len(in_batches)) == (
        TOUR_SPANS,
        SEEDED_AND_STORED,
        BATCH_SPANS,
    ), demo.output()
    kinds = f" ({CHAT_CALLS} chat completions, 2 Responses API calls)" if HAS_RESPONSES else ""
    total = TOUR_SPANS + SEEDED_AND_STORED + BATCH_SPANS
    summary = f"{total} spans: {TOUR_SPANS} live from examples/app.py{kinds}, "
    # The demo wraps its notes at 100 columns: compare the words.
    words = " ".join(demo.stdout.split())
    assert f"{summary}{SEEDED_AND_STORED + BATCH_SPANS} backfilled" in words, demo.output()
    assert f"{BATCH_SPANS} of the backfilled spans are {len(batch_traces)} batch traces" in words
    api_types = [span["attributes"]["openai.api.type"] for span in live]
    assert api_types == ["chat_completions"] * CHAT_CALLS + ["responses"] * (TOUR_SPANS - CHAT_CALLS)
    if not HAS_RESPONSES:
        assert f"skip     responses: openai {openai.__version__} has no client.responses" in demo.stdout

    table = _table(demo.stdout)
    # One line per live span in start order, each with its request id; the stored call's
    # backfilled span on the line after its live parent, with the same request id.
    live_lines = [line for line in table if line.startswith(LIVE_NAME)]
    assert [_request_id(line) for line in live_lines] == [
        span["attributes"]["openai.request.id"] for span in live
    ], demo.output()
    (stored_line,) = [line for line in table if line.startswith("└ stored chat")]
    parent_line = table[table.index(stored_line) - 1]
    assert _request_id(stored_line) == _request_id(parent_line)
    assert live_lines[CHAT_CALLS - 1].endswith("ERROR 500"), "the chat tour's last call fails with a 500"
    # The Responses call and stream come after it, marked so in the listing.
    assert [line.split()[-1] for line in live_lines[CHAT_CALLS:]] == (
        ["responses", "stream"] if HAS_RESPONSES else []
    ), demo.output()
    assert [line.endswith("  responses stream") for line in live_lines[CHAT_CALLS:]] == (
        [False, True] if HAS_RESPONSES else []
    ), demo.output()
    linked = [span for span in backfilled if span["parent_id"]]
    assert [span["context"]["trace_id"] for span in linked] == [trace_id]


def test_each_batch_is_one_trace_in_phoenix_and_the_demo_links_one(demo: DemoRun) -> None:
    """A root `batch {id}` span per seeded batch, every other span of its trace a child of it."""
    assert demo.code == 0, demo.output()
    base, _port, _ = _trace_link(demo)
    spans = _phoenix_spans(base)
    roots = [span for span in spans if span["name"].startswith("batch batch_")]
    assert len(roots) >= 3, [span["name"] for span in roots]
    for root in roots:
        assert not root["parent_id"]
        assert root["attributes"]["openai.batch.id"] == root["name"].removeprefix("batch ")
        members = [s for s in spans if s["context"]["trace_id"] == root["context"]["trace_id"]]
        assert all(s["parent_id"] == root["context"]["span_id"] for s in members if s is not root)
    with_lines = {
        root["context"]["trace_id"]
        for root in roots
        if any(s["parent_id"] == root["context"]["span_id"] for s in spans)
    }
    found = re.search(r"a batch's trace, one span per request of the batch: (\S+)", demo.stdout)
    assert found, demo.output()
    assert found.group(1).rsplit("/", 1)[-1] in with_lines


def test_demo_leaves_only_phoenix_running_on_loopback(demo: DemoRun) -> None:
    assert demo.code == 0, demo.output()
    pid_files = sorted(path.name for path in demo.state.glob("*.pid"))
    assert pid_files == ["phoenix.pid"], "only the viewer may outlive the demo"
    phoenix_pid = int((demo.state / "phoenix.pid").read_text().split()[0])
    running = processes_of(demo.state)
    assert set(running) == {phoenix_pid}, running
    addresses = listening_addresses(set(running))
    _, port, _ = _trace_link(demo)
    assert f"127.0.0.1:{port}" in addresses, addresses
    for address in addresses:
        host = ipaddress.ip_address(address.rsplit(":", 1)[0])
        loopback = host.ipv4_mapped if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped else host
        assert loopback.is_loopback, f"Phoenix listens on {address}: {addresses}"


def test_trace_page_shows_the_stored_span_under_its_live_parent(demo: DemoRun) -> None:
    assert demo.code == 0, demo.output()
    sync_playwright = _playwright()
    base, _, trace_id = _trace_link(demo)
    stored_line = next(line for line in _table(demo.stdout) if line.startswith("└ stored chat"))
    request_id = _request_id(stored_line)
    stored_span = next(
        span
        for span in _phoenix_spans(base)
        if span["attributes"].get("openai.request.id") == request_id
        and span["attributes"].get("chatspan.source") == "backfill"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    elsewhere: list[str] = []

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chatspan-chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.on("request", lambda request: _note_elsewhere(request.url, base, elsewhere))
            page.goto(_trace_link_url(demo))

            headings = page.locator(".span-node__heading")
            live = headings.filter(has_text=re.compile(rf"^{re.escape(LIVE_NAME)}$"))
            stored = headings.filter(has_text=STORED_NAME)
            live.wait_for()
            stored.wait_for()
            # The tree as drawn: two rows, the stored one nested under the live one, indented below it.
            tree = page.evaluate(_TREE_SCRIPT)
            assert [name for name, _ in tree] == [LIVE_NAME, stored_span["name"]], tree
            assert tree[1][1] == LIVE_NAME, f"the stored span is not under the live one: {tree}"
            live_box, stored_box = live.bounding_box(), stored.bounding_box()
            assert live_box is not None and stored_box is not None
            assert stored_box["x"] > live_box["x"] and stored_box["y"] > live_box["y"]

            live.click()
            page.get_by_role("tab", name="Attributes").click()
            page.get_by_role("button", name="Search JSON keys and values").click()
            page.keyboard.type("openai.")
            live_attributes = _attribute_rows(page)
            assert live_attributes["openai.request.id"] == request_id, live_attributes
            for header in ("openai.processing.duration", "openai.ratelimit.requests.remaining"):
                assert header in live_attributes, live_attributes
            assert live_attributes["openai.request.store"] == "true"
            page.screenshot(path=str(SCREENSHOTS / "trace-live-span.png"))

            stored.click()
            page.get_by_text(stored_span["name"]).nth(1).wait_for()  # the detail panel's title
            stored_attributes = _attribute_rows(page, expect_absent="openai.ratelimit.requests.remaining")
            assert stored_attributes["openai.request.id"] == request_id, stored_attributes
            traceparent = stored_attributes["openai.request.metadata.chatspan.traceparent"]
            assert traceparent.split("-")[1] == trace_id, traceparent
            page.screenshot(path=str(SCREENSHOTS / "trace-stored-span.png"))
        finally:
            browser.close()
    assert elsewhere == [], f"the Phoenix UI requested something off its own server: {elsewhere}"


@pytest.mark.skipif(
    not HAS_RESPONSES,
    reason=f"openai {openai.__version__} has no client.responses, so the tour makes no Responses call: "
    "test_demo_prints_what_phoenix_received asserts there is no responses span and the skip line",
)
def test_trace_page_shows_the_responses_stream_span_with_its_attributes(demo: DemoRun) -> None:
    """The tour's Responses stream, found by the request id on its `responses stream` line, opened
    in Phoenix's trace page: one `chat gpt-4o-mini` row, and in its attribute panel
    `openai.api.type=responses`, status `completed`, that request id and the timing headers."""
    assert demo.code == 0, demo.output()
    sync_playwright = _playwright()
    base, _, _ = _trace_link(demo)
    (stream_line,) = [line for line in _table(demo.stdout) if line.endswith("  responses stream")]
    request_id = _request_id(stream_line)
    (span,) = [
        span
        for span in _phoenix_spans(base)
        if span["attributes"].get("openai.request.id") == request_id
        and span["attributes"].get("chatspan.source") == "live"
    ]
    assert span["attributes"]["openai.api.type"] == "responses", span
    assert span["attributes"]["gen_ai.request.stream"] is True, span
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    elsewhere: list[str] = []

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chatspan-chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.on("request", lambda request: _note_elsewhere(request.url, base, elsewhere))
            # The URL the demo prints for the stored call's trace, with this span's trace id.
            page.goto(f"{base}/redirects/traces/{span['context']['trace_id']}")

            row = page.locator(".span-node__heading").filter(
                has_text=re.compile(rf"^{re.escape(LIVE_NAME)}$")
            )
            row.wait_for()
            # A live call is a trace of its own: one row, no child.
            assert page.evaluate(_TREE_SCRIPT) == [[LIVE_NAME, None]]

            row.click()
            page.get_by_role("tab", name="Attributes").click()
            page.get_by_role("button", name="Search JSON keys and values").click()
            page.keyboard.type("openai.")
            attributes = _attribute_rows(page)
            assert attributes["openai.api.type"] == "responses", attributes
            assert attributes["openai.response.status"] == "completed", attributes
            assert attributes["openai.request.id"] == request_id, attributes
            for header in ("openai.processing.duration", "openai.ratelimit.requests.remaining"):
                assert header in attributes, attributes
            page.screenshot(path=str(SCREENSHOTS / "trace-responses-stream-span.png"))
        finally:
            browser.close()
    assert elsewhere == [], f"the Phoenix UI requested something off its own server: {elsewhere}"


def test_project_link_opens_a_time_range_that_shows_every_span(demo: DemoRun) -> None:
    """The backfilled spans sit at their `created`, over the last month: Phoenix's default range
    (the last 7 days) would hide most of them, so the printed project link carries the whole range.
    (The trace link needs none: the trace view shows every span of the trace.)"""
    assert demo.code == 0, demo.output()
    found = PROJECT_URL.search(demo.stdout)
    assert found, f"the demo printed no project link with a time range\n{demo.output()}"
    link = found.group(1)
    base, _, _ = _trace_link(demo)
    spans = _phoenix_spans(base)
    earliest = min(datetime.fromisoformat(span["start_time"]) for span in spans)
    latest = max(datetime.fromisoformat(span["end_time"]) for span in spans)
    assert latest - earliest > timedelta(days=20), "the seeded month is what the range must cover"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    start = datetime.fromisoformat(query["timeRangeStart"][0].replace("Z", "+00:00"))
    end = datetime.fromisoformat(query["timeRangeEnd"][0].replace("Z", "+00:00"))
    assert start <= earliest and latest < end, (link, earliest, latest)
    assert end - start < (latest - earliest) + timedelta(minutes=3), "no wider than needed"

    sync_playwright = _playwright()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chatspan-chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
            timezone_id="UTC",
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.goto(link)
            # The range picker shows the link's range, not the default, from the earliest span's
            # day to the latest's (Phoenix writes dates as MM/DD/YYYY).
            shown = page.get_by_text(re.compile(r"^\d\d/\d\d/\d{4}, .* - \d\d/\d\d/\d{4}, ")).first
            shown.wait_for()
            text = shown.inner_text()
            assert text.startswith(start.strftime("%m/%d/%Y")), text
            assert end.strftime("%m/%d/%Y") in text, text
            assert "timeRangeStart=" in page.url, "Phoenix kept the range in its URL"
            page.get_by_text("chat gpt-4o-mini").first.wait_for()
            page.screenshot(path=str(SCREENSHOTS / "project-time-range.png"))
        finally:
            browser.close()


def test_demo_stop_ends_the_viewer(demo: DemoRun) -> None:
    assert demo.code == 0, demo.output()
    output = stop_demo(demo.env)
    assert re.search(r"demo-stop: stopping phoenix \(pid \d+\)", output), output
    assert processes_of(demo.state) == {}
    assert list(demo.state.glob("*.pid")) == []
    assert "nothing of the demo is running" in stop_demo(demo.env)


def _playwright() -> Any:
    """Playwright's sync API, driving Debian's Chromium; a clear failure when either is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: pip install playwright (the test extra)")
    return sync_playwright


def _attribute_rows(page: Any, *, expect_absent: str | None = None) -> dict[str, str]:
    """Key -> value of the attribute table as displayed (after the panel's search filter)."""
    rows = page.get_by_role("row").filter(has_text="openai.request.id")
    rows.first.wait_for()
    if expect_absent is not None:
        # The panel re-renders for the newly selected span: wait until the old rows are gone.
        page.get_by_role("row").filter(has_text=expect_absent).first.wait_for(state="detached")
    table: dict[str, str] = {}
    for row in page.get_by_role("row").all():
        cells = [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]
        if len(cells) == 2:
            table[cells[0]] = cells[1]
    return table


def _trace_link_url(demo: DemoRun) -> str:
    found = TRACE_URL.search(demo.stdout)
    assert found, f"the demo printed no trace URL\n{demo.output()}"
    return found.group(0)


def _trace_link(demo: DemoRun) -> tuple[str, int, str]:
    found = TRACE_URL.search(demo.stdout)
    assert found, f"the demo printed no trace URL\n{demo.output()}"
    return found.group(1), int(found.group(2)), found.group(3)


def _table(stdout: str) -> list[str]:
    """The live part of the demo's text view (live spans and their stored children), unindented."""
    lines = [line.strip() for line in stdout.splitlines()]
    start = next(
        i for i, line in enumerate(lines) if line.startswith("span ") and "openai.request.id" in line
    )
    end = next(i for i in range(start, len(lines)) if not lines[i] or lines[i].startswith("backfilled from"))
    return lines[start + 1 : end]


def _request_id(line: str) -> str:
    found = REQUEST_ID.search(line)
    assert found, line
    return found.group(0)


def _phoenix_spans(base: str) -> list[dict[str, Any]]:
    """Every span of the demo's project, from Phoenix's REST API."""
    spans: list[dict[str, Any]] = []
    cursor: str | None = None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        query = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        url = f"{base}/v1/projects/chatspan-demo/spans?{urllib.parse.urlencode(query)}"
        with opener.open(url, timeout=10) as response:
            page = json.load(response)
        spans.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return spans


def _note_elsewhere(url: str, base: str, elsewhere: list[str]) -> None:
    if not (url.startswith(f"{base}/") or url.startswith(("data:", "blob:"))):
        elsewhere.append(url)
