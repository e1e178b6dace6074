"""The speed probe times fixed work in a child process while a suite runs."""

from __future__ import annotations

import time
from pathlib import Path

from spanbench.runner import speed_probe


def test_the_probe_times_the_work_until_stopped_and_leaves_nothing(tmp_path: Path) -> None:
    watch = speed_probe.start(tmp_path)
    child = watch.child
    assert child is not None
    [out] = tmp_path.iterdir()
    assert out.read_text().split()[0].isdigit()  # its first reading came before start returned
    time.sleep(0.5)  # a reading every 0.1 s
    summary = watch.stop()
    assert summary is not None and summary["readings"] >= 2
    assert 0 < summary["median_ns"] < 1_000_000_000 and summary["mean_ns"] > 0
    # how late its sleeps ended: from the second reading on, never negative, well under a sleep
    assert 0 <= summary["wake_median_ns"] < 100_000_000 and summary["wake_mean_ns"] >= 0
    # the short work after naps: a small fraction of the fixed work (50 of 8 000 iterations)
    assert 0 < summary["nap_median_ns"] < summary["median_ns"] and summary["nap_mean_ns"] > 0
    assert child.poll() is not None  # stopped
    assert list(tmp_path.iterdir()) == []
    assert watch.stop() is None  # once


def test_a_probe_that_cannot_start_reads_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert speed_probe.start(blocked / "under-a-file").stop() is None


def test_a_probe_stopped_after_one_reading_knows_no_wake_up(tmp_path: Path) -> None:
    watch = speed_probe.start(tmp_path)
    summary = watch.stop()  # at once: the first reading only, or a second at most
    assert summary is not None and summary["readings"] >= 1
    assert ("wake_mean_ns" in summary) == (summary["readings"] > 1)
