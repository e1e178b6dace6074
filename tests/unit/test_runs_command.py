"""spanbench runs: every run with spans, oldest first, with its metadata; `_history` is no run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extract.analyse.duckdb_runner import NoSpansError, list_runs, open_runs
from extract.reports.model import ReportInput, RunMeta
from extract.store.history import history_dir, record_run
from extract.store.run_index import latest_run, summarize_runs
from extract.store.runstore import RunStore
from spanbench.cli.app import app
from spanbench.cli.report_command import ReportError, newest_run
from tests.fake_runs import days, write_run
from tests.unit.reports_fixture import stats

runner = CliRunner()


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    # ids sort the other way round from their start times: the listing follows the times
    write_run(tmp_path, "b-older", [("sql_functions", "q", "sql.q", 1000)] * 3,
              started_at=days(1), commit="1111111111111111")
    write_run(tmp_path, "a-newer", [("task_initialization", "linear_3", "discovery", 5000),
                                    ("e2e_latency", "linear_3", "e2e.workflow", 9000)],
              started_at=days(2), commit="2222222222222222")
    write_run(tmp_path, "collected", [("handler_overhead", "direct", "handler.direct", 10)])
    stamp = days(0).timestamp()
    os.utime(tmp_path / "collected", (stamp, stamp))  # no run.json: its folder's time counts
    (tmp_path / ".spool").mkdir()
    meta = RunMeta("a-newer", days(2), "2222", "x")
    record_run(tmp_path, ReportInput(meta=meta, stats=[stats("e2e_latency", "l", "p", 1.0)]))
    return tmp_path


def test_runs_json_lists_every_run_oldest_first(runs_dir: Path) -> None:
    result = runner.invoke(app, ["runs", "--runs-dir", str(runs_dir), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [run["run_id"] for run in listed] == ["collected", "b-older", "a-newer"]
    assert listed[0]["started_at"] == days(0).isoformat()
    by_id = {run["run_id"]: run for run in listed}
    assert by_id["b-older"] == {
        "run_id": "b-older", "started_at": days(1).isoformat(), "commit": "1111111111111111",
        "suites": ["sql_functions"], "spans": 3,
        "environment": "Reference stack (started by spanbench run)", "run_json": True}
    assert by_id["a-newer"]["suites"] == ["e2e_latency", "task_initialization"]
    assert by_id["a-newer"]["spans"] == 2
    assert by_id["collected"]["run_json"] is False
    assert by_id["collected"]["commit"] is None


def test_runs_table_and_an_empty_dir(runs_dir: Path, tmp_path_factory: pytest.TempPathFactory
                                     ) -> None:
    result = runner.invoke(app, ["runs", "--runs-dir", str(runs_dir)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "b-older" in result.stdout and "1111111111" in result.stdout
    assert result.stdout.index("b-older") < result.stdout.index("a-newer")
    assert "no run.json" in result.stdout
    empty = tmp_path_factory.mktemp("empty")
    result = runner.invoke(app, ["runs", "--runs-dir", str(empty)])
    assert result.exit_code == 0
    assert "no runs with spans" in result.stdout


def test_history_is_never_taken_for_a_run(runs_dir: Path) -> None:
    assert any(history_dir(runs_dir).glob("*.parquet"))
    assert "_history" not in list_runs(runs_dir)
    assert all(run.run_id != "_history" for run in summarize_runs(runs_dir))
    assert latest_run(runs_dir) == "a-newer"
    con = open_runs(runs_dir)  # every run: the history's rows are not spans
    assert con.sql("SELECT count(*) FROM spans").fetchall() == [(6,)]
    with pytest.raises((NoSpansError, ValueError)):
        open_runs(runs_dir, ["_history"])
    result = runner.invoke(app, ["report", "--out", str(runs_dir), "--run", "_history",
                                 "--output-dir", str(runs_dir / "out")])
    assert result.exit_code == 2, result.output
    assert "run id '_history' is not valid" in result.output
    assert not (runs_dir / "out").exists()


def test_a_history_alone_is_no_run(tmp_path: Path) -> None:
    meta = RunMeta("20261101T120000Z-abcdef", days(0), "c", "x")
    record_run(tmp_path, ReportInput(meta=meta, stats=[stats("e2e_latency", "l", "p", 1.0)]))
    assert list_runs(tmp_path) == [] and latest_run(tmp_path) is None
    with pytest.raises(ReportError):
        newest_run(RunStore.at(tmp_path))
