"""A workflow stalled (one step sleeps past the per-workflow timeout): the timeout fires, the
iteration is an error span and a noted failure kept out of the statistics, the run goes on,
and its summary says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
STALLED = 1
TIMEOUT_S = 5.0
STALL_MS = 8_000


def test_a_stalled_workflow_times_out_and_the_run_goes_on(fault_home: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    at = point(SCENARIO, STALLED)
    run = FaultRun(fault_home, tmp_path, [at], timeout_s=TIMEOUT_S)
    try:
        run.wait_paused(at)
        (run.fault_dir / "stall-next-step.json").write_text(json.dumps({"ms": STALL_MS}))
        run.resume(at)
        stalled = run.wait_file("stall-taken.json", timeout_s=30)
        finished = run.finish()
    finally:
        run.stop()

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    [failure] = finished.failures()
    assert (failure["scenario"], failure["index"]) == (SCENARIO, STALLED), failure
    assert failure["error"].startswith("IterationTimeout"), failure
    assert f"e2e_latency: 1 failed iteration(s); first: {SCENARIO}#{STALLED}: IterationTimeout" \
        in " ".join(finished.stdout.split())
    assert finished.workflows() == (ITERATIONS - 1, ITERATIONS)
    [(status, duration_ns)] = finished.sql(
        "SELECT StatusCode, Duration FROM spans WHERE SpanName = 'e2e.workflow' "
        "AND Scenario = $scenario AND Iteration = $index",
        {"scenario": SCENARIO, "index": STALLED})
    assert status == "Error"
    assert TIMEOUT_S * 1e9 <= duration_ns < STALL_MS * 1e6, duration_ns  # cut at the timeout

    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    [row] = [r for suite in results["suites"] for r in suite["measurements"]
             if r["name"] == f"{SCENARIO}/e2e.workflow"]
    assert (row["n"], row["errors"]) == (SAMPLES - 1, 1), row
    assert row["mean_ms"] < TIMEOUT_S * 1000, row
    accounting = account(finished)
    line = report("workflow_stall", f"step {stalled['step_name']} of {at} stalled {STALL_MS} ms "
                  f"(timeout {TIMEOUT_S:.0f} s)", finished, accounting,
                  timed_out=len(finished.failures()), excluded_from_stats=row["errors"])
    record_property(FAULT_LINE, line)
    assert_nothing_lost(accounting, processes=4)
