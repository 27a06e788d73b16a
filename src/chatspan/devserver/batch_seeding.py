"""Seeded batches: a month of finished batches, with their files, so demos and tests need not wait.

`seed_batches(batches, files, n, days=..., seed=..., now=...)` adds `n` batches created in the last
`days` days, each stage lasting `SEEDED_STAGE_SECONDS`. The first is a completed chat batch of
`LARGE_LINES` (50,000) lines; the others cycle through: completed (a few lines the engine
refuses, in the error file), expired (half of the lines ran, the rest `batch_expired`),
cancelled (half-way through), failed (an URL that does not match and a line that is not JSON:
`errors.data` names lines 3 and 5), completed on `/v1/responses`, completed with an output
file that expired an hour after the batch finished (its content is a 404), and completed on
`/v1/embeddings`. Some carry a `chatspan.traceparent` in their metadata, as the live
instrumentation adds it.

Cost: the small batches are real input files of `SMALL_LINES` lines run through the devserver's
engines when they are settled and when their files are read (about 75 us a line). The large one
never exists whole: its input and output lines are cut from a few templates, answered once by the
chat engine, with each line's ids, `custom_id` and `created` filled in as it is read (a few us a
line). Seeding 10 batches takes about 10 ms and 100 about 0.1 s; the first Files or Batch request
afterwards settles them (reads each output through once to total its usage and size): about
0.4 s, most of it the large batch's 50,000 lines. Reading the large output streams about 43 MB at
a flat memory cost (about 1 MB measured, see tests/devserver/test_batch_seeding.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from chatspan.devserver.batch_input import CHAT, EMBEDDINGS, RESPONSES, BatchPlan, plan_batch
from chatspan.devserver.batch_runner import BatchRun, OutputLine, line_usage
from chatspan.devserver.batches import EXPIRE_AFTER_KEY, BatchRecord, BatchStore
from chatspan.devserver.completions import build_completion, prompt_tokens
from chatspan.devserver.files import BATCH_FILE_TTL, FileStore, GeneratedContent, StaticContent, StoredFile
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.stable import stable_hex
from chatspan.devserver.validation import read_chat_request

DAY = 86_400
LARGE_LINES = 50_000
SMALL_LINES = 24
SEEDED_STAGE_SECONDS = 600.0
"""Each stage of a seeded batch (validating, in_progress, finalizing) lasts ten minutes."""
LARGE_MODEL = "gpt-4o-mini"
KINDS = ("completed", "expired", "cancelled", "failed", "responses", "output-expired", "embeddings")
"""What the seeded batches after the first (the large one) are, in turn."""

_QUESTIONS = (
    "Summarise this support ticket: the invoice PDF will not download on Safari.",
    "Classify the sentiment of: the new dashboard is fast but the export is broken.",
    "Translate to French: your order has shipped and will arrive on Tuesday.",
    "Extract the city from: please deliver to 12 Rue de Rivoli, Paris.",
    "Write a one-line title for a ticket about login loops after a password reset.",
    "Is this message spam? You have won a free cruise, click here to claim it.",
    "Summarise this review: battery life is great, the camera is average.",
    "Tag the product area of: webhooks retry forever after a 410 answer.",
)
_SYSTEM = "You label and summarise customer messages for the Acme support team. " * 4
_LONG_SYSTEM = _SYSTEM * 30
"""Over 1,024 tokens, so repeats of it are served from the prompt cache."""
_TEAMS = ("search", "support", "billing")


def _chat_body(index: int, model: str = LARGE_MODEL, long: bool = False) -> dict[str, object]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": _LONG_SYSTEM if long else _SYSTEM},
            {"role": "user", "content": _QUESTIONS[index % len(_QUESTIONS)]},
        ],
        "max_tokens": 200,
    }


def _line(custom_id: str, url: str, body: dict[str, object]) -> bytes:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body}).encode() + b"\n"


def _small_input(kind: str, rng: random.Random) -> tuple[str, bytes]:
    """The endpoint and input file of a small seeded batch of `kind`."""
    lines: list[bytes] = []
    for number in range(SMALL_LINES):
        custom_id = f"{kind}-{number:04d}"
        if kind == "responses":
            body: dict[str, object] = {
                "model": "gpt-4.1-nano",
                "instructions": _SYSTEM,
                "input": _QUESTIONS[number % len(_QUESTIONS)],
            }
            lines.append(_line(custom_id, RESPONSES, body))
        elif kind == "embeddings":
            body = {"model": "text-embedding-3-small", "input": _QUESTIONS[number % len(_QUESTIONS)]}
            lines.append(_line(custom_id, EMBEDDINGS, body))
        else:
            body = _chat_body(number + rng.randrange(len(_QUESTIONS)), long=number % 3 == 0)
            if kind == "completed" and number % 10 == 7:
                body["n"] = 0  # the engine refuses it: a 400 line in the error file
            lines.append(_line(custom_id, CHAT, body))
    if kind == "failed":
        lines[2] = _line("failed-0002", RESPONSES, _chat_body(2))
        lines[4] = b'{"custom_id": "failed-0004", "method": "POST", "url": \n'
    endpoint = {"responses": RESPONSES, "embeddings": EMBEDDINGS}.get(kind, CHAT)
    return endpoint, b"".join(lines)


@dataclass(frozen=True)
class _Template:
    """One output line with holes: literal parts and, between them, the names of the values."""

    parts: tuple[str, ...]
    slots: tuple[str, ...]
    tokens: tuple[int, int, int, int]

    def fill(self, values: dict[str, str]) -> bytes:
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces.append(values[slot])
            pieces.append(part)
        return "".join(pieces).encode()


_SLOTS = ("@LINE@", "@CUSTOM@", "@REQUEST@", "@COMPLETION@", "@CREATED@")


def _template(record: Mapping[str, object], tokens: tuple[int, int, int, int]) -> _Template:
    text = json.dumps(record, separators=(",", ":")) + "\n"
    text = text.replace('"@CREATED@"', "@CREATED@")
    parts: list[str] = []
    slots: list[str] = []
    rest = text
    while True:
        found = [(rest.find(slot), slot) for slot in _SLOTS if slot in rest]
        if not found:
            parts.append(rest)
            break
        position, slot = min(found)
        parts.append(rest[:position])
        slots.append(slot)
        rest = rest[position + len(slot) :]
    return _Template(tuple(parts), tuple(slots), tokens)


def _large_templates() -> tuple[list[_Template], list[_Template]]:
    """The output line of each question, as first seen and as seen again (its prompt cached)."""
    cache = PromptCache()
    first: list[_Template] = []
    again: list[_Template] = []
    for round_ in (first, again):
        for index in range(len(_QUESTIONS)):
            request = read_chat_request(_chat_body(index, long=index % 2 == 0))
            cached = cache.cached_tokens(request.messages, prompt_tokens(request.messages))
            body = build_completion(request, cached_tokens=cached, now=0).response()
            body["id"] = "@COMPLETION@"
            body["created"] = "@CREATED@"
            record = {
                "id": "@LINE@",
                "custom_id": "@CUSTOM@",
                "response": {"status_code": 200, "request_id": "@REQUEST@", "body": body},
                "error": None,
            }
            round_.append(_template(record, line_usage(CHAT, body)))
    return first, again


def _large_input_lines() -> list[bytes]:
    """Each question's input line, `custom_id` left as `request-000000` to be filled in."""
    return [
        _line("request-000000", CHAT, _chat_body(index, long=index % 2 == 0))
        for index in range(len(_QUESTIONS))
    ]


