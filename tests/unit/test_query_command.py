"""spanbench query: registry queries and .sql files over runs, named parameters bound as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spanbench.cli.app import app
from tests.fake_runs import days, write_run

runner = CliRunner()

BY_SUITE = """-- spans of one suite longer than a bound
SELECT RunId AS run, Suite AS suite, count(*) AS n, sum(Duration) AS total_ns
FROM spans
WHERE Suite = $suite AND Duration > $longer_than
GROUP BY ALL
ORDER BY run
"""


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    write_run(tmp_path, "old", [("sql_functions", "q", "sql.q", d) for d in (100, 200, 300)],
              started_at=days(1))
    write_run(tmp_path, "new", [("sql_functions", "q", "sql.q", d) for d in (1000, 3000)]
              + [("handler_overhead", "direct", "handler.direct", 7)], started_at=days(2))
    return tmp_path


def _query(runs_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["query", *args, "--runs-dir", str(runs_dir)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sql_file(tmp_path: Path) -> Path:
    path = tmp_path / "by_suite.sql"
    path.write_text(BY_SUITE)
    return path


def test_a_registry_query_by_name_over_the_latest_run(runs_dir: Path) -> None:
    code, out, err = _query(runs_dir, "phase_summary", "--format", "json")
    assert code == 0, err
    rows = {(row["suite"], row["phase"]): row for row in json.loads(out)}
    assert set(rows) == {("sql_functions", "sql.q"), ("handler_overhead", "handler.direct")}
    assert rows["sql_functions", "sql.q"]["n"] == 2  # run "new" ($run_id filled in), not "old"
    assert rows["sql_functions", "sql.q"]["p50_ns"] == pytest.approx(2_000)
    code, out, _ = _query(runs_dir, "phase_summary", "--run", "old", "--format", "json")
    assert [row["n"] for row in json.loads(out)] == [3]


def test_a_file_with_parameters_as_csv_over_several_runs(runs_dir: Path, sql_file: Path
                                                         ) -> None:
    code, out, err = _query(runs_dir, str(sql_file), "--run", "old", "--run", "new",
                            "--param", "suite=sql_functions", "--param", "longer_than=150",
                            "--format", "csv")
    assert code == 0, err
    assert out == "run,suite,n,total_ns\nnew,sql_functions,2,4000\nold,sql_functions,2,500\n"


def test_table_output(runs_dir: Path, sql_file: Path) -> None:
    code, out, _ = _query(runs_dir, str(sql_file), "--param", "suite=sql_functions",
                          "--param", "longer_than=0")
    assert code == 0
    assert "total_ns" in out and "4000" in out and "new" in out


@pytest.mark.parametrize("value", ["x' OR '1'='1", "sql_functions' --", "'; DROP VIEW spans; --"])
def test_a_parameter_value_is_data_never_sql(runs_dir: Path, sql_file: Path, value: str) -> None:
    code, out, err = _query(runs_dir, str(sql_file), "--param", f"suite={value}",
                            "--param", "longer_than=0", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == []
    code, out, _ = _query(runs_dir, str(sql_file), "--param", "suite=sql_functions",
                          "--param", "longer_than=0", "--format", "json")
    assert [row["n"] for row in json.loads(out)] == [2]  # the view is still there


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no query named 'nope'"),
    (["missing.sql"], "cannot read query file missing.sql"),
    (["phase_summary", "--run", "ghost"], "run 'ghost' has no spans"),
    (["phase_summary", "--run", "old", "--run", "new"], "needs --param run_id="),
    (["phase_summary", "--param", "colour=red"], "has no parameter colour"),
    (["phase_summary", "--param", "no-equals"], "is not key=value"),
])
def test_input_problems_exit_2_with_a_reason(runs_dir: Path, args: list[str], message: str
                                             ) -> None:
    code, out, err = _query(runs_dir, *args)
    assert code == 2
    assert message in err
    assert out == ""


def test_a_missing_or_positional_parameter_in_a_file(runs_dir: Path, tmp_path: Path,
                                                     sql_file: Path) -> None:
    code, _, err = _query(runs_dir, str(sql_file), "--param", "suite=sql_functions")
    assert code == 2
    assert "needs --param longer_than=" in err
    positional = tmp_path / "positional.sql"
    positional.write_text("SELECT * FROM spans WHERE Suite = $1")
    code, _, err = _query(runs_dir, str(positional))
    assert code == 2
    assert "positional parameters ($1)" in err
    broken = tmp_path / "broken.sql"
    broken.write_text("SELEC 1")
    code, _, err = _query(runs_dir, str(broken))
    assert code == 2
    assert "does not parse" in err


def test_the_default_run_is_the_newest_spanbench_run_made(tmp_path: Path) -> None:
    write_run(tmp_path, "20261101T120000Z-abcdef", [("sql_functions", "q", "sql.q", 1)] * 4,
              started_at=days(0))
    write_run(tmp_path, "unassigned", [("sql_functions", "q", "sql.q", 1)])  # mtime: now
    code, out, _ = _query(tmp_path, "phase_summary", "--format", "json")
    assert code == 0
    assert [row["n"] for row in json.loads(out)] == [4]


def test_no_runs_at_all(tmp_path: Path) -> None:
    code, _, err = _query(tmp_path, "phase_summary")
    assert code == 2
    assert "no run under" in err
