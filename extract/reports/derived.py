"""summary.md's section on derived spans: their breakdown, how they compare with traced, and
worker_execution's derived phases (also in its console block)."""

from __future__ import annotations

from extract.reports.breakdown_table import breakdown_table
from extract.reports.model import ReportInput
from spanbench.units import format_ns

RESOLUTION_NOTE = ("A boundary disagrees when the transition's time lies outside the traced "
                   "span of the statement that wrote it (less 1 µs, the record's resolution).")


def _share(disagreeing: int, workflows: int) -> str:
    return f"{disagreeing / workflows:.0%}" if workflows else "n/a"


def derived_worker_lines(report: ReportInput) -> list[str]:
    """worker_execution's derived claim, execute, submit for the console block, labelled with
    their resolution; nothing without them."""
    rows = report.derived_worker
    if not rows:
        return []
    resolutions = sorted({row.resolution for row in rows})
    lines = [f"Derived from the deployment's transitions ({'; '.join(resolutions)}):"]
    lines += [f"  • {row.scenario}/{row.phase} (derived): median {format_ns(row.p50_ns)}, "
              f"p95 {format_ns(row.p95_ns)}, n={row.n}" for row in rows]
    return lines


def derived_sections(report: ReportInput) -> list[str]:
    """The derived breakdown, worker_execution's derived phases and the derived-vs-traced
    cross-check; nothing without them."""
    lines: list[str] = []
    if report.derived_breakdown:
        lines += ["### E2E Breakdown from Derived Spans (the deployment's transitions)", "",
                  *breakdown_table(report.derived_breakdown)]
        lines.append("")
    if report.derived_worker:
        resolutions = sorted({row.resolution for row in report.derived_worker})
        lines += ["### Worker Execution from Derived Spans (the deployment's transitions)", "",
                  f"Resolution: {'; '.join(resolutions)}.", "",
                  "| Scenario | Phase | Median | P95 | n |",
                  "|----------|-------|--------|-----|---|"]
        lines += [f"| {r.scenario} | {r.phase} (derived) | {format_ns(r.p50_ns)} | "
                  f"{format_ns(r.p95_ns)} | {r.n} |" for r in report.derived_worker]
        lines.append("")
    if report.derived_check:
        lines += ["### Derived vs Traced Phases (same steps)", "",
                  "| Scenario | Phase | n | Median derived − traced | Workflows checked "
                  "| Disagreeing |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r.scenario} | {r.phase} | {r.n} | {format_ns(r.median_diff_ns)} | "
                  f"{r.workflows} | {r.disagreeing} ({_share(r.disagreeing, r.workflows)}) |"
                  for r in report.derived_check]
        lines += ["", RESOLUTION_NOTE, ""]
    return lines
