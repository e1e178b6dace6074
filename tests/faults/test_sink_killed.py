"""The run's sink SIGKILLed mid-run: the run restarts it on the same port, the new sink converts
what the old one had spooled (every acknowledged span), the exporters retry what was not
acknowledged, and each process's span count matches its spans in the Parquet."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.faults.harness import (
    FAULT_LINE,
    ITERATIONS,
    FaultRun,
    account,
    assert_nothing_lost,
    point,
    report,
    wait_for,
)

RETRIED = re.compile(r"retrying in")


def test_sink_killed_and_restarted(fault_home: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    kill_at, after = point("linear_4", 1), point("linear_4", 2)
    # Export every 100 ms, so spans are on their way while the sink is down; seal no spool
    # segment before the kill, so every span acknowledged by then is only in the spool.
    run = FaultRun(fault_home, tmp_path, [kill_at, after], env={
        "OTEL_BSP_SCHEDULE_DELAY": "100", "SPANBENCH_SINK_SEGMENT_AGE_S": "600"})
    try:
        run.wait_paused(kill_at)
        ready = run.sink_ready()
        victim = ready["pid"]
        before_kill = httpx.get(f"http://{ready['http']}/status", timeout=5).json()
        os.kill(victim, signal.SIGKILL)
        run.resume(kill_at)  # a workflow runs, and every process exports, with no sink
        run.wait_paused(after)
        restarted = wait_for(lambda: run.sink_ready().get("pid") not in (None, victim),
                             "restarted sink", 60, run.process)
        assert restarted
        run.resume(after)
        finished = run.finish()
    finally:
        run.stop()

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    [restart] = finished.metadata["sink"]["restarts"]
    assert restart["exit_code"] == -signal.SIGKILL
    assert finished.failures() == []
    assert finished.workflows() == (ITERATIONS, ITERATIONS)
    logs = [finished.stderr, *(p.read_text(errors="replace")
                               for p in (fault_home / "run-stack" / "logs").glob("*.log"))]
    retries = sum(len(RETRIED.findall(text)) for text in logs)
    assert retries > 0, "no exporter met the dead sink"
    sink_log = (fault_home / "logs" / "sink.log").read_text(errors="replace")
    recovered = sink_log.count("converting leftover segment")
    assert recovered >= 1, sink_log[-2000:]  # what the killed sink acknowledged, converted
    assert before_kill["accepted_spans"] > 0 and before_kill["written_spans"] == 0, before_kill
    accounting = account(finished)
    line = report("sink_sigkill", f"SIGKILL sink pid {victim} before {kill_at}; restarted as pid "
                  f"{restart['pid']}", finished, accounting, export_retries_logged=retries,
                  acknowledged_by_killed_sink=before_kill["accepted_spans"],
                  spool_segments_recovered=recovered)
    record_property(FAULT_LINE, line)
    assert_nothing_lost(accounting, processes=4)
