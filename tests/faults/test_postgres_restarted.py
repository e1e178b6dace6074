"""PostgreSQL stopped and started again mid-run: the stack reconnects, the run finishes, and the
iteration that met the outage is an error span, noted, and kept out of the statistics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from stack.local import postgres
from tests.faults.harness import (
    FAULT_LINE,
    ITERATIONS,
    SAMPLES,
    FaultRun,
    account,
    assert_nothing_lost,
    point,
    report,
)

SCENARIO = "linear_4"
AFFECTED = 1  # the first measured iteration (index 0 is the warm-up)


def test_postgres_restarted_mid_run(fault_home: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    down_at, up_at = point(SCENARIO, AFFECTED), point(SCENARIO, AFFECTED + 1)
    cluster_home = fault_home / "run-stack"
    run = FaultRun(fault_home, tmp_path, [down_at, up_at], timeout_s=8)
    try:
        run.wait_paused(down_at)
        assert postgres.stop(cluster_home), "the run's PostgreSQL was not running"
        run.resume(down_at)  # this iteration meets a stack without its database
        run.wait_paused(up_at)
        postgres.ensure_started(cluster_home)
        run.wait_stack_healthy()
        run.resume(up_at)
        finished = run.finish()
    finally:
        run.stop()

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    [failure] = finished.failures()
    assert (failure["scenario"], failure["index"]) == (SCENARIO, AFFECTED), failure
    assert finished.workflows() == (ITERATIONS - 1, ITERATIONS)
    [(status, message)] = finished.sql(
        "SELECT StatusCode, StatusMessage FROM spans WHERE SpanName = 'e2e.workflow' "
        "AND Scenario = $scenario AND Iteration = $index",
        {"scenario": SCENARIO, "index": AFFECTED})
    assert status == "Error" and message, (status, message)
    [(good_ns,)] = finished.sql(
        "SELECT Duration FROM spans WHERE SpanName = 'e2e.workflow' AND Scenario = $scenario "
        "AND NOT Warmup AND StatusCode <> 'Error'", {"scenario": SCENARIO})

    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    [row] = [r for suite in results["suites"] for r in suite["measurements"]
             if r["name"] == f"{SCENARIO}/e2e.workflow"]
    assert (row["n"], row["errors"]) == (SAMPLES - 1, 1), row
    assert abs(row["mean_ms"] - good_ns / 1e6) < 1e-3, (row, good_ns)  # the error is not averaged
    accounting = account(finished)
    line = report("postgres_restart", f"pg_ctl stop before {down_at}, start before {up_at}",
                  finished, accounting, errors_noted=len(finished.failures()),
                  excluded_from_stats=row["errors"], error=repr(failure["error"][:60]))
    record_property(FAULT_LINE, line)
    assert_nothing_lost(accounting, processes=4)
