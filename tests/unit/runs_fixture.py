"""Small runs in the Parquet store's real format (OTLP request → columns → part file), with
an optional run.json, for the runs, query and trend tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.receive.columns import to_tables
from extract.store.parquet_store import write_part
from spanbench.vocabulary import Attr

Sample = tuple[str, str, str, int]
"""(suite, scenario, phase, duration in ns)."""

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def write_run(runs_dir: Path, run_id: str, samples: Sequence[Sample],
              started_at: datetime | None = None, commit: str | None = None) -> Path:
    """Write the samples as one part of run `run_id`; with `started_at`, a run.json too."""
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
    write_part(runs_dir, run_id, "0", to_tables([request])[run_id])
    if started_at is not None:
        record = {"run_id": run_id, "started_at": started_at.isoformat(), "commit": commit,
                  "config": {"suites": sorted({s[0] for s in samples}), "quick": False},
                  "deployment": {"started_by_run": True}}
        (runs_dir / run_id / "run.json").write_text(json.dumps(record))
    return runs_dir / run_id


def days(n: int) -> datetime:
    return T0 + timedelta(days=n)
