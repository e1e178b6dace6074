"""The markdown log of one suite (docs/formats.md), and latest/summary.md of the whole run."""

from __future__ import annotations

import math
from typing import Any

from extract.analyse.analysis import MEAN_MIN_N, P95_MIN_N, P99_MIN_N
from extract.reports.baseline_table import comparison_rows, status_lines
from extract.reports.breakdown_table import breakdown_table
from extract.reports.derived import derived_sections
from extract.reports.findings import key_findings
from extract.reports.model import (
    E2E_SUITE,
    MEASURES_HEADING,
    SET_OFF_HEADING,
    STATUS_MARK,
    ReportInput,
    benchmark_name,
    check_label,
    checks_for,
    measures_lines,
    suite_status_line,
    unmatched,
)
from spanbench.units import format_fixed_ms, format_ms, format_ns, format_target_ms


def _status(check: Any) -> str:
    mark = STATUS_MARK[check.status]
    if check.ratio is None:
        return mark
    if check.ratio >= 1:
        return f"{mark} ({check.ratio:.1f}x better than target)"
    return f"{mark} ({1 / check.ratio:.1f}x slower than target)"


def _not_reported(n: int, needed: int) -> str:
    return f"not reported (n={n} < {needed})"


def _statistic(ns: float | None, n: int, needed: int) -> str:
    """A mean or standard deviation, or why it is not reported."""
    return _not_reported(n, needed) if 0 < n < needed else format_fixed_ms(ns)


def _percentile(ns: float | None, ci: Any, n: int, needed: int) -> str:
    if ns is None:
        return _not_reported(n, needed)
    if ci is None:
        return format_fixed_ms(ns)
    return f"{format_fixed_ms(ns)} (95% CI {format_fixed_ms(ci[0])} – {format_fixed_ms(ci[1])})"


def result_section(row: Any, checks: list[Any]) -> list[str]:
    outliers = row.outliers_mild + row.outliers_severe
    share = f"{outliers / row.n:.0%}" if row.n else "n/a"
    lines = [f"### {benchmark_name(row)}", f"- Samples: {row.n} ({row.errors} errors)",
             f"- Mean: {_statistic(row.mean_ns, row.n, MEAN_MIN_N)}",
             f"- Std Dev: {_statistic(row.std_ns, row.n, MEAN_MIN_N)}",
             f"- Min: {format_fixed_ms(row.min_ns)}", f"- Max: {format_fixed_ms(row.max_ns)}",
             f"- P50: {_percentile(row.p50_ns, row.p50_ci, row.n, 1)}",
             f"- P95: {_percentile(row.p95_ns, row.p95_ci, row.n, P95_MIN_N)}",
             f"- P99: {_percentile(row.p99_ns, row.p99_ci, row.n, P99_MIN_N)}"]
    for check in checks:
        lines.append(f"- Target: < {format_target_ms(check.target.threshold_ms)} "
                     f"{check.target.metric} ({check_label(check)})")
        lines.append(f"- Status: {_status(check)}")
    lines.append(f"- Outliers: {outliers}/{row.n} ({share}; {row.outliers_mild} mild, "
                 f"{row.outliers_severe} severe)")
    lines.extend(f"- Note: {note}" for note in row.notes)
    return [*lines, ""]


NO_TARGETS = "No targets for this suite: its measurements are reported, not checked"
NOTHING_CHECKED = "⚠️  No target checked: none has the samples it needs"


def summary_lines(checks: list[Any]) -> list[str]:
    """The verdict of a suite's (or the run's) target checks; a pass only where one was made."""
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warning"]
    missing = [c for c in checks if c.status == "missing"]
    if not checks:
        first = NO_TARGETS
    elif failed:
        first = f"❌ {len(failed)} of {len(checks)} targets failed"
    elif len(missing) == len(checks):
        first = NOTHING_CHECKED
    elif warned:
        first = (f"⚠️  All {'checked ' if missing else ''}targets met, {len(warned)} within 10% "
                 "of the target")
    else:
        first = "✅ All checked targets passed" if missing else "✅ All tests passed"
    lines = [first]
    if missing:
        lines.append(f"⚠️  {len(missing)} target(s) without data")
    ratios = [c.ratio for c in checks if c.ratio is not None]
    if ratios:
        average = math.exp(sum(math.log(r) for r in ratios) / len(ratios))  # geometric mean
        word = "better" if average >= 1 else "slower"
        factor = average if average >= 1 else 1 / average
        lines.append(f"🎯 Average performance: {factor:.1f}x {word} than targets")
    return lines


def _header(report: ReportInput, title: str) -> list[str]:
    meta = report.meta
    lines = [f"# {title}", f"Date: {meta.started_at:%Y-%m-%d %H:%M:%S} UTC",
             f"Commit: {meta.commit}", f"Environment: {meta.environment}",
             f"Run: {meta.run_id}", ""]
    if report.prerequisites:
        lines.append("## Prerequisites")
        lines += [f"- [{'x' if p.ok else ' '}] {p.name} ({p.detail})"
                  for p in report.prerequisites]
        lines.append("")
    return lines


def _measures(report: ReportInput, suite: str, heading: str) -> list[str]:
    measures = measures_lines(report, suite)
    return [heading, *(f"- {line}" for line in measures), ""] if measures else []


