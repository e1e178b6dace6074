"""The one builder of fake runs: spans in the Parquet store's format, run.json, `_history` files,
and in-memory `spans` tables with the store's columns.

Rows are mappings of store column → value (missing columns are null): maps as dicts or
(key, value) pairs, timestamps as datetimes or ns since the epoch. Every part goes through
extract.store.parquet_store.write_part and every run.json through `write_run_json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.receive.columns import to_tables
from extract.store.history import HISTORY_SCHEMA, history_dir, history_path
from extract.store.parquet_store import SCHEMA, write_part
from extract.store.run_json import parse
from extract.store.runstore import RunStore
from queries import macros
from spanbench.vocabulary import Attr, Phase, Source, Suite

Row = Mapping[str, Any]

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

CALL_COLUMNS = ("RunId", "Suite", "Scenario", "Phase", "Warmup", "StatusCode", "Duration",
                "SpanAttributes")
"""What the per-call statistics read, in the order the call tables of the unit tests give them."""

Sample = tuple[str, str, str, int]
"""(suite, scenario, phase, duration in ns)."""


def days(n: int) -> datetime:
    return T0 + timedelta(days=n)


def rows_of(columns: Sequence[str], values: Iterable[Sequence[Any]]) -> list[Row]:
    """Tuples of values as rows of the named columns."""
    return [dict(zip(columns, value, strict=True)) for value in values]


def store_table(rows: Iterable[Row]) -> pa.Table:
    """The rows as a table with parquet_store.SCHEMA."""
    return pa.Table.from_pylist([dict(row) for row in rows], schema=SCHEMA)


def spans_db(rows: Iterable[Row], connection: duckdb.DuckDBPyConnection | None = None
             ) -> duckdb.DuckDBPyConnection:
    """A connection whose `spans` table holds the rows, with every column of the store."""
    con = connection if connection is not None else macros.define(duckdb.connect())
    rows_table = store_table(rows)
    con.register("fake_spans", rows_table)
    con.execute("CREATE OR REPLACE TABLE spans AS SELECT * FROM fake_spans")
    con.unregister("fake_spans")
    return con


def write_spans(runs_dir: Path, run_id: str, rows: Iterable[Row], part: str = "00000001"
                ) -> Path:
    """The rows as part `part` of run `run_id`; the part file's path."""
    return write_part(runs_dir, run_id, part, store_table(rows))


def write_request(runs_dir: Path, request: ExportTraceServiceRequest, part: str = "0"
                  ) -> list[Path]:
    """An OTLP export request stored as the sink stores it: one part per run id in it."""
    return [write_part(runs_dir, run_id, part, table)
            for run_id, table in to_tables([request]).items()]


def write_run_json(runs_dir: Path, run_id: str, record: Mapping[str, Any]) -> Path:
    """Every fake run's run.json, written by the run store as `spanbench run` writes it."""
    return Path(RunStore.at(runs_dir).write_record(run_id, parse(record)))


def write_history_file(runs_dir: Path, run_id: str, rows: Sequence[Row]) -> Path:
    """Run `run_id`'s `_history` file: rows with HISTORY_SCHEMA's columns."""
    history_dir(runs_dir).mkdir(parents=True, exist_ok=True)
    path = history_path(runs_dir, run_id)
    pq.write_table(pa.Table.from_pylist([dict(row) for row in rows], schema=HISTORY_SCHEMA), path)
    return path


@dataclass(frozen=True)
class OtlpSpan:
    """One span of `otlp_request`: ids as integers (parent 0: a root), times in ms after T0."""

    trace: int
    span: int
    name: str
    start_ms: float
    end_ms: float
    attributes: Mapping[str, str | int | bool] = field(default_factory=dict)
    parent: int = 0


