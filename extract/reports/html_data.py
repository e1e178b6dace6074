"""What the HTML report draws beyond ReportInput, gathered from the run's Parquet in DuckDB:
binned latency distributions, the spans of the median and slowest e2e traces, and each
benchmark's trend across the runs kept in `<runs_dir>/_history/` (extract/store/history.py writes
them; one Parquet file per run). Raw durations stay in DuckDB: only bin counts leave it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

import queries
from extract.store.history import history_dir, open_history
from spanbench.vocabulary import with_dataset_size


@dataclass(frozen=True)
class Histogram:
    """One phase's per-call durations in log-spaced bins (queries/html_histograms.sql)."""

    suite: str
    scenario: str
    variant: str | None
    phase: str
    edges_ns: tuple[float, ...]
    """len(counts) + 1 bin edges, lo to hi."""
    counts: tuple[int, ...]

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def key(self) -> tuple[str, str, str | None, str]:
        return (self.suite, self.scenario, self.variant, self.phase)


@dataclass(frozen=True)
class TraceSpan:
    """One span of a waterfall, placed relative to the trace's root."""

    span_id: str
    parent_id: str | None
    name: str
    phase: str
    service: str | None
    offset_ns: int
    duration_ns: int
    depth: int
    failed: bool


@dataclass(frozen=True)
class Waterfall:
    """The median or slowest workflow trace of one e2e scenario, spans depth-first."""

    scenario: str
    which: str
    """'median' or 'slowest'."""
    trace_id: str
    duration_ns: int
    workflows: int
    spans: tuple[TraceSpan, ...]


@dataclass(frozen=True)
class TrendPoint:
    """One run of one benchmark; scenario carries its variant as `scenario+variant`."""

    suite: str
    scenario: str
    phase: str
    run_id: str
    started_at: datetime
    p50_ns: float
    p95_ns: float | None


@dataclass(frozen=True)
class ChartData:
    histograms: tuple[Histogram, ...] = ()
    waterfalls: tuple[Waterfall, ...] = ()
    trend: tuple[TrendPoint, ...] = ()
    history_runs: int = 0
    """Runs found in the history besides this one (0: the trend shows this run alone)."""
    history_problem: str | None = None
    """Why the history could not be read (the trend then shows this run alone)."""

    def histogram(self, key: tuple[str, str, str | None, str]) -> Histogram | None:
        return next((h for h in self.histograms if h.key == key), None)


def histograms(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Histogram]:
    """Every phase's distribution in the run, zero bins included."""
    grouped: dict[tuple, dict[str, Any]] = {}
    sql = queries.load()["html_histograms"].sql
    for suite, scenario, variant, phase, _n, lo, hi, bins, index, count in con.execute(
            sql, {"run_id": run_id}).fetchall():
        entry = grouped.setdefault((suite, scenario, variant, phase),
                                   {"lo": lo, "hi": hi, "counts": [0] * bins})
        entry["counts"][index] = int(count)
    result = []
    for (suite, scenario, variant, phase), entry in grouped.items():
        bins, lo, hi = len(entry["counts"]), float(entry["lo"]), float(entry["hi"])
        edges = (*(lo * (hi / lo) ** (i / bins) for i in range(bins)), hi)
        result.append(Histogram(suite, scenario, variant, phase, edges, tuple(entry["counts"])))
    return result


def nest(rows: Sequence[dict[str, Any]], root_id: str) -> list[TraceSpan]:
    """The trace's spans depth-first from the root, children by start; spans whose parent is
    not in the trace follow the tree at depth 0 (nothing is dropped)."""
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_parent.setdefault(row["parent_id"] or None, []).append(row)
    for children in by_parent.values():
        children.sort(key=lambda r: (r["offset_ns"], r["span_id"]))
    ordered: list[TraceSpan] = []
    seen: set[str] = set()

    def visit(row: dict[str, Any], depth: int) -> None:
        if row["span_id"] in seen:  # a cycle in broken parent links
            return
        seen.add(row["span_id"])
        ordered.append(TraceSpan(row["span_id"], row["parent_id"] or None, row["name"],
                                 row["phase"], row["service"], int(row["offset_ns"]),
                                 int(row["duration_ns"]), depth, bool(row["failed"])))
        for child in by_parent.get(row["span_id"], []):
            visit(child, depth + 1)

    for row in [r for r in rows if r["span_id"] == root_id]:
        visit(row, 0)
    for row in sorted(rows, key=lambda r: (r["offset_ns"], r["span_id"])):
        if row["span_id"] not in seen:
            visit(row, 0)
    return ordered


