"""Captured spans as a DuckDB `spans` table with the Parquet store's columns, so tests can run
the queries/ files over what a test stack exported without going through the sink."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb

from queries import macros
from spanbench.vocabulary import Attr
from tests.otlp_capture import CapturedSpan


def _stamp(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def spans_table(spans: Iterable[CapturedSpan],
                connection: duckdb.DuckDBPyConnection | None = None
                ) -> duckdb.DuckDBPyConnection:
    conn = connection or macros.define(duckdb.connect())
    conn.execute("""CREATE OR REPLACE TABLE spans (
        Timestamp TIMESTAMPTZ, EndTimestamp TIMESTAMPTZ, Duration BIGINT, TraceId VARCHAR,
        SpanId VARCHAR, ParentSpanId VARCHAR, SpanName VARCHAR, ServiceName VARCHAR,
        StatusCode VARCHAR, SpanAttributes MAP(VARCHAR, VARCHAR), RunId VARCHAR,
        Suite VARCHAR, Scenario VARCHAR, Phase VARCHAR, Iteration BIGINT, Warmup BOOLEAN)""")
    rows = []
    for s in spans:
        attributes = s.attributes
        rows.append((
            _stamp(s.start_ns), _stamp(s.end_ns), s.end_ns - s.start_ns, s.trace_id, s.span_id,
            s.parent_span_id, s.name, str(s.resource.get("service.name", "")),
            {"ERROR": "Error", "OK": "Ok"}.get(s.status_code, "Unset"),
            {k: str(v) for k, v in attributes.items()},
            attributes.get(Attr.RUN_ID, "unassigned"), attributes.get(Attr.SUITE),
            attributes.get(Attr.SCENARIO), attributes.get(Attr.PHASE),
            attributes.get(Attr.ITERATION), attributes.get(Attr.WARMUP)))
    if rows:
        conn.executemany(f"INSERT INTO spans VALUES ({', '.join('?' * 16)})", rows)
    return conn
