"""`spanbench run` as a user runs it: it starts what it needs, measures, summarises, stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest

from stack.local import postgres
from tests.otlp_capture import OtlpCapture


def _spanbench(*args: str, home: Path, env: dict[str, str] | None = None,
               timeout: float = 240) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="120", **(env or {}))
    return subprocess.run([sys.executable, "-m", "spanbench", *args], cwd=home.parent,
                          env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.mark.full_run
def test_a_quick_run_measures_summarises_and_stops_everything(
        tmp_path: Path, otlp_capture: OtlpCapture) -> None:
    home = tmp_path / ".spanbench"
    result = _spanbench("run", "task_initialization", "event_propagation", "--quick",
                        "--tee-otlp", otlp_capture.endpoint, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✅ All prerequisites met" in result.stdout
    assert "task_initialization (warm-up excluded)" in result.stdout
    assert ("task_initialization: set off by the suite, not its measurement"
            in result.stdout)  # the workers run the tasks it creates
    assert "task_initialization: whole suite" in result.stdout

    [run_dir] = [p for p in (home / "runs").iterdir() if (p / "run.json").exists()]
    metadata = json.loads((run_dir / "run.json").read_text())
    assert metadata["config"]["quick"] is True
    assert metadata["database"]["settings"]["fsync"] == "on"
    assert metadata["finished_at"] and not metadata["interrupted"]
    phases = dict(duckdb.sql(
        f"SELECT Phase, count(*) FROM read_parquet('{run_dir}/spans/*.parquet') "
        "WHERE NOT Warmup GROUP BY Phase").fetchall())
    assert phases["api.create_task"] == 6
    assert phases["notify"] == 6
    assert {"task.initialize", "discovery", "publish", "claim", "execute", "submit"} <= set(phases)
    stored = {row[0] for row in duckdb.sql(
        f"SELECT SpanId FROM read_parquet('{run_dir}/spans/*.parquet')").fetchall()}
    teed = {span.span_id for span in otlp_capture.received()}  # the sink drained it on exit
    assert stored and stored <= teed  # --tee-otlp: every stored span went to the extra endpoint

    assert not (home / "run-stack" / "stack.json").exists()
    assert not postgres.is_running(home / "run-stack")
    with pytest.raises(httpx.ConnectError):  # the run's sink is gone
        httpx.get(metadata["deployment"]["otlp_endpoint"] + "/status", timeout=2)
    postgres.remove(home / "run-stack")


def test_a_missing_prerequisite_exits_2_before_any_timing(tmp_path: Path) -> None:
    home = tmp_path / ".spanbench"
    result = _spanbench("run", "task_initialization", home=home,
                        env={"TASKER_TEST_ORCHESTRATION_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "⚠️  Database reachable: DATABASE_URL is not set" in result.stdout
    assert "❌ Orchestration healthy" in result.stdout
    assert "⚠️  task_initialization: skipped: needs a database" in result.stdout
    assert not list(home.glob("runs/*/run.json"))


def test_an_unknown_suite_is_named(tmp_path: Path) -> None:
    result = _spanbench("run", "no_such_suite", home=tmp_path / ".spanbench")
    assert result.returncode == 2
    assert "no_such_suite" in result.stderr
