"""A small run in the Parquet store with everything report.html draws: task_initialization
calls, sql_functions calls at two dataset sizes (batched), e2e_latency diamond_4 workflow
traces (tests/e2e_traces.py's drawing, stretched per workflow) and a `_history` of two earlier
runs in extract/store/history.py's layout (written here directly, with its schema)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.store.history import HISTORY_SCHEMA, history_dir, history_path
from extract.store.parquet_store import spans_dir
from tests.e2e_traces import DIAMOND, DIAMOND_END

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
    rows = _rows(run_id)
    stamp = pa.timestamp("ns", tz="UTC")
    table = pa.table({
        "Timestamp": pa.array([r["Timestamp"] for r in rows], stamp),
        "EndTimestamp": pa.array([r["EndTimestamp"] for r in rows], stamp),
        "Duration": pa.array([r["Duration"] for r in rows], pa.int64()),
        **{c: pa.array([r[c] for r in rows], pa.string())
           for c in ("TraceId", "SpanId", "ParentSpanId", "SpanName", "ServiceName",
                     "StatusCode", "RunId", "Suite", "Scenario", "Phase")},
        "SpanAttributes": pa.array([r["SpanAttributes"] for r in rows],
                                   pa.map_(pa.string(), pa.string())),
        "Iteration": pa.array([r["Iteration"] for r in rows], pa.int64()),
        "Warmup": pa.array([r["Warmup"] for r in rows], pa.bool_()),
    })
    folder = spans_dir(runs_dir, run_id)
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-00000001.parquet")
    (runs_dir / run_id / "run.json").write_text(json.dumps({
        "run_id": run_id, "started_at": STARTED.isoformat(), "commit": "abc123def456",
        "deployment": {"started_by_run": True},
        "prerequisites": [{"name": "Database reachable", "ok": True, "detail": "PG 17"}]}))
    return runs_dir / run_id


def write_history(runs_dir: Path, runs: int = 2) -> list[str]:
    """`runs` earlier runs' history files, a day apart, each a little faster than the next."""
    benchmarks = [("task_initialization", "linear_3", "api.create_task", 9.5e6),
                  ("task_initialization", "diamond_4", "api.create_task", 12.5e6),
                  ("sql_functions", "get_next_ready_tasks@1000", "sql.get_next_ready_tasks", 45e3),
                  ("e2e_latency", "diamond_4", "e2e.workflow", 110e6),
                  ("e2e_latency", "diamond_4", "claim", 2.2e6)]
    history_dir(runs_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(runs):
        run_id = f"2026112{k}T220000Z-{k:06x}"
        started = STARTED - timedelta(days=runs - k)
        factor = 0.9 + 0.05 * k
        table = pa.table({
            "run_id": [run_id] * len(benchmarks), "started_at": [started] * len(benchmarks),
            "git_commit": [None] * len(benchmarks),
            "suite": [b[0] for b in benchmarks], "scenario": [b[1] for b in benchmarks],
            "phase": [b[2] for b in benchmarks], "n": [30] * len(benchmarks),
            "mean_ns": [b[3] * factor for b in benchmarks],
            "p50_ns": [b[3] * factor for b in benchmarks],
            "p95_ns": [b[3] * factor * 1.2 for b in benchmarks],
            "p99_ns": [None] * len(benchmarks)}, schema=HISTORY_SCHEMA)
        pq.write_table(table, history_path(runs_dir, run_id))
        written.append(run_id)
    return written
