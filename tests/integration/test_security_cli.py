"""Hostile run ids, baseline names and span attributes through the CLI: refused with a clear
error or treated as data; nothing dropped, nothing written outside the output folders."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extract.store.parquet_store import spans_dir
from tests.fake_runs import write_calls_run
from tests.integration.test_report_command import spanbench

pytestmark = pytest.mark.timeout(120)

RUN = "20261129T220000Z-aaaaaa"
INJECTIONS = ["x'; DROP TABLE spans; --", "../../etc", "/tmp"]
"""Through the CLI (a process each); every kind of bad name: tests/unit/test_security.py."""


def _runs(tmp_path: Path) -> Path:
    runs = tmp_path / ".spanbench" / "runs"
    write_calls_run(runs, RUN, {"linear_3": 10.0})
    return runs


def _sentinel(tmp_path: Path) -> Path:
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("still here")
    return sentinel


def test_report_refuses_hostile_run_ids(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    sentinel = _sentinel(tmp_path)
    for run_id in INJECTIONS:
        result = spanbench("report", "--run", run_id, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "run id" in result.stderr and "is not valid" in result.stderr
    assert sentinel.read_text() == "still here"
    assert list(spans_dir(runs, RUN).glob("part-*.parquet"))  # the real run is intact
    assert not (tmp_path / "tmp").exists()  # no report written


def test_extract_refuses_hostile_run_ids_and_still_reads_the_real_one(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    for run_id in ("x'; DROP TABLE spans; --", "../.spanbench", "/etc"):
        result = spanbench("extract", run_id, cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "is not valid" in result.stderr
    result = spanbench("extract", RUN, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"spans": 32' in result.stdout
    assert list(spans_dir(runs, RUN).glob("part-*.parquet"))


def test_baseline_names_cannot_leave_the_baselines_folder(tmp_path: Path) -> None:
    _runs(tmp_path)
    for args in (("report", "--run", RUN, "--baseline", "../runs"),
                 ("compare", "/tmp/x", RUN),
                 ("run", "--save-baseline", "../../x")):  # refused before anything starts
        result = spanbench(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout + result.stderr)
        assert "is not valid" in result.stderr, (args, result.stderr)
    assert not (tmp_path / ".spanbench" / "baselines").exists()


def test_nul_in_a_baseline_name_is_refused_in_process() -> None:
    from spanbench.cli.report_command import ReportError, baseline_path

    with pytest.raises(ReportError, match="is not valid"):
        baseline_path("x\x00y")


def _rewrite(runs: Path, suite: str, scenario: str) -> None:
    part = next(spans_dir(runs, RUN).glob("part-*.parquet"))
    con = duckdb.connect()
    table = con.sql("SELECT * REPLACE (? AS Suite, ? AS Scenario) FROM read_parquet(?)",
                    params=[suite, scenario, str(part)]).to_arrow_table()
    con.register("rewritten", table)
    con.execute(f"COPY rewritten TO '{part}' (FORMAT parquet)")  # a test's own tmp path


def test_hostile_scenario_names_in_spans_are_data(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    scenario = "x'); COPY (SELECT 1) TO 'PWNED.csv' (FORMAT csv); --"
    _rewrite(runs, "task_initialization", scenario)
    result = spanbench("report", "--run", RUN, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert scenario in result.stdout
    assert not list(tmp_path.rglob("PWNED.csv"))
    assert (tmp_path / "tmp" / "benchmarks" / "latest" / "summary.md").is_file()


def test_a_suite_name_from_spans_cannot_place_a_report_outside(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    _rewrite(runs, "../../../escaped", "linear_3")
    result = spanbench("report", "--run", RUN, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "suite name '../../../escaped' is not valid" in result.stderr
    assert not list(tmp_path.parent.glob("*escaped*"))
    assert not list(tmp_path.rglob("*escaped*"))


def test_export_default_file_names_stay_in_the_output_folder(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    _rewrite(runs, "task_initialization", "../../../escaped")
    result = spanbench("export", "otlp", "--run", RUN, "--scenario", "../../../escaped",
                       "--include-warmup", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "export file name" in result.stderr and "is not valid" in result.stderr
    assert not list(tmp_path.parent.glob("*escaped*")) and not list(tmp_path.rglob("*escaped*"))
