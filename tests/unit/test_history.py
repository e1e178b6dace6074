"""The run history: one Parquet file per run, written atomically; trends and where changes began."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.analyse.trend import load_trend
from extract.reports.model import ReportInput, RunMeta
from extract.store import history
from extract.store.history import history_glob, history_path, record_run
from extract.store.runstore import RunStore
from spanbench.cli.report_command import record_history
from tests.fake_runs import days, reported_run_record, write_run_json
from tests.unit.reports_fixture import MS, stats

EXPECTED_SCHEMA = [
    ("run_id", "VARCHAR"), ("started_at", "TIMESTAMP WITH TIME ZONE"), ("git_commit", "VARCHAR"),
    ("host", "VARCHAR"), ("suite", "VARCHAR"), ("scenario", "VARCHAR"), ("phase", "VARCHAR"),
    ("n", "BIGINT"),
    ("mean_ns", "DOUBLE"), ("p50_ns", "DOUBLE"), ("p95_ns", "DOUBLE"), ("p99_ns", "DOUBLE"),
]


def _report(run_id: str, day: int, rows: Sequence[object], commit: str = "c0ffee") -> ReportInput:
    return ReportInput(meta=RunMeta(run_id, days(day), commit, "x"), stats=rows)


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_a_run_is_kept_with_the_exact_schema_in_ns_unrounded(tmp_path: Path) -> None:
    small = stats("e2e_latency", "linear_3", "e2e.workflow", 17.748123, n=10)
    big = stats("task_initialization", "linear_3", "discovery", 1.2345678, n=200,
                p99_ns=1.5 * MS)
    sized = stats("sql_functions", "get_next_ready_tasks", "sql.get_next_ready_tasks", 0.5,
                  variant="10k")
    empty = stats("worker_execution", "noop", "claim", float("nan"), n=0, p50_ns=float("nan"))
    path = record_run(tmp_path, _report("20261101T120000Z-aaaaaa", 0, [small, big, sized, empty],
                                        commit="unknown"))
    assert path == tmp_path / "_history" / "20261101T120000Z-aaaaaa.parquet"
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{history_glob(tmp_path)}')")
    assert [(name, kind) for name, kind, *_ in described.fetchall()] == EXPECTED_SCHEMA
    rows = {row["phase"]: row for row in _rows(path)}
    assert set(rows) == {"e2e.workflow", "discovery", "sql.get_next_ready_tasks"}  # n = 0 left out
    assert rows["e2e.workflow"]["mean_ns"] == small.mean_ns
    assert rows["e2e.workflow"]["p50_ns"] == small.p50_ns
    assert rows["e2e.workflow"]["p95_ns"] is None and rows["e2e.workflow"]["p99_ns"] is None
    assert rows["discovery"]["p95_ns"] == big.p95_ns and rows["discovery"]["p99_ns"] == 1.5 * MS
    assert rows["discovery"]["n"] == 200
    assert rows["sql.get_next_ready_tasks"]["scenario"] == "get_next_ready_tasks+10k"
    assert {row["git_commit"] for row in rows.values()} == {None}
    assert {row["started_at"] for row in rows.values()} == {days(0)}


def test_recording_a_run_again_replaces_its_file(tmp_path: Path) -> None:
    record_run(tmp_path, _report("r1", 0, [stats("e2e_latency", "a", "p", 10.0),
                                           stats("e2e_latency", "b", "p", 20.0)]))
    record_run(tmp_path, _report("r2", 1, [stats("e2e_latency", "a", "p", 11.0)]))
    record_run(tmp_path, _report("r1", 0, [stats("e2e_latency", "a", "p", 12.0)]))
    assert sorted(p.name for p in (tmp_path / "_history").iterdir()) == ["r1.parquet",
                                                                         "r2.parquet"]
    assert [(r["scenario"], r["p50_ns"]) for r in _rows(history_path(tmp_path, "r1"))] == [
        ("a", 12.0 * MS)]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    path = record_run(tmp_path, _report("r1", 0, [stats("e2e_latency", "a", "p", 10.0)]))

    def half_written(table: object, sink: object, **kw: object) -> None:
        sink.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(history.pq, "write_table", half_written)
    with pytest.raises(OSError, match="disk full"):
        record_run(tmp_path, _report("r1", 0, [stats("e2e_latency", "a", "p", 99.0)]))
    assert [p.name for p in path.parent.iterdir()] == ["r1.parquet"]
    assert [r["p50_ns"] for r in _rows(path)] == [10.0 * MS]


def test_a_run_id_cannot_escape_the_history(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not valid"):
        record_run(tmp_path, _report("../evil", 0, []))


def _history_of(tmp_path: Path, series: dict[tuple[str, str], Sequence[float]]) -> None:
    """One run per day; run ids sort against time, so order must come from started_at."""
    runs = max(len(values) for values in series.values())
    for day in range(runs):
        rows = [stats(suite, scenario, "phase", values[day])
                for (suite, scenario), values in series.items() if day < len(values)]
        record_run(tmp_path, _report(f"run-{runs - day:02d}", day, rows, commit=f"c{day}"))


def _flags(tmp_path: Path, suite: str, scenario: str) -> list[bool]:
    return [row.change_began for row in load_trend(tmp_path, suite, scenario)]


STEP = [100, 103, 98, 101, 99, 120, 121, 118, 120, 122]
NOISY = [100, 104, 97, 103, 96, 102, 99, 104, 97, 101]
SPIKE = [100, 101, 99, 140, 100, 99, 101, 100, 102, 100]


def test_a_step_is_flagged_where_it_began_and_noise_is_not(tmp_path: Path) -> None:
    _history_of(tmp_path, {("e2e_latency", "step"): STEP, ("e2e_latency", "noisy"): NOISY,
                           ("e2e_latency", "spike"): SPIKE,
                           ("e2e_latency", "faster"): [100, 101, 99, 80, 81, 79]})
    assert _flags(tmp_path, "e2e_latency", "step") == [i == 5 for i in range(10)]
    assert not any(_flags(tmp_path, "e2e_latency", "noisy"))
    assert not any(_flags(tmp_path, "e2e_latency", "spike"))  # one run, not confirmed
    faster = load_trend(tmp_path, "e2e_latency", "faster")
    assert [row.change_began for row in faster] == [False, False, False, True, False, False]
    assert faster[3].direction == -1 and faster[3].change == pytest.approx(-0.2)
    step = load_trend(tmp_path, "e2e_latency", "step")
    assert [row.median_ns / MS for row in step] == STEP  # ordered by started_at
    assert [row.git_commit for row in step] == [f"c{day}" for day in range(10)]
    assert step[5].reference_ns == 100 * MS  # median of the 5 runs before
    assert step[5].threshold == 0.05


def test_the_sql_suite_has_its_wider_threshold(tmp_path: Path) -> None:
    ten_percent = [100, 101, 99, 110, 111, 110]
    _history_of(tmp_path, {("sql_functions", "ten"): ten_percent,
                           ("sql_functions", "twenty"): [100, 101, 99, 120, 121, 120],
                           ("e2e_latency", "ten"): ten_percent})
    assert not any(_flags(tmp_path, "sql_functions", "ten"))
    assert _flags(tmp_path, "sql_functions", "twenty") == [False] * 3 + [True, False, False]
    assert _flags(tmp_path, "e2e_latency", "ten") == [False] * 3 + [True, False, False]
    assert {row.threshold for row in load_trend(tmp_path, "sql_functions")} == {0.15}


def test_the_newest_run_off_its_reference_waits_for_confirmation(tmp_path: Path) -> None:
    _history_of(tmp_path, {("e2e_latency", "jump"): [100, 100, 101, 130]})
    newest = load_trend(tmp_path, "e2e_latency", "jump")[-1]
    assert newest.change_began is False and newest.direction == 1


def test_filters_and_variants(tmp_path: Path) -> None:
    record_run(tmp_path, _report("r1", 0, [
        stats("sql_functions", "get_step_readiness_status", "sql.x", 1.0, variant="1k"),
        stats("sql_functions", "get_step_readiness_status", "sql.x", 2.0, variant="10k"),
        stats("sql_functions", "get_step_readiness", "sql.y", 3.0),
        stats("e2e_latency", "linear_3", "e2e.workflow", 4.0)]))
    assert {row.suite for row in load_trend(tmp_path)} == {"sql_functions", "e2e_latency"}
    assert [row.scenario for row in load_trend(tmp_path, "sql_functions",
                                               "get_step_readiness_status")] == [
        "get_step_readiness_status+10k", "get_step_readiness_status+1k"]
    assert load_trend(tmp_path, "task_initialization") == []
    assert load_trend(tmp_path / "elsewhere") == []


def test_history_written_with_the_old_size_spelling_reads_back_with_plus(tmp_path: Path) -> None:
    path = record_run(tmp_path, _report("r1", 0, [
        stats("sql_functions", "get_next_ready_tasks", "sql.x", 1.0, variant="1000"),
        stats("e2e_latency", "linear_4", "e2e.workflow", 2.0)]))
    table = pq.read_table(path)
    old = [name.replace("+", "@") for name in table.column("scenario").to_pylist()]
    pq.write_table(table.set_column(table.schema.get_field_index("scenario"), "scenario",
                                    pa.array(old, pa.string())), path)
    record_run(tmp_path, _report("r2", 1, [
        stats("e2e_latency", "linear_4@c8", "e2e.workflow", 3.0)]))
    assert {row.scenario for row in load_trend(tmp_path)} == {
        "get_next_ready_tasks+1000", "linear_4", "linear_4@c8"}
    assert [row.run_id for row in load_trend(tmp_path, "e2e_latency", "linear_4")] == [
        "r1", "r2"]


def test_a_noisy_benchmark_gets_a_bar_as_wide_as_its_spread(tmp_path: Path) -> None:
    noisy = [100, 108, 92, 106, 94, 104, 96, 100]  # MAD 5 around 100: spread 7.4%, bar 22%
    _history_of(tmp_path, {("e2e_latency", "small"): [*noisy, 112, 113, 112],
                           ("e2e_latency", "large"): [*noisy, 140, 141, 139]})
    small = load_trend(tmp_path, "e2e_latency", "small")
    assert not any(row.change_began for row in small)  # +12% twice: beyond 5%, within 22%
    assert (small[8].spread, small[8].spread_runs) == (pytest.approx(1.4826 * 5 / 100), 8)
    assert small[8].threshold == pytest.approx(3 * 1.4826 * 0.05)
    assert small[2].spread is None and small[2].threshold == 0.05  # two runs before: no spread
    assert _flags(tmp_path, "e2e_latency", "large") == [i == 8 for i in range(11)]


def test_runs_are_judged_against_runs_of_the_same_host(tmp_path: Path) -> None:
    for day, (host, ms) in enumerate([("a", 100), ("a", 101), ("a", 99), ("b", 130),
                                      ("b", 131), ("b", 129), ("a", 100)]):
        meta = RunMeta(f"run-{day}", days(day), "c", "x", host)
        record_run(tmp_path, ReportInput(meta=meta, stats=[stats("e2e_latency", "x", "p", ms)]))
    rows = load_trend(tmp_path, "e2e_latency", "x")
    assert not any(row.change_began for row in rows)
    assert [row.reference_ns and row.reference_ns / MS for row in rows] == [
        None, 100, 100.5, None, 130, 130.5, 100]


def test_a_suite_run_while_the_machine_was_busy_is_not_kept(tmp_path: Path) -> None:
    """Its medians measured the machine as much as the code: kept, they would widen the bars
    the gate learns from the history and could mark a change in the trend."""
    run_id = "20261101T120000Z-bbbbbb"
    record = reported_run_record(run_id, days(0))
    record["suites"] = {
        "e2e_latency": {"status": "ran", "reason": "", "machine": {"cpu_steal": 0.002}},
        "task_initialization": {"status": "ran", "reason": "",
                                "machine": {"cpu_steal": 0.001, "cpu_foreign": 0.03}}}
    write_run_json(tmp_path, run_id, record)
    report = _report(run_id, 0, [stats("e2e_latency", "linear_3", "e2e.workflow", 17.0),
                                 stats("task_initialization", "linear_3", "discovery", 1.2)])
    path = record_history(RunStore.at(tmp_path), report)
    assert path is not None
    assert [row["suite"] for row in _rows(path)] == ["e2e_latency"]
