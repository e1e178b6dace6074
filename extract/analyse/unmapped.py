"""The deployment's span names the phase map does not know (queries/unmapped_spans.sql), typed."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

import queries


@dataclass(frozen=True)
class UnmappedName:
    """A span name of the run in no phase and in no rule of the phase map."""

    suite: str | None
    span_name: str
    spans: int


def unmapped_names(con: duckdb.DuckDBPyConnection, run_id: str) -> list[UnmappedName]:
    """Most spans first; needs a connection from open_runs (its phase map's macros)."""
    rows = con.execute(queries.load()["unmapped_spans"].sql, {"run_id": run_id}).fetchall()
    return [UnmappedName(suite, name, int(spans)) for suite, name, spans in rows]
