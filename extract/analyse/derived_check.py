"""Derived against traced phases of the same workflows (queries/derive_check.sql), typed."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

import queries


@dataclass(frozen=True)
class DerivedCheckRow:
    """One scenario's phase: how derived and traced spans of the same steps compare."""

    scenario: str
    phase: str
    n: int
    """Derived spans with a traced span of the same name for the same step (or task)."""
    median_diff_ns: float | None
    """Median of derived minus traced Duration over those n."""
    workflows: int
    """Workflows whose boundaries of this phase could be checked."""
    disagreeing: int
    """Of those, how many have a boundary outside the traced span that wrote it."""

    @property
    def disagreeing_share(self) -> float | None:
        return self.disagreeing / self.workflows if self.workflows else None


def derived_check(con: duckdb.DuckDBPyConnection, run_id: str) -> list[DerivedCheckRow]:
    """Per scenario and phase; empty when the run has no derived spans or no traced ones."""
    rows = con.execute(queries.load()["derive_check"].sql, {"run_id": run_id}).fetchall()
    return [DerivedCheckRow(scenario, phase, int(n), median, int(workflows), int(disagreeing))
            for scenario, phase, n, median, workflows, disagreeing in rows]
