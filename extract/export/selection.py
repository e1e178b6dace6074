"""Which traces of a run to export, and their spans read back from Parquet (DuckDB).

A span row is a dict with the stored columns, times as epoch nanoseconds, maps as dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extract.analyse.duckdb_runner import Runs, open_runs

SPAN_COLUMNS = """
    TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
    ResourceAttributes, ResourceAttributeTypes, ScopeName, ScopeVersion,
    SpanAttributes, SpanAttributeTypes, StatusCode, StatusMessage,
    epoch_ns(Timestamp) AS start_ns, epoch_ns(EndTimestamp) AS end_ns,
    list_transform(Events, lambda e: {
        'time_ns': epoch_ns(e.Timestamp), 'name': e.Name,
        'attributes': e.Attributes, 'types': e.AttributeTypes}) AS events,
    Links AS links
"""


class SelectionError(LookupError):
    """The selection matches no trace of the run; the message says what was looked for."""


@dataclass(frozen=True)
class Selection:
    """At most one of trace_id, slowest, scenario; none of them: every trace of the run."""

    trace_id: str | None = None
    slowest: int | None = None
    scenario: str | None = None
    suite: str | None = None
    include_warmup: bool = False

    def __post_init__(self) -> None:
        chosen = [name for name, value in (("--trace", self.trace_id), ("--slowest", self.slowest),
                                           ("--scenario", self.scenario)) if value is not None]
        if len(chosen) > 1:
            raise ValueError(f"choose one of {', '.join(chosen)}, not several")
        if self.slowest is not None and self.slowest < 1:
            raise ValueError(f"--slowest must be at least 1, got {self.slowest}")

    def describe(self) -> str:
        if self.trace_id is not None:
            return f"trace {self.trace_id}"
        where = f" of suite {self.suite}" if self.suite else ""
        warmup = "" if self.include_warmup else " (warm-up iterations excluded)"
        untraced = ", workflows run with stack tracing off left out"
        if self.slowest is not None:
            return f"the {self.slowest} slowest traces{where}{warmup}{untraced}"
        if self.scenario is not None:
            return f"traces of scenario {self.scenario}{where}{warmup}{untraced}"
        return f"every trace{where}{warmup}"


def _trace_ids_sql(selection: Selection) -> tuple[str, dict[str, Any]]:
    """SQL returning the selected TraceIds (roots: spans without a parent), and its parameters."""
    if selection.trace_id is not None:
        return "SELECT DISTINCT TraceId FROM spans WHERE TraceId = $trace_id", {
            "trace_id": selection.trace_id.lower().rjust(32, "0")}
    conditions = ["ParentSpanId = ''"]
    parameters: dict[str, Any] = {}
    if not selection.include_warmup:
        conditions.append("Warmup IS NOT TRUE")
    if selection.suite is not None:
        conditions.append("Suite = $suite")
        parameters["suite"] = selection.suite
    if selection.scenario is not None:
        conditions.append("Scenario = $scenario")
        parameters["scenario"] = selection.scenario
    sql = f"SELECT TraceId FROM spans WHERE {' AND '.join(conditions)} GROUP BY TraceId"
    if selection.slowest is not None or selection.scenario is not None:
        # a workflow run with stack tracing off holds only the driver's spans: nothing to look at
        sql += " HAVING bool_and(bench_stack_traced(SpanAttributes) IS DISTINCT FROM false)"
    if selection.slowest is not None:
        sql += " ORDER BY max(Duration) DESC, TraceId LIMIT $slowest"
        parameters["slowest"] = selection.slowest
    return sql, parameters


def read_traces(runs_dir: Runs, run_id: str, selection: Selection) -> list[list[dict[str, Any]]]:
    """The selected traces of the run, each a list of span rows ordered by start time.

    Slowest first for --slowest; otherwise by the trace's first start. SelectionError if none.
    """
    connection = open_runs(runs_dir, [run_id])
    try:
        ids_sql, parameters = _trace_ids_sql(selection)
        trace_ids = [row[0] for row in connection.execute(ids_sql, parameters).fetchall()]
        if not trace_ids:
            raise SelectionError(f"run {run_id!r} has no spans for {selection.describe()}")
        result = connection.execute(
            f"SELECT {SPAN_COLUMNS} FROM spans WHERE TraceId IN (SELECT unnest($ids)) "
            "ORDER BY Timestamp, SpanId", {"ids": trace_ids})
        names = [column[0] for column in result.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        connection.close()
    traces: dict[str, list[dict[str, Any]]] = {}
    for row in rows:  # in start order: a trace's first span is its earliest
        traces.setdefault(row["TraceId"], []).append(row)
    if selection.slowest is not None:
        return [traces[trace_id] for trace_id in trace_ids]
    return list(traces.values())