def _large_input(large_lines: int) -> GeneratedContent:
    """The large batch's input file: its size and line count known without reading it."""
    lines = _large_input_lines()
    # Every line starts with its custom_id (`_line` puts it first): only those six digits change.
    prefix = b'{"custom_id": "request-'

    def produce() -> Iterator[bytes]:
        for number in range(large_lines):
            line = lines[number % len(lines)]
            yield b"%s%06d%s" % (prefix, number, line[len(prefix) + 6 :])

    size = sum(len(lines[number % len(lines)]) for number in range(large_lines))
    return GeneratedContent(produce, size, large_lines)


def _large_producer(large_lines: int) -> Callable[[BatchRun], Iterator[OutputLine]]:
    first, again = _large_templates()

    def produce(run: BatchRun) -> Iterator[OutputLine]:
        for number in range(min(run.ran, large_lines)):
            index = number % len(_QUESTIONS)
            template = (first if number < len(_QUESTIONS) else again)[index]
            digits = stable_hex(f"{run.batch_id}:{number}", 93)
            values = {
                "@LINE@": "batch_req_" + digits[:32],
                "@CUSTOM@": f"request-{number:06d}",
                "@REQUEST@": "req_" + digits[32:64],
                "@COMPLETION@": "chatcmpl-" + digits[64:93],
                "@CREATED@": str(run.answered_at(number)),
            }
            yield OutputLine(False, template.fill(values), template.tokens)

    return produce


