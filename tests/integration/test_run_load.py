"""`spanbench run e2e_latency --concurrency N` as a user runs it: levels named apart, throughput
printed and kept in run.json, the seed's targets left to the one-at-a-time scenarios."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from stack.local import postgres

pytestmark = pytest.mark.full_run


def test_a_closed_loop_run_reports_and_stores_throughput_per_level(tmp_path: Path) -> None:
    home = tmp_path / ".spanbench"
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="160")
    result = subprocess.run(
        [sys.executable, "-m", "spanbench", "run", "e2e_latency", "--concurrency", "4",
         "--samples", "4", "--warmup", "2", "--output-dir", str(tmp_path / "reports")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr  # no target applies: no fail
    assert "e2e_latency throughput (warm-up excluded)" in result.stdout
    assert "NO DATA" in result.stdout  # the seed's targets: for one workflow at a time

    [run_dir] = [p for p in (home / "runs").iterdir() if (p / "run.json").exists()]
    metadata = json.loads((run_dir / "run.json").read_text())
    assert metadata["config"]["load"]["level"] == "c4"
    rows = {row["scenario"]: row for row in metadata["throughput"]}
    assert set(rows) == {"linear_3@c4", "linear_4@c4", "diamond_4@c4", "tree_7@c4",
                         "complex_dag_7@c4"}
    for scenario, row in rows.items():
        assert (row["completed"], row["errors"], row["concurrency"]) == (4, 0, 4), scenario
        assert row["throughput_per_s"] > 0 and row["late_starts"] is None
        assert f"│ {scenario}" in result.stdout
    roots = duckdb.sql(
        f"SELECT Scenario, count(*), min(SpanAttributes['bench.concurrency']) "
        f"FROM read_parquet('{run_dir}/spans/*.parquet') WHERE SpanName = 'e2e.workflow' "
        "GROUP BY 1").fetchall()
    assert sorted(roots) == sorted((scenario, 6, "4") for scenario in rows)
    postgres.remove(home / "run-stack")
