"""worker_execution's claim, execute and submit as derived from the deployment's transitions
(queries/worker_derived.sql), typed, with the resolution of their boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

import queries

DERIVED_SERVICE_SUFFIX = ".derived"
"""Derived spans name their service `<system>.derived` (extract/derive/spans.py)."""

RESOLUTION: dict[str, str] = {
    "spanbench": "each boundary a transition stamped by its own statement (clock_timestamp), "
                 "to 1 µs",
    "tasker-core": "each boundary a transition stamped at its transaction's start (NOW()), "
                   "to 1 µs: early by that transaction",
}
"""System → what bounds its derived phases (docs/derived-spans.md has the whole table)."""
UNKNOWN_RESOLUTION = "each boundary a transition of the deployment's record, to 1 µs"


@dataclass(frozen=True)
class DerivedWorkerRow:
    """One scenario's derived phase: the deployment's own workers on the suite's tasks."""

    scenario: str
    phase: str
    n: int
    mean_ns: float | None
    """None below 2 samples, as std_ns."""
    std_ns: float | None
    p50_ns: float | None
    p95_ns: float | None
    """None below 20 samples."""
    p99_ns: float | None
    """None below 100 samples."""
    system: str

    @property
    def resolution(self) -> str:
        return RESOLUTION.get(self.system, UNKNOWN_RESOLUTION)


def _system(service: str | None) -> str:
    name = service or ""
    return name[:-len(DERIVED_SERVICE_SUFFIX)] if name.endswith(DERIVED_SERVICE_SUFFIX) else name


def derived_worker(con: duckdb.DuckDBPyConnection, run_id: str) -> list[DerivedWorkerRow]:
    """Per scenario: claim, execute, submit in that order; empty without derived worker spans."""
    rows = con.execute(queries.load()["worker_derived"].sql, {"run_id": run_id}).fetchall()
    return [DerivedWorkerRow(scenario, phase, int(n), mean, std, p50, p95, p99, _system(service))
            for scenario, phase, n, mean, std, p50, p95, p99, service in rows]
