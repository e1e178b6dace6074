"""e2e_throughput counts completed workflows over the measured window, per load level; load
levels stay apart from the seed's scenarios in the targets and the e2e templates."""

from __future__ import annotations

import duckdb
import pytest

import queries
from extract.analyse.analysis import Target, check_targets
from queries import macros
from tests.unit.reports_fixture import stats

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def _roots(conn: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """rows: (scenario, start ms, duration ms, warmup, status, attributes)."""
    conn.execute("""CREATE TABLE spans (Timestamp TIMESTAMP_NS, Duration BIGINT, SpanName VARCHAR,
                    RunId VARCHAR, Suite VARCHAR, Scenario VARCHAR, Warmup BOOLEAN,
                    StatusCode VARCHAR, SpanAttributes MAP(VARCHAR, VARCHAR))""")
    conn.executemany(
        "INSERT INTO spans VALUES (make_timestamp_ns(?), ?, ?, 'r', 'e2e_latency', ?, ?, ?, ?)",
        [(T0 + start * MS, duration * MS, name, scenario, warmup, status, attributes)
         for scenario, start, duration, warmup, status, attributes, name in
         [(*row, "e2e.workflow") for row in rows]
         + [("linear_4@c2", 0, 5000, False, "Unset", {}, "api.create_task")]])


def test_throughput_is_completed_roots_over_the_measured_window() -> None:
    conn = macros.define(duckdb.connect())
    closed = {"bench.concurrency": "2"}
    rows = [("linear_4@c2", -500, 100, True, "Unset", closed)]  # warm-up: outside the window
    rows += [("linear_4@c2", start, 100, False, "Unset", closed) for start in (0, 0, 100, 100)]
    rows += [("linear_4@c2", 200, 200, False, "Error", closed)]  # in the window, not completed
    rows += [("linear_4@r10", start, 50, False, "Unset",
              {"bench.arrival_rate": "10.0", "bench.start_lag_ns": str(lag)})
             for start, lag in ((0, 0), (100, 999_999), (200, 1_000_000), (300, 7 * MS))]
    _roots(conn, rows)
    result = conn.execute(queries.load()["e2e_throughput"].sql,
                          {"run_id": "r", "late_ns": MS}).fetchall()
    closed_row, open_row = result
    assert closed_row[:6] == ("linear_4@c2", 2, None, 4, 1, 400 * MS)
    assert closed_row[6] == pytest.approx(10.0)  # 4 completed in 0.4 s
    assert closed_row[7:] == (None, None)
    assert open_row[:6] == ("linear_4@r10", None, 10.0, 4, 0, 350 * MS)
    assert open_row[6] == pytest.approx(4 / 0.35)
    assert open_row[7:] == (2, 7 * MS)


def test_targets_of_every_scenario_skip_load_levels_unless_named() -> None:
    rows = [stats("e2e_latency", name, "e2e.workflow", mean=400.0) for name in
            ("linear_4", "linear_4@c8")]
    every = Target("e2e_latency", None, "e2e.workflow", "mean", 500, "all", None)
    named = Target("e2e_latency", "linear_4", "e2e.workflow", "mean", 500, "one", None)
    level = Target("e2e_latency", "linear_4@c8", "e2e.workflow", "mean", 300, "loaded", None)
    checks = check_targets(rows, [every, named, level])
    assert [(c.target.label, c.scenario, c.status) for c in checks] == [
        ("all", "linear_4", "pass"), ("one", "linear_4", "pass"),
        ("loaded", "linear_4@c8", "fail")]
