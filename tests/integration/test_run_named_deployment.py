"""`spanbench run` against a named deployment: it starts nothing there, migrates nothing, runs
what the deployment allows, and one suite's failure costs that suite alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from typer.testing import CliRunner

from instrument.drivers.base import DriverContext
from spanbench.cli.app import app
from spanbench.runner import job, suites
from spanbench.vocabulary import Phase

RUN_TIMEOUT_S = 180


def _measures(ctx: DriverContext) -> None:
    for iteration in ctx.iterations("direct", 3, 0):
        with ctx.guard(iteration), ctx.recorder.phase(Phase.HANDLER_DIRECT,
                                                      parent=ctx.parent(iteration)):
            pass


def _raises_in_setup(ctx: DriverContext) -> None:
    raise RuntimeError("setup exploded\nsecond line")


def _fake_registry(monkeypatch: pytest.MonkeyPatch,
                   runs: dict[str, Callable[[DriverContext], None]]) -> None:
    registry = {suite: SimpleNamespace(SUITE=suite, SCENARIOS=("direct",), NEEDS=frozenset(),
                                       run=run) for suite, run in runs.items()}
    monkeypatch.setattr(job, "DRIVERS", registry)
    monkeypatch.setattr(suites, "DRIVERS", registry)


def _named_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A deployment named only by a worker URL (no stack is started; nothing is checked)."""
    for name in ("DATABASE_URL", "TASKER_TEST_ORCHESTRATION_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKER_TEST_WORKER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TASKER_TEST_SKIP_HEALTH_CHECK", "1")
    monkeypatch.setenv("SPANBENCH_HOME", str(tmp_path / ".spanbench"))


def test_a_suite_whose_setup_raises_leaves_the_others_running_and_the_reports_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _named_elsewhere(monkeypatch, tmp_path)
    _fake_registry(monkeypatch, {"sql_functions": _raises_in_setup,
                                 "event_propagation": _measures,
                                 "handler_overhead": _measures})
    out = tmp_path / "reports"
    result = CliRunner().invoke(app, ["run", "sql_functions", "event_propagation",
                                      "handler_overhead", "--quick", "--output-dir", str(out)])
    assert result.exit_code == 1, result.output
    assert "❌ sql_functions failed: RuntimeError: setup exploded" in result.output
    assert not (tmp_path / ".spanbench" / "run-stack").exists()  # nothing was started there

    [run_json] = list((tmp_path / ".spanbench" / "runs").glob("*/run.json"))
    recorded = json.loads(run_json.read_text())["suites"]
    probes = {suite: record.pop("probe", None) for suite, record in recorded.items()}
    assert recorded == {
        "sql_functions": {"status": "failed", "reason": "RuntimeError: setup exploded"},
        "event_propagation": {"status": "ran", "reason": ""},
        "handler_overhead": {"status": "ran", "reason": ""}}
    # the speed probe's first reading comes before a suite starts, however short the suite
    assert probes["sql_functions"] is None
    assert probes["event_propagation"]["readings"] >= 1
    assert probes["handler_overhead"]["readings"] >= 1
    results = json.loads((out / "latest" / "results.json").read_text())
    statuses = {doc["benchmark_suite"]: doc["status"] for doc in results["suites"]}
    assert statuses == {"sql_functions": "failed", "event_propagation": "ran",
                        "handler_overhead": "ran"}
    assert "❌ FAILED: RuntimeError: setup exploded" in (
        out / "latest" / "sql_functions.log").read_text()


def test_nothing_runnable_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _named_elsewhere(monkeypatch, tmp_path)
    _fake_registry(monkeypatch, {"sql_functions": _raises_in_setup,
                                 "event_propagation": _raises_in_setup})
    result = CliRunner().invoke(app, ["run", "sql_functions", "event_propagation", "--quick",
                                      "--output-dir", str(tmp_path / "reports")])
    assert result.exit_code == 2, result.output
    assert "❌ event_propagation failed: RuntimeError: setup exploded" in result.output


def _migrations(url: str) -> list[tuple[object, ...]] | None:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass('tasker.schema_migrations')").fetchone()
        if not found or found[0] is None:
            return None
        return conn.execute("SELECT * FROM tasker.schema_migrations ORDER BY 1").fetchall()


def _spanbench_run(home: Path, database_url: str, *suites: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="160", DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "spanbench", "run", *suites, "--quick",
                           "--output-dir", str(home / "reports")], cwd=home.parent,
                          env=environment, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


@pytest.mark.parametrize("schema", ["ours", "none"])
def test_database_url_alone_is_never_migrated_and_runs_only_the_database_suites(
        tmp_path: Path, schema: str, fresh_db: str,
        make_database: Callable[[], str]) -> None:
    url = fresh_db if schema == "ours" else make_database()
    before = _migrations(url)
    home = tmp_path / ".spanbench"
    result = _spanbench_run(home, url, "task_initialization", "event_propagation",
                            "handler_overhead")
    output = result.stdout + result.stderr
    assert _migrations(url) == before  # created or changed by nobody
    assert not (home / "run-stack").exists()
    assert "⚠️  task_initialization: skipped: needs an orchestration API and workers" in output
    assert "set TASKER_TEST_ORCHESTRATION_URL" in output
    [run_json] = list((home / "runs").glob("*/run.json"))
    recorded = json.loads(run_json.read_text())["suites"]
    assert recorded["task_initialization"]["status"] == "skipped"
    assert recorded["handler_overhead"]["status"] == "ran"
    if schema == "ours":
        assert result.returncode == 0, output
        assert recorded["event_propagation"]["status"] == "ran"
    else:  # no PGMQ there: the suite that needs it cannot run, the rest still does
        assert result.returncode == 1, output
        assert "❌ event_propagation: cannot run: PGMQ installed: no pgmq schema" in output
        assert recorded["event_propagation"]["status"] == "failed"
