"""How e2e_latency saw its workflows complete, for the line beside every e2e figure.

The rows come from queries/e2e_completion.sql (per bench.completion_source); the poll interval
from run.json's config `completion`. A run whose spans carry no completion source (recorded
before it was) has no rows and no line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

import queries
from spanbench.units import format_ms, format_ns

SOURCE_LABELS: Mapping[str, str] = {
    "pg_notify": "NOTIFY",
    "db_poll": "DB polling",
    "api_poll": "API polling (GET /v1/tasks/{uuid})",
}
"""bench.completion_source values (instrument.workload.completion) → how reports say them."""


@dataclass(frozen=True)
class CompletionRow:
    source: str
    workflows: int
    windowed: int
    p50_window_ns: float | None
    p95_window_ns: float | None
    max_window_ns: float | None


def completion_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[CompletionRow]:
    cursor = con.execute(queries.load()["e2e_completion"].sql, {"run_id": run_id})
    return [CompletionRow(*row) for row in cursor.fetchall()]


def completion_lines(rows: Sequence[CompletionRow],
                     config: Mapping[str, Any] | None) -> list[str]:
    """`Completion seen by DB polling every 1 ms: window median 1.60 ms, p95 4.20 ms, max …
    (n=12)`, one line per source; none without rows."""
    configured = config or {}
    lines = []
    for row in rows:
        said = f"Completion seen by {SOURCE_LABELS.get(row.source, row.source)}"
        interval_s = configured.get("interval_s")
        if configured.get("source") == row.source and isinstance(interval_s, int | float):
            said += (f" every {format_ms(interval_s * 1000)}" if interval_s > 0
                     else " back to back")
        if row.windowed:
            said += (f": window median {format_ns(row.p50_window_ns)}, p95 "
                     f"{format_ns(row.p95_window_ns)}, max {format_ns(row.max_window_ns)}")
        else:
            said += ": stamped on arrival, after the commit"
        lines.append(f"{said} (n={row.workflows})")
    return lines
