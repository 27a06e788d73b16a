"""Resumable backfill state: which created-time ranges are done, and where an unfinished pass stands.

The state only moves after the exporter confirmed a batch, and every write is atomic (temp file,
fsync, rename), so a run killed at any instant resumes from its last confirmed batch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

FORMAT_VERSION = 2
"""2 added `tail`; a format 1 file reads as format 2 with an empty tail (and is saved as 2)."""
_READABLE_VERSIONS = (1, 2)
SETTLE_SECONDS = 600
"""Completions of the last minutes before a run may not be stored yet (a long stream is stored when
it ends): that stretch is never marked done, so the next run lists it again."""
TAIL_LIMIT = 10_000
"""At most this many confirmed ids of the unsettled tail are kept. Past it the oldest are dropped:
a re-run then sends those again (same span ids), it never loses one."""


class CheckpointError(Exception):
    """The checkpoint cannot be used: unreadable, of another source, or in use; its text says why."""


@dataclass
class Pass:
    """One listing pass over [since, until], newest first; `cursor` is the last confirmed id."""

    since: int
    until: int
    cursor: str | None = None
    exported: int = 0
    opened_at: int | None = None
    """When the run that began this pass started: what it listed is settled only up to ten minutes
    before that, even when a later run finishes the pass (absent in older checkpoints)."""


@dataclass
class Checkpoint:
    """What a backfill of one source and filter set has confirmed so far."""

    scope: str
    covered: list[list[int]] = field(default_factory=list)
    current: Pass | None = None
    tail: dict[str, int] = field(default_factory=dict)
    """Confirmed completions (id -> created) not yet inside `covered`: the unsettled tail that the
    next run lists again, so that it sends only what is new there (late arrivals included)."""

    def plan(self, since: int, until: int) -> list[Pass]:
        """The passes left for [since, until]: the unfinished one first, then the gaps, newest first."""
        passes = [self.current] if self.current is not None else []
        covered = _merge([*self.covered, *([[p.since, p.until] for p in passes])])
        passes.extend(Pass(start, end) for start, end in reversed(_gaps(since, until, covered)))
        return passes

    def confirm(self, running: Pass, cursor: str, count: int, sent: Mapping[str, int] | None = None) -> None:
        """Record that everything up to `cursor` in `running` reached the exporter.

        `sent` (id -> created) are the completions of that batch: kept in `tail` until the settled
        edge passes them, so that a re-run does not send them again.
        """
        running.cursor = cursor
        running.exported += count
        self.current = running
        if sent:
            self.tail.update(sent)
            if len(self.tail) > TAIL_LIMIT:
                newest = sorted(self.tail.items(), key=lambda item: item[1], reverse=True)[:TAIL_LIMIT]
                self.tail = dict(newest)

    def already_sent(self, completion_id: str) -> bool:
        """Whether a completion of the unsettled tail was confirmed by an earlier batch or run."""
        return completion_id in self.tail

    def finish(self, running: Pass, started_at: int) -> None:
        """Mark a pass done (except its unsettled tail) and drop it as the current one.

        Ids of `tail` that the covered ranges now hold are dropped: those ranges are never listed
        again, so the set stays as small as the last minutes' completions.
        """
        end = min(running.until, settled_edge(running, started_at))
        if end >= running.since:
            self.covered = _merge([*self.covered, [running.since, end]])
        if self.current is running:
            self.current = None
        self.tail = {
            completion_id: created
            for completion_id, created in self.tail.items()
            if not _inside(created, self.covered)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "scope": self.scope,
            "covered": self.covered,
            "current": asdict(self.current) if self.current else None,
            "tail": self.tail,
        }


@dataclass
class LineCheckpoint:
    """How far a backfill of an id list (`--responses FILE`) got: lines confirmed, and their digest.

    `digest` is the SHA-256 of those first `lines` lines as read: a resumed run checks that its
    input begins with the same bytes (ids appended later are fine; an edited prefix is not).
    """

    scope: str
    lines: int = 0
    digest: str = ""
    exported: int = 0

    def confirm(self, lines: int, digest: str, count: int) -> None:
        """Record that the first `lines` lines reached the exporter (`count` spans in this batch)."""
        self.lines = lines
        self.digest = digest
        self.exported += count

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "kind": "lines", **asdict(self)}


def load_lines(path: Path, scope: str) -> LineCheckpoint:
    """Read the id-list checkpoint at `path`; a missing file is a fresh start."""
    data = read_json(path)
    if data is None:
        return LineCheckpoint(scope=scope)
    try:
        if data.get("version") != FORMAT_VERSION or data.get("kind") != "lines":
            raise ValueError("unknown version or kind")
        checkpoint = LineCheckpoint(
            scope=str(data["scope"]),
            lines=int(data["lines"]),
            digest=str(data["digest"]),
            exported=int(data.get("exported", 0)),
        )
        if checkpoint.lines < 0:
            raise ValueError("negative line count")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CheckpointError(
            f"the checkpoint {path} is damaged; run again with --restart to start over"
        ) from None
    if checkpoint.scope != scope:
        raise CheckpointError(
            f"the checkpoint {path} belongs to a backfill of another source or id list; "
            "use another --checkpoint, or --restart to overwrite it"
        )
    return checkpoint


def read_json(path: Path) -> Any:
    """The checkpoint's JSON, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CheckpointError(f"cannot read the checkpoint {path}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise CheckpointError(
            f"the checkpoint {path} is damaged; run again with --restart to start over"
        ) from None


