"""The markdown table of an e2e breakdown, traced or derived (summary.md)."""

from __future__ import annotations

from collections.abc import Sequence

from extract.analyse.breakdown import BreakdownRow
from spanbench.units import format_ns


def breakdown_table(rows: Sequence[BreakdownRow]) -> list[str]:
    """Per scenario and phase: median, p95, share of the workflow's wall time, workflows."""
    return ["| Scenario | Phase | Median | P95 | Share | Workflows |",
            "|----------|-------|--------|-----|-------|-----------|",
            *(f"| {r.scenario} | {r.phase} | {format_ns(r.median_ns)} | {format_ns(r.p95_ns)} | "
              f"{r.share:.1%} | {r.n_workflows} |" for r in rows)]
