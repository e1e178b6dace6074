"""The console blocks (docs/formats.md), one per suite (Criterion lines, summary, key findings)."""

from __future__ import annotations

from typing import Any

from extract.reports.derived import derived_worker_lines
from extract.reports.findings import key_findings
from extract.reports.model import (
    E2E_SUITE,
    MEASURES_HEADING,
    SET_OFF_HEADING,
    STATUS_MARK,
    ReportInput,
    benchmark_name,
    check_label,
    measures_lines,
    suite_status_line,
)
from spanbench.units import format_ms, format_ns, format_target_ms
from spanbench.vocabulary import Suite

RULE = "═" * 79
WORKER_SUITE = Suite.WORKER_EXECUTION


def criterion_lines(row: Any) -> list[str]:
    """`Benchmarking <suite>/<test>` and `<suite>/<test>   time: [low mid high]`."""
    name = f"{row.suite}/{benchmark_name(row)}"
    low, high = row.mean_ci if row.mean_ci is not None else (None, None)
    return [f"Benchmarking {name}",
            f"{name}   time: [{format_ns(low)} {format_ns(row.mean_ns)} "
            f"{format_ns(high)}]"]


def target_line(check: Any) -> str:
    t = check.target
    return (f"  • {check_label(check)}: {format_ms(check.measured_ms)} {t.metric}  "
            f"(Target: < {format_target_ms(t.threshold_ms)})  {STATUS_MARK[check.status]}")


def suite_block(report: ReportInput, suite: str) -> str:
    """One suite: its Criterion lines, then the results banner."""
    lines: list[str] = []
    for row in report.measured_of(suite):
        lines += criterion_lines(row)
        lines.append("")
    set_off = report.set_off_of(suite)
    if set_off:
        lines += [SET_OFF_HEADING, ""]
    for row in set_off:
        lines += criterion_lines(row)
        lines.append("")
    lines += [RULE, f"📊 BENCHMARK RESULTS: {suite.replace('_', ' ').upper()}", RULE, ""]
    status = suite_status_line(report, suite)
    if status is not None:
        lines += [status, ""]
        if not report.stats_of(suite):
            return "\n".join([*lines, RULE])
    measures = measures_lines(report, suite)
    if measures:
        lines += [MEASURES_HEADING, *(f"  • {line}" for line in measures), ""]
    if suite == E2E_SUITE and report.completion:
        lines += [*report.completion, ""]
    if suite == WORKER_SUITE and report.derived_worker:
        lines += [*derived_worker_lines(report), ""]
    lines.append("Performance Summary:")
    checks = report.checks_of(suite)
    lines += [target_line(check) for check in checks] or ["  • no targets for this suite"]
    lines += ["", "Key Findings:"]
    lines += [f"  • {finding}" for finding in key_findings(report, suite)] or ["  • none"]
    lines += ["", RULE]
    return "\n".join(lines)


def console_report(report: ReportInput) -> str:
    """Every suite's block, in the seed's order."""
    return "\n\n".join(suite_block(report, suite) for suite in report.suites()) + "\n"
