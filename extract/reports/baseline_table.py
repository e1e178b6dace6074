"""The baseline comparison as markdown (docs/formats.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import median
from typing import Any

from extract.analyse.run_level import FAMILY_FALSE_ALARM, MIN_VALUES
from extract.reports.model import COMPARISON_MARK, benchmark_name, threshold_note
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
                     f"{COMPARISON_MARK[row.status]} | {threshold_note(row)} |")
    return lines


def baseline_markdown(comparisons: Sequence[Any], baseline: str, current: str) -> str:
    """The whole document: title, what was compared, the table."""
    lines = ["# Performance Baseline Comparison", f"Baseline: {baseline}", f"Current: {current}",
             ""]
    lines += comparison_rows(comparisons)
    lines += ["", counts_line(comparisons)]
    lines += status_lines(comparisons)
    return "\n".join(lines) + "\n"


def status_lines(comparisons: Sequence[Any]) -> list[str]:
    """What the comparison could call: the power, the undecided, the disturbed and the
    confirmation lines."""
    return [line for line in (power_line(comparisons), undecided_line(comparisons),
                              disturbed_line(comparisons), confirmation_line(comparisons))
            if line]


def power_line(comparisons: Sequence[Any]) -> str | None:
    """How large a change the decided benchmarks can call on this machine (None: none can)."""
    bars = [row.threshold for row in comparisons if row.decides]
    if not bars:
        return None
    return (f"thresholds of the decided benchmarks ({len(bars)}; the smallest change each can "
            f"call here): median {median(bars):.0%}; "
            f"10% or less: {sum(bar <= 0.1 for bar in bars)}, "
            f"20% or less: {sum(bar <= 0.2 for bar in bars)}")


def counts_line(comparisons: Sequence[Any]) -> str:
    """How many benchmarks came out which way, and the rule that judged them."""
    counts = Counter(row.status for row in comparisons)
    return (f"{len(comparisons)} benchmarks: {counts['Improved']} improved, "
            f"{counts['Regressed']} regressed, {counts['Unstable']} unstable, "
            f"{counts['Stable']} stable (run-level medians of repetitions; a change counts "
            "beyond a bound from its spread between runs of the same code that unchanged code "
            f"crosses in {FAMILY_FALSE_ALARM:.0%} of comparisons, and beyond the largest move "
            "between those runs, never below the noise floor)")


def disturbed_line(comparisons: Sequence[Any]) -> str | None:
    """Which suites' calls were set aside because the machine was busy elsewhere (None: none)."""
    reasons = {row.suite: row.disturbed for row in comparisons if row.disturbed}
    if not reasons:
        return None
    suites = "; ".join(f"{suite}: {reason}" for suite, reason in reasons.items())
    return (f"no change called in {len(reasons)} suite(s), whose machine was busy elsewhere "
            f"({suites}): run again when it is quiet")


def confirmation_line(comparisons: Sequence[Any]) -> str | None:
    """How the regressions measured again came out (None: none were)."""
    again = [row for row in comparisons if row.confirmation]
    if not again:
        return None
    held = sum(row.status == "Regressed" for row in again)
    return (f"{len(again)} regression(s) measured again before being called: {held} "
            f"confirmed (Regressed), {len(again) - held} not (Unstable): a change is called "
            "only when it reproduces")


def undecided_line(comparisons: Sequence[Any]) -> str | None:
    """What to do when some benchmarks cannot be called yet (None when every one can)."""
    undecided = sum(not row.decides for row in comparisons)
    if not undecided:
        return None
    return (f"{undecided} of {len(comparisons)} benchmarks undecided: a change is called "
            f"Regressed or Improved once the spread between runs of the same code is known from "
            f"{MIN_VALUES} runs (the baseline's — add runs with 'spanbench baseline add NAME "
            "RUN...' — or this host's history, which grows with every run)")
