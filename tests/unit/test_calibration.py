"""Thresholds learnt from the history of the same benchmark on the same host."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.analyse.calibration import history_spreads
from extract.reports.model import ReportInput, RunMeta
from extract.store.history import history_path, record_run
from tests.fake_runs import days
from tests.unit.reports_fixture import stats


def _record(runs: Path, day: int, ms: float, host: str | None) -> str:
    run_id = f"2026110{day}T120000Z-00000{day}"
    rows = [stats("event_propagation", "notify_round_trip", "publish", ms),
            stats("sql_functions", "get_next_ready_tasks", "sql.get_next_ready_tasks", ms * 10,
                  variant="1000")]
    record_run(runs, ReportInput(meta=RunMeta(run_id, days(day), "c", "x", host), stats=rows))
    return run_id


def test_the_spread_is_over_the_runs_of_the_same_host(tmp_path: Path) -> None:
    for day, ms in enumerate([1.0, 1.1, 0.9, 1.0, 1.2]):
        _record(tmp_path, day, ms, "here")
    _record(tmp_path, 5, 5.0, "elsewhere")  # another host: not counted
    judged = _record(tmp_path, 6, 9.0, "here")  # the run being judged: not counted
    spreads = history_spreads(tmp_path, judged, "here")
    publish = spreads[("event_propagation", "notify_round_trip", None, "publish")]
    # medians 1.0 1.1 0.9 1.0 1.2: centre 1.0, deviations 0 .1 .1 0 .2 → MAD 0.1
    assert (publish.value, publish.count) == (pytest.approx(0.14826), 5)
    assert publish.basis == "runs of its history"
    sized = spreads[("sql_functions", "get_next_ready_tasks", "1000", "sql.get_next_ready_tasks")]
    assert sized.value == pytest.approx(0.14826)
    assert history_spreads(tmp_path, judged, None) == {}
    assert history_spreads(tmp_path, judged, "nowhere") == {}


def test_too_few_runs_or_hostless_history_calibrate_nothing(tmp_path: Path) -> None:
    _record(tmp_path, 0, 1.0, "here")
    _record(tmp_path, 1, 1.2, "here")
    assert history_spreads(tmp_path, "other", "here") == {}
    old = tmp_path / "old"
    for day in range(4):  # written before hosts were kept: no host column at all
        path = history_path(old, f"r{day}")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"run_id": [f"r{day}"], "started_at": [days(day)],
                                 "suite": ["s"], "scenario": ["x"], "phase": ["p"],
                                 "p50_ns": [1e6 + day]}), path)
    assert history_spreads(old, "r9", "here") == {}
    assert history_spreads(tmp_path / "none", "r9", "here") == {}


def test_a_run_is_judged_on_the_history_before_it(tmp_path: Path) -> None:
    """Judged again later, a run sees what was known when it ran: later runs do not count."""
    for day, ms in enumerate([1.0, 1.1, 0.9, 1.0, 1.2]):
        _record(tmp_path, day, ms, "here")
    judged = _record(tmp_path, 5, 9.0, "here")
    for day, ms in ((6, 5.0), (7, 5.0), (8, 0.2)):  # after the judged run: left out
        _record(tmp_path, day, ms, "here")
    publish = ("event_propagation", "notify_round_trip", None, "publish")
    before = history_spreads(tmp_path, judged, "here", days(5))[publish]
    assert (before.value, before.count) == (pytest.approx(0.14826), 5)
    assert before.largest_move == pytest.approx(0.2)
    assert history_spreads(tmp_path, judged, "here")[publish].count == 8
