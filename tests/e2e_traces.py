"""Hand-drawn e2e workflow traces as a DuckDB `spans` view (the Parquet store's columns the e2e
queries read, timestamps in ns), for the breakdown, completeness and lifecycle tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from queries import macros
from spanbench.vocabulary import Phase

T0 = 1_700_000_000_000_000_000
UNIT = 1_234_567
"""ns per drawing unit: odd, so sums that are exact in units are exact in ns too."""


@dataclass(frozen=True)
class Drawn:
    """A span drawn in units from the root's start: (name, id, parent id, start, end)."""

    name: str
    span_id: str
    parent: str
    start: int
    end: int
    attributes: Mapping[str, str] = field(default_factory=dict)


SEND = {"messaging.operation.type": "send"}

# diamond_4: A, then B and C in parallel (overlapping claims, executes, submits), then D.
DIAMOND: tuple[Drawn, ...] = (
    Drawn("api.create_task", "create", "root", 1, 11),
    Drawn("POST /v1/tasks", "post", "create", 2, 10),
    Drawn("task.initialize", "init", "post", 3, 9),
    Drawn("discovery", "disc0", "init", 4, 5, {"db.system.name": "postgresql"}),
    Drawn("publish", "pubA", "init", 5, 6, SEND),
    Drawn("claim", "claimA", "pubA", 12, 14),
    Drawn("execute", "execA", "pubA", 14, 20),
    Drawn("submit", "subA", "pubA", 20, 22, SEND),
    Drawn("result.process", "rpA", "subA", 24, 34),
    Drawn("discovery", "discA", "rpA", 25, 27, {"db.system.name": "postgresql"}),
    Drawn("publish", "pubB", "rpA", 27, 28, SEND),
    Drawn("publish", "pubC", "rpA", 28, 29, SEND),
    Drawn("claim", "claimB", "pubB", 30, 32),
    Drawn("claim", "claimC", "pubC", 31, 33),
    Drawn("execute", "execB", "pubB", 32, 40),
    Drawn("execute", "execC", "pubC", 33, 45),
    Drawn("submit", "subB", "pubB", 40, 42, SEND),
    Drawn("submit", "subC", "pubC", 45, 47, SEND),
    Drawn("result.process", "rpB", "subB", 43, 46),
    Drawn("result.process", "rpC", "subC", 48, 55),
    Drawn("discovery", "discC", "rpC", 49, 50, {"db.system.name": "postgresql"}),
    Drawn("publish", "pubD", "rpC", 50, 51, SEND),
    Drawn("claim", "claimD", "pubD", 52, 54),
    Drawn("execute", "execD", "pubD", 54, 60),
    Drawn("submit", "subD", "pubD", 60, 62, SEND),
    Drawn("result.process", "rpD", "subD", 63, 75),
    Drawn("discovery", "discD", "rpD", 64, 65, {"db.system.name": "postgresql"}),
    Drawn("task.finalize", "fin", "rpD", 66, 72),
)
DIAMOND_END = 100


@dataclass(frozen=True)
class Workflow:
    trace_id: str
    scenario: str
    spans: Sequence[Drawn]
    end: int = DIAMOND_END
    run_id: str = "r"
    stack_traced: bool = True
    warmup: bool = False
    offset: int = 0
    """Units by which the whole trace, root included, is shifted in time."""


def spans_view(workflows: Iterable[Workflow],
               connection: duckdb.DuckDBPyConnection | None = None
               ) -> duckdb.DuckDBPyConnection:
    """A connection whose `spans` view holds the workflows' traces."""
    rows: list[dict[str, object]] = []
    for flow in workflows:
        base = {"TraceId": flow.trace_id, "RunId": flow.run_id, "Suite": "e2e_latency",
                "Scenario": flow.scenario, "Warmup": flow.warmup}
        rows.append({**base, "SpanId": "root", "ParentSpanId": "", "SpanName": "e2e.workflow",
                     "start": flow.offset, "end": flow.offset + flow.end,
                     "SpanAttributes": {"bench.stack_traced": str(flow.stack_traced).lower()}})
        rows += [{**base, "SpanId": s.span_id, "ParentSpanId": s.parent, "SpanName": s.name,
                  "start": flow.offset + s.start, "end": flow.offset + s.end,
                  "SpanAttributes": dict(s.attributes)}
                 for s in flow.spans]
    table = pa.table({
        "Timestamp": pa.array([T0 + r["start"] * UNIT for r in rows],  # type: ignore[operator]
                              pa.timestamp("ns", tz="UTC")),
        "Duration": pa.array([(r["end"] - r["start"]) * UNIT for r in rows],  # type: ignore[operator]
                             pa.int64()),
        **{column: pa.array([r[column] for r in rows], pa.string())
           for column in ("TraceId", "SpanId", "ParentSpanId", "SpanName", "RunId", "Suite",
                          "Scenario")},
        "Phase": pa.array([r["SpanName"] for r in rows], pa.string()),
        "Warmup": pa.array([r["Warmup"] for r in rows], pa.bool_()),
        "SpanAttributes": pa.array([list(r["SpanAttributes"].items())  # type: ignore[attr-defined]
                                    for r in rows], pa.map_(pa.string(), pa.string())),
    })
    con = connection if connection is not None else duckdb.connect()
    con.from_arrow(table).create_view("spans", replace=True)
    return macros.define(con)


def measured_root_durations(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each measured (not warm-up) e2e workflow's root Duration, by trace id."""
    return dict(con.execute(
        "SELECT TraceId, Duration FROM spans WHERE SpanName = $name AND NOT Warmup",
        {"name": Phase.E2E_WORKFLOW}).fetchall())


def table_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """An Arrow table's rows as tuples, in its order."""
    return list(zip(*table.to_pydict().values(), strict=True))


def attributed_per_workflow(workflows: Iterable[tuple[str, str, str, int]]) -> dict[str, int]:
    """The ns an e2e attribution gave each workflow, summed over its phases, by trace id."""
    sums: dict[str, int] = {}
    for trace, _, _, ns in workflows:
        sums[trace] = sums.get(trace, 0) + ns
    return sums
