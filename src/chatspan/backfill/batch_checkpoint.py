"""Resumable state of a batch backfill: which batches are done, and how far the current one got.

A terminal batch never changes, so "done" is a set of batch ids (with their `created_at`, so the set
stays bounded by the window). The batch being exported is resumed by the count of its spans that the
collector confirmed. Writes are atomic, as for the other checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatspan.backfill.checkpoint import CheckpointError, read_json, save

FORMAT_VERSION = 1
KIND = "batches"


@dataclass
class BatchCheckpoint:
    """What a batch backfill of one API and filter set has confirmed so far."""

    scope: str
    done: dict[str, int] = field(default_factory=dict)
    """Batches whose every span was confirmed: id -> `created_at`."""
    current: str | None = None
    """The batch being exported when the last run stopped."""
    confirmed: int = 0
    """How many spans of `current`, in the order they are made (root first), were confirmed."""
    exported: int = 0

    def is_done(self, batch_id: str) -> bool:
        """Whether every span of the batch was confirmed by an earlier batch of exports or run."""
        return batch_id in self.done

    def resume_point(self, batch_id: str) -> int:
        """How many spans of this batch an earlier run confirmed (0 unless it was the current one)."""
        return self.confirmed if self.current == batch_id else 0

    def confirm(self, batch_id: str, position: int, count: int) -> None:
        """Record that the first `position` spans of the batch reached the exporter (`count` new)."""
        self.current = batch_id
        self.confirmed = position
        self.exported += count

    def finish(self, batch_id: str, created_at: int) -> None:
        """Mark a batch done: its spans are never sent again."""
        self.done[batch_id] = created_at
        if self.current == batch_id:
            self.current = None
            self.confirmed = 0

    def forget_before(self, since: int) -> bool:
        """Drop done batches created before `since` (a run of this window never lists them again);
        whether any were dropped."""
        kept = {batch_id: created for batch_id, created in self.done.items() if created >= since}
        dropped = len(kept) < len(self.done)
        self.done = kept
        return dropped

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "kind": KIND,
            "scope": self.scope,
            "done": self.done,
            "current": self.current,
            "confirmed": self.confirmed,
            "exported": self.exported,
        }


def batches_scope(base_url: str, project: str | None, metadata: dict[str, str]) -> str:
    """Identify a batch backfill: the API (base URL, project) and the metadata filters."""
    identity = json.dumps(["batches", base_url.rstrip("/"), project, sorted(metadata.items())])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def load_batches(path: Path, scope: str) -> BatchCheckpoint:
    """Read the batch checkpoint at `path`; a missing file is a fresh start."""
    data = read_json(path)
    if data is None:
        return BatchCheckpoint(scope=scope)
    try:
        if data.get("version") != FORMAT_VERSION or data.get("kind") != KIND:
            raise ValueError("unknown version or kind")
        current = data.get("current")
        checkpoint = BatchCheckpoint(
            scope=str(data["scope"]),
            done={str(key): int(value) for key, value in data["done"].items()},
            current=str(current) if current is not None else None,
            confirmed=int(data.get("confirmed", 0)),
            exported=int(data.get("exported", 0)),
        )
        if checkpoint.confirmed < 0:
            raise ValueError("negative count")
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


def save_batches(path: Path, checkpoint: BatchCheckpoint) -> None:
    """Write atomically (temp file, fsync, rename): a crash leaves the old state or the new one."""
    save(path, checkpoint)
