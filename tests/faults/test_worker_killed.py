"""A worker SIGKILLed mid-step: the step's message comes back after its visibility timeout, the
other worker finishes it, every workflow completes and the step's result is recorded once."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import psycopg

from stack.local import postgres
from tests.faults.harness import FAULT_LINE, ITERATIONS, FaultRun, account, point, report

VISIBILITY_TIMEOUT_S = "2"


def _step_history(home: Path, step_uuid: str) -> tuple[list[str], int, object]:
    info = postgres.ensure_started(home / "run-stack")
    try:
        with psycopg.connect(info.database_url) as conn:
            states = [row[0] for row in conn.execute(
                "SELECT to_state FROM tasker.workflow_step_transitions "
                "WHERE workflow_step_uuid = %s ORDER BY sort_key", (step_uuid,))]
            attempts, results = conn.execute(
                "SELECT attempts, results FROM tasker.workflow_steps "
                "WHERE workflow_step_uuid = %s", (step_uuid,)).fetchone() or (0, None)
    finally:
        postgres.stop(home / "run-stack")
    return states, int(attempts), results


def test_a_worker_killed_mid_step(fault_home: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    at = point("linear_4", 2)  # an even iteration: the stack traces it
    run = FaultRun(fault_home, tmp_path, [at],
                   env={"SPANBENCH_VISIBILITY_TIMEOUT_S": VISIBILITY_TIMEOUT_S})
    try:
        run.wait_paused(at)
        (run.fault_dir / "stall-next-step.json").write_text('{"ms": 60000}')
        run.resume(at)
        stalled = run.wait_file("stall-taken.json", timeout_s=30)
        os.kill(stalled["pid"], signal.SIGKILL)
        finished = run.finish()
    finally:
        run.stop()

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert finished.failures() == []
    assert finished.workflows() == (ITERATIONS, ITERATIONS)
    states, attempts, results = _step_history(fault_home, stalled["step_uuid"])
    assert states == ["pending", "enqueued", "in_progress", "in_progress",
                      "enqueued_for_orchestration", "complete"], states
    assert attempts == 2
    assert results is not None
    per_phase = dict(finished.sql(
        "SELECT SpanName, count(*) FROM spans WHERE SpanAttributes['step_uuid'] = $step "
        "AND NOT bench_derived(SpanAttributes) GROUP BY 1", {"step": stalled["step_uuid"]}))
    assert per_phase.get("submit") == 1 and per_phase.get("result.process") == 1, per_phase
    accounting = account(finished)
    line = report("worker_sigkill", f"SIGKILL worker-{stalled['worker_id']} (pid {stalled['pid']}) "
                  f"mid-step {stalled['step_name']}", finished, accounting,
                  step_completions=states.count("complete"), step_attempts=attempts,
                  step_submits=per_phase["submit"],
                  step_results_processed=per_phase["result.process"],
                  killed_process_spans=accounting.unaccounted_rows)
    record_property(FAULT_LINE, line)
    # the driver, the orchestration and the surviving worker account for every span;
    # the killed worker's unexported spans died with it and it left no counts
    assert len(accounting.processes) == 3, accounting
    for process in accounting.processes:
        assert process.dropped == 0 and process.acknowledged == process.emitted, process
        assert process.in_parquet == process.emitted, process
    assert accounting.lost == 0