def settled_edge(running: Pass, started_at: int) -> int:
    """The newest `created` of `running` that is settled: ten minutes before the run that began it."""
    opened = running.opened_at if running.opened_at is not None else started_at
    return min(opened, started_at) - SETTLE_SECONDS


def scope_key(base_url: str, project: str | None, model: str | None, metadata: dict[str, str]) -> str:
    """Identify a source and filter set; a checkpoint only resumes a backfill of the same one."""
    identity = json.dumps([base_url.rstrip("/"), project, model, sorted(metadata.items())])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def default_path(scope: str, kind: str = "backfill") -> Path:
    """The checkpoint's place under the user's state directory (XDG_STATE_HOME, ~/.local/state).

    `kind` begins the file name: `backfill` (stored completions) or `responses` (an id list).
    """
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "chatspan" / f"{kind}-{scope}.json"


def responses_scope(base_url: str, project: str | None, input_identity: str) -> str:
    """Identify a backfill of an id list: the API (base URL, project) and which list it reads."""
    identity = json.dumps(["responses", base_url.rstrip("/"), project, input_identity])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def load(path: Path, scope: str) -> Checkpoint:
    """Read the checkpoint at `path`; a missing file is a fresh start."""
    data = read_json(path)
    if data is None:
        return Checkpoint(scope=scope)
    try:
        if data.get("version") not in _READABLE_VERSIONS:
            raise ValueError("unknown version")
        current = data.get("current")
        checkpoint = Checkpoint(
            scope=str(data["scope"]),
            covered=[[int(a), int(b)] for a, b in data.get("covered", [])],
            current=Pass(**current) if current else None,
            # Format 1 kept no tail: its next run sends the last minutes once more, as it used to.
            tail={str(key): int(value) for key, value in (data.get("tail") or {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CheckpointError(
            f"the checkpoint {path} is damaged; run again with --restart to start over"
        ) from None
    if checkpoint.scope != scope:
        raise CheckpointError(
            f"the checkpoint {path} belongs to a backfill of another source or filter set; "
            "use another --checkpoint, or --restart to overwrite it"
        )
    return checkpoint


class Savable(Protocol):
    """A checkpoint of any backfill: what it writes is its JSON."""

    def to_json(self) -> dict[str, Any]: ...


def save(path: Path, checkpoint: Savable) -> None:
    """Write atomically: a reader (or a crash) sees the old state or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(checkpoint.to_json(), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the checkpoint, so two backfills never move it at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointError(f"another backfill is using the checkpoint {path}") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _inside(moment: int, covered: list[list[int]]) -> bool:
    return any(low <= moment <= high for low, high in covered)


def _merge(intervals: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _gaps(since: int, until: int, covered: list[list[int]]) -> list[tuple[int, int]]:
    gaps: list[tuple[int, int]] = []
    start = since
    for low, high in covered:
        if high < start or low > until:
            continue
        if low > start:
            gaps.append((start, low - 1))
        start = max(start, high + 1)
    if start <= until:
        gaps.append((start, until))
    return gaps
