"""Key findings, computed from the data (never canned): one sentence each."""

from __future__ import annotations

from typing import Any

from extract.reports.model import (
    E2E_SUITE,
    ReportInput,
    benchmark_name,
    check_label,
)
from spanbench.units import format_ms, format_ns, ms
from spanbench.vocabulary import is_measurement


def _slowest(report: ReportInput, suite: str) -> str | None:
    if suite == E2E_SUITE and report.breakdown:
        top = max(report.breakdown, key=lambda row: (row.share, row.median_ns))
        return (f"Slowest phase: {top.phase} in {top.scenario}, {top.share:.0%} of the "
                f"workflow's wall time (median {format_ns(top.median_ns)}, "
                f"{top.n_workflows} workflows)")
    rows = [row for row in report.measured_of(suite) if ms(row.p50_ns) is not None]
    if not rows:
        return None
    top = max(rows, key=lambda row: row.p50_ns)
    return f"Slowest: {benchmark_name(top)}, median {format_ns(top.p50_ns)}"


def _largest_change(report: ReportInput, suite: str) -> str | None:
    rows = [row for row in report.comparisons_of(suite)
            if row.change is not None and is_measurement(suite, row.phase)]
    if not rows:
        return None
    top = max(rows, key=lambda row: abs(row.change))
    p = "" if top.p_value is None else f", p={top.p_value:.3g}"
    return (f"Largest change vs baseline {report.baseline_name}: {benchmark_name(top)} "
            f"{top.change:+.1%} ({format_ns(top.baseline_median_ns)} → "
            f"{format_ns(top.current_median_ns)}, {top.status}{p})")


def _thin_percentiles(rows: list[Any]) -> str | None:
    no95 = [row for row in rows if row.p95_ns is None and row.n > 0]
    no99 = [row for row in rows if row.p99_ns is None and row.n > 0]
    if not no99:
        return None
    fewest = min(no99, key=lambda row: row.n)
    text = f"p99 not reported for {len(no99)} of {len(rows)} benchmarks (needs n ≥ 100"
    if no95:
        text += f"; p95 missing for {len(no95)}, needs n ≥ 20"
    return text + f"); fewest samples: {benchmark_name(fewest)} n={fewest.n}"


def _incomplete(report: ReportInput, suite: str) -> list[str]:
    if suite != E2E_SUITE:
        return []
    lines = []
    for row in report.completeness:
        if row.incomplete:
            missing = ", ".join(f"{phase}×{count}" for phase, count
                                in sorted(row.missing.items())) or "spans"
            total = row.complete + row.incomplete
            lines.append(f"{row.incomplete} of {total} {row.scenario} workflows had incomplete "
                         f"traces (missing {missing}); left out of the breakdown")
    return lines


def _unmapped(report: ReportInput, suite: str) -> str | None:
    rows = [row for row in report.unmapped if row.suite == suite]
    if not rows:
        return None
    names = ", ".join(f"{row.span_name} ({row.spans})" for row in rows)
    total = sum(row.spans for row in rows)
    return (f"Unmapped span names: {names}, {total} spans in no phase; name them in a phase "
            "map (--phase-map FILE) to attribute them")


def _tracing_tax(report: ReportInput, suite: str) -> str | None:
    tax = report.tracing_tax
    if suite != E2E_SUITE or tax is None:
        return None
    return (f"Tracing tax (stack traced vs untraced workflows, medians): {tax.ratio:+.1%}, "
            f"95% CI {tax.ci_low:+.1%} … {tax.ci_high:+.1%} (n = {tax.n_traced} + "
            f"{tax.n_untraced}): {tax.verdict()}")


def key_findings(report: ReportInput, suite: str) -> list[str]:
    """The suite's findings, most telling first; about its own measurements only."""
    rows = report.measured_of(suite)
    found: list[str | None] = [_slowest(report, suite), _tracing_tax(report, suite),
                               _largest_change(report, suite)]
    failed = [c for c in report.checks_of(suite) if c.status == "fail"]
    if failed:
        worst = min(failed, key=lambda c: c.ratio if c.ratio is not None else 0.0)
        found.append(f"{len(failed)} target(s) missed; worst: {check_label(worst)} "
                     f"{format_ms(worst.measured_ms)} against < {worst.target.threshold_ms:g} ms")
    found.append(_thin_percentiles(rows))
    found.extend(_incomplete(report, suite))
    found.append(_unmapped(report, suite))
    errors = sum(row.errors for row in rows)
    if errors:
        worst_row = max(rows, key=lambda row: row.errors)
        found.append(f"{errors} failed iteration(s); most in {benchmark_name(worst_row)} "
                     f"({worst_row.errors})")
    severe = [row for row in rows if row.outliers_severe]
    if severe:
        worst_row = max(severe, key=lambda row: row.outliers_severe / max(row.n, 1))
        found.append(f"Severe outliers in {len(severe)} benchmark(s); most in "
                     f"{benchmark_name(worst_row)} ({worst_row.outliers_severe}/{worst_row.n})")
    return [line for line in found if line]
