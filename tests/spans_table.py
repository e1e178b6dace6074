"""Captured spans as a DuckDB `spans` table with the Parquet store's columns, so tests can run
the queries/ files over what a test stack exported without going through the sink
(the table itself is built by tests/fake_runs.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb

from spanbench.vocabulary import Attr
from tests.fake_runs import spans_db
from tests.otlp_capture import CapturedSpan


def _stamp(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def spans_table(spans: Iterable[CapturedSpan],
                connection: duckdb.DuckDBPyConnection | None = None
                ) -> duckdb.DuckDBPyConnection:
    return spans_db([_row(s) for s in spans], connection)


def _row(s: CapturedSpan) -> dict[str, object]:
    attributes = s.attributes
    return {
        "Timestamp": _stamp(s.start_ns), "EndTimestamp": _stamp(s.end_ns),
        "Duration": s.end_ns - s.start_ns, "TraceId": s.trace_id, "SpanId": s.span_id,
        "ParentSpanId": s.parent_span_id, "SpanName": s.name,
        "ServiceName": str(s.resource.get("service.name", "")),
        "StatusCode": {"ERROR": "Error", "OK": "Ok"}.get(s.status_code, "Unset"),
        "SpanAttributes": {k: str(v) for k, v in attributes.items()},
        "RunId": attributes.get(Attr.RUN_ID, "unassigned"), "Suite": attributes.get(Attr.SUITE),
        "Scenario": attributes.get(Attr.SCENARIO), "Phase": attributes.get(Attr.PHASE),
        "Iteration": attributes.get(Attr.ITERATION), "Warmup": attributes.get(Attr.WARMUP)}