def otlp_request(service_name: str, spans: Sequence[OtlpSpan]) -> ExportTraceServiceRequest:
    """The spans as one OTLP export request of a service (`service.name`)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key=Attr.SERVICE_NAME).value.string_value = (
        service_name)
    scope_spans = resource_spans.scope_spans.add()
    start = int(T0.timestamp() * 1e9)
    for item in spans:
        span = scope_spans.spans.add(
            trace_id=item.trace.to_bytes(16, "big"), span_id=item.span.to_bytes(8, "big"),
            parent_span_id=item.parent.to_bytes(8, "big") if item.parent else b"",
            name=item.name, start_time_unix_nano=start + int(item.start_ms * 1e6),
            end_time_unix_nano=start + int(item.end_ms * 1e6))
        for key, value in item.attributes.items():
            slot = span.attributes.add(key=key).value
            if isinstance(value, bool):
                slot.bool_value = value
            elif isinstance(value, int):
                slot.int_value = value
            else:
                slot.string_value = value
    return request


STITCH_IDS = {"correlation_id": "c-0001", "task_uuid": "t-0001", "step_uuid": "s-0001"}
"""The task and step of the one workflow of `stitch_requests`."""


def stitch_requests(run_id: str) -> tuple[ExportTraceServiceRequest, ...]:
    """One e2e workflow of run `run_id` (trace 1: the driver's root and api.create_task, a
    derived claim of its step) and tasker-core-shaped spans in traces of their own, without
    bench.* attributes, each service with its own `service.name`: trace 100 `finalize_task`
    (task uuid and correlation id; a child without ids), trace 200 `worker.step_execution`
    (step uuid only), trace 300 `finalize_task` of a task no run made, trace 400 an HTTP/2
    frame (`target` h2::…)."""
    bench = {Attr.RUN_ID: run_id, Attr.SUITE: Suite.E2E_LATENCY, Attr.SCENARIO: "linear_4",
             Attr.ITERATION: 1, Attr.WARMUP: False}
    task = {Attr.CORRELATION_ID: STITCH_IDS["correlation_id"],
            Attr.TASK_UUID: STITCH_IDS["task_uuid"]}
    step = {Attr.STEP_UUID: STITCH_IDS["step_uuid"]}
    driver_attributes = {**bench, Attr.SOURCE: Source.DRIVER}
    driver = otlp_request("spanbench-driver", [
        OtlpSpan(1, 1, Phase.E2E_WORKFLOW, 0, 100,
                 {**driver_attributes, **task, Attr.PHASE: Phase.E2E_WORKFLOW,
                  Attr.STACK_TRACED: "true"}),
        OtlpSpan(1, 2, Phase.API_CREATE_TASK, 0, 10,
                 {**driver_attributes, Attr.PHASE: Phase.API_CREATE_TASK}, parent=1),
        OtlpSpan(1, 3, Phase.CLAIM, 20, 30,
                 {**bench, **step, Attr.TASK_UUID: task[Attr.TASK_UUID], Attr.PHASE: Phase.CLAIM,
                  Attr.SOURCE: Source.DERIVED}, parent=1),
    ])
    orchestration = otlp_request("tasker-core-orchestration", [
        OtlpSpan(100, 101, "finalize_task", 80, 90, task),
        OtlpSpan(100, 102, "update_task_state", 85, 88, parent=101),
        OtlpSpan(300, 301, "finalize_task", 50, 55,
                 {Attr.TASK_UUID: "t-other", Attr.CORRELATION_ID: "c-other"}),
    ])
    worker = otlp_request("tasker-core-worker", [
        OtlpSpan(200, 201, "worker.step_execution", 40, 60, step),
        OtlpSpan(400, 401, "Connection::poll", 1, 2, {"target": "h2::proto::connection"}),
    ])
    return driver, orchestration, worker


def samples_request(run_id: str, samples: Sequence[Sample]) -> ExportTraceServiceRequest:
    """One span per sample, a second apart from T0, with the bench attributes a driver sets."""
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    start = int(T0.timestamp() * 1e9)
    for number, (suite, scenario, phase, duration) in enumerate(samples, start=1):
        span = scope_spans.spans.add(
            trace_id=number.to_bytes(16, "big"), span_id=number.to_bytes(8, "big"),
            name=phase, start_time_unix_nano=start + number * 10**9,
            end_time_unix_nano=start + number * 10**9 + duration)
        for key, text in ((Attr.RUN_ID, run_id), (Attr.SUITE, suite),
                          (Attr.SCENARIO, scenario), (Attr.PHASE, phase)):
            span.attributes.add(key=key).value.string_value = text
        span.attributes.add(key=Attr.ITERATION).value.int_value = number
        span.attributes.add(key=Attr.WARMUP).value.bool_value = False
    return request


def write_run(runs_dir: Path, run_id: str, samples: Sequence[Sample],
                      started_at: datetime | None = None, commit: str | None = None) -> Path:
    """The samples as one part of run `run_id`; with `started_at`, a run.json too."""
    write_request(runs_dir, samples_request(run_id, samples))
    if started_at is not None:
        write_run_json(runs_dir, run_id, {
            "run_id": run_id, "started_at": started_at.isoformat(), "commit": commit,
            "config": {"suites": sorted({s[0] for s in samples}), "quick": False},
            "deployment": {"started_by_run": True}})
    return runs_dir / run_id


def reported_run_record(run_id: str, started_at: datetime) -> dict[str, Any]:
    """run.json of a run the reference stack served, its prerequisites checked."""
    return {"run_id": run_id, "started_at": started_at.isoformat(), "commit": "abc123def456",
            "deployment": {"started_by_run": True},
            "prerequisites": [{"name": "Database reachable", "ok": True, "detail": "PG 17"}]}


CALLS_STARTED = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def write_calls_run(runs_dir: Path, run_id: str, ms_by_scenario: dict[str, float],
                    n: int = 30) -> None:
    """task_initialization spans: n measured calls per scenario, each ms ± a little, 2 warm-up."""
    rows: list[Row] = []
    for scenario, ms in ms_by_scenario.items():
        for i in range(-2, n):
            duration = int((ms + (i % 5) * 0.1 * ms / 10) * 1_000_000)
            begin = CALLS_STARTED + timedelta(seconds=len(rows))
            end = begin + timedelta(microseconds=duration // 1000)
            rows.append({
                "Timestamp": begin, "EndTimestamp": end, "Duration": duration,
                "TraceId": f"{scenario}{i:030d}", "SpanId": f"{i + 100:016d}",
                "SpanName": "api.create_task", "ServiceName": "spanbench-driver",
                "StatusCode": "Unset", "SpanAttributes": {}, "RunId": run_id,
                "Suite": "task_initialization", "Scenario": scenario, "Phase": "api.create_task",
                "Iteration": i, "Warmup": i < 0})
    write_spans(runs_dir, run_id, rows)
    write_run_json(runs_dir, run_id, reported_run_record(run_id, CALLS_STARTED))
