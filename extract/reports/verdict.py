"""The run's exit code and the one line that names the failing check."""

from __future__ import annotations

from dataclasses import dataclass

from extract.reports.model import ReportInput, benchmark_name, check_name, threshold_note
from spanbench.units import format_ms, format_target_ms, ms

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    lines: tuple[str, ...]
    """One line per failing check or regression (empty when all pass)."""


def verdict(report: ReportInput) -> Verdict:
    """0 when every target passes (warnings allowed), 1 on a failed target or a regression."""
    lines = [f"FAIL {check_name(c)} {format_ms(c.measured_ms)} ≥ "
             f"{format_target_ms(c.target.threshold_ms)}"
             for c in report.checks if c.status == "fail" and c.measured_ms is not None]
    lines += [f"REGRESSED {r.suite}/{benchmark_name(r)} median {ms(r.baseline_median_ns):.3g} ms → "
              f"{ms(r.current_median_ns):.3g} ms ({r.change:+.1%} > threshold "
              f"{threshold_note(r)}) against baseline {report.baseline_name}"
              for r in report.comparisons if r.status == "Regressed"]
    return Verdict(EXIT_FAILED if lines else EXIT_OK, tuple(lines))
