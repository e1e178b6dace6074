"""The run's sink started with a tiny memory bound: it answers 503 + Retry-After while its
backlog is full, the exporters retry, and nothing is dropped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.faults.harness import (
    FAULT_LINE,
    ITERATIONS,
    FaultRun,
    account,
    assert_nothing_lost,
    report,
)

BOUND_BYTES = 1
"""Past the first spooled request, everything waits until its segment is in Parquet."""


def test_sink_memory_bound_full(fault_home: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    run = FaultRun(fault_home, tmp_path, env={
        "SPANBENCH_SINK_MAX_BACKLOG_BYTES": str(BOUND_BYTES),
        "SPANBENCH_SINK_SEGMENT_AGE_S": "0.3",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    })
    try:
        finished = run.finish()
    finally:
        run.stop()

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    status = finished.metadata["sink"]["status_at_end_of_suites"]
    assert status["max_backlog_bytes"] == BOUND_BYTES
    overloaded = status["requests"].get("overloaded", 0)
    assert overloaded > 0, status
    assert finished.workflows() == (ITERATIONS, ITERATIONS)
    accounting = account(finished)
    line = report("sink_memory_bound", f"SPANBENCH_SINK_MAX_BACKLOG_BYTES={BOUND_BYTES}",
                  finished, accounting, answered_503=overloaded,
                  answered_200=status["requests"].get("ok", 0))
    record_property(FAULT_LINE, line)
    assert_nothing_lost(accounting, processes=4)