def waterfalls(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Waterfall]:
    """The median and the slowest traced workflow of every e2e scenario of the run."""
    result = con.execute(queries.load()["html_waterfalls"].sql, {"run_id": run_id})
    columns = [d[0] for d in result.description]
    traces: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for values in result.fetchall():
        row = dict(zip(columns, values, strict=True))
        traces.setdefault((row["scenario"], row["which"]), []).append(row)
    return [Waterfall(scenario, which, rows[0]["trace_id"], int(rows[0]["root_ns"]),
                      int(rows[0]["workflows"]), tuple(nest(rows, rows[0]["root_id"])))
            for (scenario, which), rows in sorted(traces.items())]


def current_points(report: Any) -> list[TrendPoint]:
    """This run's medians as trend points (a variant joins its scenario: name+variant)."""
    started = report.meta.started_at
    if started.tzinfo is None:  # a run.json stamped without an offset: UTC, as runs stamp it
        started = started.replace(tzinfo=UTC)
    points = []
    for row in report.stats:
        if row.n == 0 or row.p50_ns is None or math.isnan(row.p50_ns):
            continue
        scenario = with_dataset_size(row.scenario, row.variant) if row.variant else row.scenario
        points.append(TrendPoint(row.suite, scenario, row.phase, report.meta.run_id, started,
                                 float(row.p50_ns), row.p95_ns))
    return points


def history_points(runs_dir: Path) -> list[TrendPoint]:
    """Every stored run's medians from `<runs_dir>/_history/*.parquet`; [] without any."""
    if not history_dir(Path(runs_dir)).is_dir():
        return []
    con = open_history(Path(runs_dir))
    if con is None:
        return []
    try:
        rows = con.execute(
            "SELECT suite, scenario, phase, run_id, started_at, p50_ns, p95_ns "
            "FROM history WHERE p50_ns IS NOT NULL ORDER BY started_at, run_id").fetchall()
    finally:
        con.close()
    return [TrendPoint(suite, scenario, phase, run_id, started, float(p50),
                       None if p95 is None else float(p95))
            for suite, scenario, phase, run_id, started, p50, p95 in rows]


def trend(runs_dir: Path | None, report: Any) -> tuple[list[TrendPoint], int, str | None]:
    """The history's points with this run's own (from its statistics, replacing any stored
    copy), oldest first; how many other runs the history held; and, when the history is
    unreadable, why (a broken history file never stops the reports)."""
    current = current_points(report)
    if runs_dir is None:
        return current, 0, None
    try:
        stored, problem = history_points(runs_dir), None
    except (duckdb.Error, OSError) as error:
        stored = []
        problem = f"{history_dir(Path(runs_dir))} is unreadable: {error}"
    others = [p for p in stored if p.run_id != report.meta.run_id]
    points = sorted(others + current, key=lambda p: (p.started_at, p.run_id))
    return points, len({p.run_id for p in others}), problem


def gather_charts(con: duckdb.DuckDBPyConnection, runs_dir: Path | None, report: Any
                  ) -> ChartData:
    """Everything the HTML report draws from Parquet, for the run of `report`; the trend from
    the history kept in `runs_dir` (None: this run alone)."""
    run_id = report.meta.run_id
    points, history_runs, problem = trend(runs_dir, report)
    return ChartData(tuple(histograms(con, run_id)), tuple(waterfalls(con, run_id)),
                     tuple(points), history_runs, problem)