def _traceparent(rng: random.Random) -> str:
    return f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"


def seed_batches(
    batches: BatchStore,
    files: FileStore,
    n: int,
    *,
    days: float = 30,
    seed: int = 0,
    now: float,
    large_lines: int = LARGE_LINES,
) -> int:
    """Add `n` finished batches of the last `days` days before `now` (see the module docstring).

    The first holds `large_lines` lines (the benchmark seeds other sizes). Returns `n`."""
    if n < 0:
        raise ValueError(f"cannot seed a negative number of batches ({n})")
    if large_lines < 1:
        raise ValueError(f"the large batch needs at least 1 line, not {large_lines}")
    if not days > 0:
        raise ValueError(f"days must be > 0, got {days}")
    rng = random.Random(seed)
    stage = SEEDED_STAGE_SECONDS
    # Every seeded batch has finished (and its cancel stage too) an hour before `now`.
    latest = now - 4 * stage - 3_600
    earliest = now - days * DAY
    for number in range(n):
        created = int(earliest + rng.random() * max(latest - earliest, 0.0))
        kind = "large" if number == 0 else KINDS[(number - 1) % len(KINDS)]
        metadata = {"team": rng.choice(_TEAMS), "seeded": "true"}
        if rng.random() < 0.5:
            metadata["chatspan.traceparent"] = _traceparent(rng)
        batch_id = "batch_" + stable_hex(f"seeded:{seed}:{number}", 32)
        input_id = "file-" + stable_hex(f"seeded:{seed}:{number}:input", 22)
        if kind == "large":
            endpoint = CHAT
            content: StaticContent | GeneratedContent = _large_input(large_lines)
            plan = BatchPlan(large_lines, b"\x01" * large_lines, LARGE_MODEL)
        else:
            endpoint, data = _small_input(kind, rng)
            content = StaticContent(data)
            plan = plan_batch(content, endpoint)
        files.put(
            StoredFile(
                input_id,
                f"{kind}-{number}.jsonl",
                "batch",
                created - 60,
                content,
                created - 60 + BATCH_FILE_TTL,
            )
        )
        if kind == "expired":
            metadata[EXPIRE_AFTER_KEY] = str(plan.total // 2)
        record = BatchRecord(
            id=batch_id,
            endpoint=endpoint,
            input_file_id=input_id,
            content=content,
            created_at=created,
            plan=plan,
            seconds=stage,
            metadata=metadata,
            expire_after=plan.total // 2 if kind == "expired" else None,
            output_ttl=3_600 if kind == "output-expired" else None,
            cancelled_at=created + 1.5 * stage if kind == "cancelled" else None,
        )
        if kind == "large":
            record = replace(record, produce=_large_producer(large_lines))
        batches.put(record)
    return n
