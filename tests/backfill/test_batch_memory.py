"""The seeded 50,000-line batch backfilled with flat memory, content capture off and on.

Resident memory (/proc/self/statm) is sampled before the run and after every send; its growth must
stay within a bound far below the output file's size (about 43 MB; the input file is larger),
so neither the stream nor the input join holds a file whole. The receiver only counts what it
accepts: holding 50,000 spans itself, it would be what grows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatspan.backfill.batches import BatchSelection
from chatspan.devserver import DevServer
from chatspan.devserver.batch_seeding import LARGE_LINES
from tests.backfill.batch_kit import detail_receiver, exporter_for, run, window
from tests.devserver.batchkit import Clock, client_for

GROWTH_BOUNDS = {False: 25_000_000, True: 60_000_000}
"""Bytes the process may grow by during the run, capture off and on. Measured: about 12 MB off (the
first sends' buffers), about 32 MB on (the index of 50,000 `custom_id`s lives in memory, the input
lines on disk). Each bound is below the size of the file it guards: the output file (about 43 MB)
with capture off, the input file (larger still) with capture on."""


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
def test_the_large_batch_streams_with_flat_memory(capture: bool, tmp_path: Path) -> None:
    clock = Clock()
    with (
        DevServer(clock=clock, seed_batches=1, seed=1) as server,
        client_for(server, max_retries=2) as client,
        detail_receiver(keep=False) as receiver,
    ):
        (large,) = client.batches.list().data
        assert large.request_counts is not None and large.request_counts.total == LARGE_LINES
        bound = GROWTH_BOUNDS[capture]
        guarded = large.input_file_id if capture else large.output_file_id
        assert guarded is not None
        assert client.files.retrieve(guarded).bytes > bound  # holding that file would break the bound
        samples: list[int] = []

        def sample() -> bool:
            samples.append(_rss())
            return False

        selection = BatchSelection(window(clock).window, batch_id=large.id)
        before = _rss()
        tally = run(
            client, exporter_for(receiver), tmp_path / "cp.json", selection, capture=capture, stop=sample
        )
    assert receiver.accepted == tally.exported == LARGE_LINES + 1
    assert len(samples) == LARGE_LINES // 500 + 1  # after each send of 500, and after the batch
    growth = max(samples) - before
    assert growth < bound, f"grew by {growth / 1e6:.1f} MB"
