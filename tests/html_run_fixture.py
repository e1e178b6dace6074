"""A small run in the Parquet store with everything report.html draws: task_initialization
calls, sql_functions calls at two dataset sizes (batched), e2e_latency diamond_4 workflow
traces (tests/e2e_traces.py's drawing, stretched per workflow) and a `_history` of two earlier
runs in extract/store/history.py's layout, all written by tests/fake_runs.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e_traces import DIAMOND, DIAMOND_END
from tests.fake_runs import (
    reported_run_record,
    write_history_file,
    write_run_json,
    write_spans,
)

RUN_ID = "20261129T220000Z-c0ffee"
STARTED = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
E2E_WORKFLOWS = 7
"""Measured diamond_4 workflows (one warm-up besides); the slowest is the last."""



def _span(run_id: str, suite: str, scenario: str, phase: str, start_ns: int, duration: int,
          trace: str, span: str, parent: str = "", iteration: int = 0, warmup: bool = False,
          attributes: dict[str, str] | None = None, service: str = "spanbench-driver"
          ) -> dict[str, object]:
    return {"Timestamp": start_ns, "EndTimestamp": start_ns + duration, "Duration": duration,
            "TraceId": trace, "SpanId": span, "ParentSpanId": parent, "SpanName": phase,
            "ServiceName": service, "StatusCode": "Unset",
            "SpanAttributes": list((attributes or {}).items()), "RunId": run_id,
            "Suite": suite, "Scenario": scenario, "Phase": phase, "Iteration": iteration,
            "Warmup": warmup}


def _rows(run_id: str) -> list[dict[str, object]]:
    t0 = int(STARTED.timestamp() * 1e9)
    rows = []
    for s, (scenario, ms) in enumerate((("linear_3", 9.0), ("diamond_4", 12.0))):
        for i in range(-2, 40):
            duration = int((ms + (i * 7 % 11) * 0.4) * 1e6)
            rows.append(_span(run_id, "task_initialization", scenario, "api.create_task",
                              t0 + (s * 100 + i + 2) * 10**9, duration, f"ti{s}{i + 2:030d}",
                              f"ti{s}{i + 2:014d}", iteration=i, warmup=i < 0))
    for size, us in (("1000", 40.0), ("10000", 95.0)):
        for i in range(30):
            batch = 10
            duration = int((us + (i % 6) * 3) * 1e3 * batch)
            rows.append(_span(run_id, "sql_functions", "get_next_ready_tasks",
                              "sql.get_next_ready_tasks", t0 + (300 + i) * 10**9, duration,
                              f"sq{size}{i:026d}", f"sq{size}{i:010d}", iteration=i,
                              attributes={"bench.dataset_size": size,
                                          "bench.batch_size": str(batch)}))
    for w in range(-1, E2E_WORKFLOWS):
        unit = 1_000_000 + 37_000 * max(w, 0) ** 2  # ns per drawing unit: later ones slower
        start = t0 + (400 + w + 1) * 10**9
        trace = f"e2e{w + 1:029d}"
        common = {"iteration": w, "warmup": w < 0}
        rows.append(_span(run_id, "e2e_latency", "diamond_4", "e2e.workflow", start,
                          DIAMOND_END * unit, trace, f"root{w + 1:012d}", **common,
                          attributes={"bench.stack_traced": "true"}))
        for drawn in DIAMOND:
            parent = f"root{w + 1:012d}" if drawn.parent == "root" else f"{drawn.parent}{w + 1}"
            rows.append(_span(run_id, "e2e_latency", "diamond_4", drawn.name,
                              start + drawn.start * unit, (drawn.end - drawn.start) * unit, trace,
                              f"{drawn.span_id}{w + 1}", parent, **common,
                              attributes=dict(drawn.attributes), service="orchestration"))
    return rows


def write_report_run(runs_dir: Path, run_id: str = RUN_ID) -> Path:
    """The run's part file and run.json; returns the run's directory."""
    write_spans(runs_dir, run_id, _rows(run_id))
    write_run_json(runs_dir, run_id, reported_run_record(run_id, STARTED))
    return runs_dir / run_id


def write_history(runs_dir: Path, runs: int = 2) -> list[str]:
    """`runs` earlier runs' history files, a day apart, each a little faster than the next."""
    benchmarks = [("task_initialization", "linear_3", "api.create_task", 9.5e6),
                  ("task_initialization", "diamond_4", "api.create_task", 12.5e6),
                  ("sql_functions", "get_next_ready_tasks@1000", "sql.get_next_ready_tasks", 45e3),
                  ("e2e_latency", "diamond_4", "e2e.workflow", 110e6),
                  ("e2e_latency", "diamond_4", "claim", 2.2e6)]
    written = []
    for k in range(runs):
        run_id = f"2026112{k}T220000Z-{k:06x}"
        started = STARTED - timedelta(days=runs - k)
        factor = 0.9 + 0.05 * k
        write_history_file(runs_dir, run_id, [
            {"run_id": run_id, "started_at": started, "git_commit": None, "suite": suite,
             "scenario": scenario, "phase": phase, "n": 30, "mean_ns": ns * factor,
             "p50_ns": ns * factor, "p95_ns": ns * factor * 1.2, "p99_ns": None}
            for suite, scenario, phase, ns in benchmarks])
        written.append(run_id)
    return written
