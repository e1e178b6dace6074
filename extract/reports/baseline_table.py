"""The baseline comparison as markdown (docs/formats.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from extract.reports.model import COMPARISON_MARK, benchmark_name
from spanbench.units import format_compact_ms


def comparison_rows(comparisons: Sequence[Any]) -> list[str]:
    """The table alone: header and one row per benchmark."""
    lines = ["| Benchmark | Baseline | Current | Change | Status | Threshold |",
             "|-----------|----------|---------|--------|--------|-----------|"]
    for row in comparisons:
        change = "n/a" if row.change is None else f"{row.change:+.1%}"
        lines.append(f"| {row.suite}/{benchmark_name(row)} | "
                     f"{format_compact_ms(row.baseline_median_ns)} | "
                     f"{format_compact_ms(row.current_median_ns)} | {change} | "
                     f"{COMPARISON_MARK[row.status]} | {row.note} |")
    return lines


def baseline_markdown(comparisons: Sequence[Any], baseline: str, current: str) -> str:
    """The whole document: title, what was compared, the table."""
    lines = ["# Performance Baseline Comparison", f"Baseline: {baseline}", f"Current: {current}",
             ""]
    lines += comparison_rows(comparisons)
    counts = Counter(row.status for row in comparisons)
    lines += ["", f"{len(comparisons)} benchmarks: {counts['Improved']} improved, "
              f"{counts['Regressed']} regressed, {counts['Unstable']} unstable, "
              f"{counts['Stable']} stable (run-level medians of repetitions; a change counts "
              "beyond 3 × its spread, never below the noise floor)"]
    return "\n".join(lines) + "\n"