def suite_log(report: ReportInput, suite: str) -> str:
    """`tmp/benchmarks/<date>-<suite>.log`."""
    lines = _header(report, f"Benchmark Run: {suite}")
    status = suite_status_line(report, suite)
    if status is not None:
        lines += ["## Status", status, ""]
    lines += _measures(report, suite, "## What It Measures")
    lines += ["## Results", ""]
    checks = report.checks_of(suite)
    for row in report.measured_of(suite):
        lines += result_section(row, checks_for(row, checks))
    for check in unmatched(checks, report.stats_of(suite)):
        lines += [f"### {check_label(check)}", f"- Status: {_status(check)}",
                  f"- {check.message}", ""]
    set_off = report.set_off_of(suite)
    if set_off:
        lines += [f"## {SET_OFF_HEADING.rstrip(':')}", ""]
    for row in set_off:
        lines += result_section(row, checks_for(row, checks))
    if suite == E2E_SUITE:
        lines += breakdown_sections(report)
    findings = key_findings(report, suite)
    if findings:
        lines += ["## Key Findings"] + [f"- {finding}" for finding in findings] + [""]
    lines += ["## Summary", *summary_lines(checks)]
    return "\n".join(lines) + "\n"


def breakdown_sections(report: ReportInput) -> list[str]:
    lines: list[str] = []
    if report.breakdown:
        lines += ["## E2E Breakdown", "", *breakdown_table(report.breakdown)]
        lines.append("")
    if report.completeness:
        lines += ["## Trace Completeness", ""]
        for r in report.completeness:
            missing = ", ".join(f"{k}×{v}" for k, v in sorted(r.missing.items())) or "none"
            lines.append(f"- {r.scenario}: {r.complete} complete, {r.incomplete} incomplete "
                         f"(missing: {missing})")
        lines.append("")
    if report.lifecycle:
        lines += ["## Per-step Lifecycle (tasker-core publishes ~19 DB operations and 2 MQ "
                  "round trips per step)", "",
                  "| Scenario | Spans/step | Messages/step | Transitions/step | DB ops/step "
                  "| Tasker DB ops/step | Tasker MQ round trips/step |",
                  "|---|---|---|---|---|---|---|"]
        for r in report.lifecycle:
            db = "n/a" if r.db_operations_per_step is None else f"{r.db_operations_per_step:.1f}"
            moves = ("n/a" if r.transitions_per_step is None
                     else f"{r.transitions_per_step:.2f}")
            lines.append(f"| {r.scenario} | {r.spans_per_step:.1f} | {r.messages_per_step:.1f} | "
                         f"{moves} | {db} | {r.tasker_db_operations_per_step:g} | "
                         f"{r.tasker_mq_round_trips_per_step:g} |")
        lines.append("")
    return lines


def _stats_table(rows: list[Any]) -> list[str]:
    lines = ["| Benchmark | n | Mean | P50 | P95 | P99 |",
             "|-----------|---|------|-----|-----|-----|"]
    for r in rows:
        lines.append(f"| {benchmark_name(r)} | {r.n} | {format_ns(r.mean_ns)} | "
                     f"{format_ns(r.p50_ns)} | {format_ns(r.p95_ns)} | {format_ns(r.p99_ns)} |")
    return lines


def summary_markdown(report: ReportInput) -> str:
    """`latest/summary.md`: every suite of the run with its targets, breakdowns, baseline."""
    lines = _header(report, f"Benchmark Summary: {report.meta.run_id}")
    lines += ["## Targets", "", "| Suite | Target | Metric | Measured | Target | Status |",
              "|-------|--------|--------|----------|--------|--------|"]
    for suite in report.suites():
        for c in report.checks_of(suite):
            lines.append(f"| {suite} | {check_label(c)} | {c.target.metric} | "
                         f"{format_ms(c.measured_ms)} | "
                         f"< {format_target_ms(c.target.threshold_ms)} | "
                         f"{STATUS_MARK[c.status]} |")
    lines.append("")
    for suite in report.suites():
        lines += [f"## {suite}", ""]
        status = suite_status_line(report, suite)
        if status is not None:
            lines += [status, ""]
        lines += _measures(report, suite, MEASURES_HEADING)
        if status is not None and not report.stats_of(suite):
            continue
        lines += _stats_table(report.measured_of(suite))
        set_off = report.set_off_of(suite)
        if set_off:
            lines += ["", SET_OFF_HEADING, "", *_stats_table(set_off)]
        if suite == E2E_SUITE and report.completion:
            lines += ["", *report.completion]
        tax = report.tracing_tax_line() if suite == E2E_SUITE else None
        if tax is not None:
            lines += ["", tax]
        lines += ["", *summary_lines(report.checks_of(suite)), ""]
    lines += [line.replace("## ", "### ", 1) if line.startswith("## ") else line
              for line in breakdown_sections(report)]
    lines += derived_sections(report)
    if report.comparisons:
        lines += [f"## Baseline Comparison (against {report.baseline_name})", ""]
        lines += [*comparison_rows(report.comparisons), ""]
        for line in status_lines(report.comparisons):
            lines += [line, ""]
    lines += ["## Summary", *summary_lines(list(report.checks))]
    return "\n".join(lines) + "\n"
