"""spanbench trend, and the history that spanbench report / run record through publish."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from extract.reports.model import ReportInput, RunMeta
from extract.store.history import history_path, record_run
from extract.store.runstore import RunStore
from spanbench.cli.app import app
from spanbench.cli.report_command import publish
from tests.fake_runs import days, write_run, write_run_json
from tests.unit.reports_fixture import sample_report, stats

runner = CliRunner()

MEDIANS = [10.0, 10.2, 9.9, 10.1, 13.0, 13.1, 12.9]


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    for day, median in enumerate(MEDIANS):
        rows = [stats("e2e_latency", "linear_3", "e2e.workflow", median),
                stats("sql_functions", "get_next_ready_tasks", "sql.get_next_ready_tasks",
                      0.5, variant="1k")]
        meta = RunMeta(f"2026110{day}T120000Z-00000{day}", days(day), f"{day:02d}abcdef0123", "x")
        record_run(tmp_path, ReportInput(meta=meta, stats=rows))
    return tmp_path


def _trend(runs_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["trend", *args, "--runs-dir", str(runs_dir)],
                           env={"COLUMNS": "160"})
    return result.exit_code, result.stdout, result.stderr


def test_the_table_marks_the_run_where_the_change_began(runs_dir: Path) -> None:
    code, out, err = _trend(runs_dir, "e2e_latency/linear_3")
    assert code == 0, err
    lines = [line for line in out.splitlines() if "2026-11-" in line]
    assert len(lines) == len(MEDIANS)
    marked = [line for line in lines if "change began" in line]
    assert marked == [lines[4]]
    assert "▲ change began (+29.4%)" in lines[4]
    assert "04abcdef01" in lines[4] and "13.00 ms" in lines[4] and "2026-11-05 12:00" in lines[4]
    assert "get_next_ready_tasks" not in out


def test_json_and_a_scenario_with_variants(runs_dir: Path) -> None:
    code, out, _ = _trend(runs_dir, "sql_functions/get_next_ready_tasks", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == len(MEDIANS)
    assert {row["scenario"] for row in rows} == {"get_next_ready_tasks+1k"}
    assert not any(row["change_began"] for row in rows)
    assert rows[0]["median_ns"] == 0.5e6 and rows[0]["started_at"] == days(0).isoformat()
    code, out, _ = _trend(runs_dir, "--format", "json")
    assert [row["run_id"] for row in json.loads(out) if row["change_began"]] == [
        "20261104T120000Z-000004"]


def test_no_history_or_no_such_benchmark_exits_2(runs_dir: Path, tmp_path_factory:
                                                 pytest.TempPathFactory) -> None:
    code, _, err = _trend(tmp_path_factory.mktemp("empty"))
    assert code == 2 and "no history" in err
    code, _, err = _trend(runs_dir, "worker_execution")
    assert code == 2 and "no history of worker_execution" in err


def test_publish_records_the_run_unless_it_was_quick(tmp_path: Path) -> None:
    report = sample_report()
    quiet = Console(file=io.StringIO())
    publish(quiet, quiet, report, store=RunStore.at(tmp_path), output_dir=tmp_path / "out")
    path = history_path(tmp_path, report.meta.run_id)
    assert path.is_file()
    path.unlink()
    write_run_json(tmp_path, report.meta.run_id, {"config": {"quick": True}})
    publish(quiet, quiet, report, store=RunStore.at(tmp_path), output_dir=tmp_path / "out")
    assert not path.exists()


def test_spanbench_report_records_the_history(tmp_path: Path) -> None:
    run_id = "20261101T120000Z-abcdef"
    write_run(tmp_path, run_id, [("task_initialization", "linear_3", "discovery", d)
                                 for d in range(1000, 26000, 1000)],
              started_at=days(0), commit="feedface")
    result = runner.invoke(app, ["report", "--out", str(tmp_path),
                                 "--output-dir", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output
    [row] = json.loads(runner.invoke(
        app, ["trend", "--runs-dir", str(tmp_path), "--format", "json"]).stdout)
    assert (row["run_id"], row["phase"], row["n"], row["median_ns"], row["git_commit"]) == (
        run_id, "discovery", 25, 13000.0, "feedface")


def test_the_newest_run_off_its_reference_is_marked_unconfirmed(tmp_path: Path) -> None:
    for day, median in enumerate([10.0, 10.1, 9.9, 12.0]):
        meta = RunMeta(f"2026110{day}T120000Z-00000{day}", days(day), "c", "x")
        record_run(tmp_path, ReportInput(
            meta=meta, stats=[stats("e2e_latency", "tree_7", "e2e.workflow", median)]))
    code, out, _ = _trend(tmp_path, "e2e_latency")
    assert code == 0
    lines = [line for line in out.splitlines() if "2026-11-" in line]
    assert "change began" not in out
    assert "? +20.0%, unconfirmed until the next run" in lines[-1]
    assert all("?" not in line for line in lines[:-1])
