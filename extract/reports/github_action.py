"""github-action-benchmark's `customSmallerIsBetter` input: one entry per benchmark."""

from __future__ import annotations

from typing import Any

from extract.reports.model import ReportInput, benchmark_name
from spanbench.units import ms
from spanbench.vocabulary import is_measurement

SET_OFF = "set off, not measured"
"""Marks a phase the suite sets off in other components (workers) without measuring it."""


def github_action_entries(report: ReportInput) -> list[dict[str, Any]]:
    """[{name, unit, value, range?, extra}] with the mean in ms; the CI of the mean as range.
    A benchmark without a mean (n < 2) has no entry; a phase the suite only sets off is named
    `... (set off, not measured)`."""
    entries: list[dict[str, Any]] = []
    for suite in report.suites():
        for row in report.stats_of(suite):
            mean = ms(row.mean_ns)
            if mean is None:
                continue
            name = f"{suite}/{benchmark_name(row)}"
            if not is_measurement(suite, row.phase):
                name += f" ({SET_OFF})"
            entry: dict[str, Any] = {"name": name, "unit": "ms", "value": round(mean, 6)}
            if row.mean_ci is not None:
                half = ms((row.mean_ci[1] - row.mean_ci[0]) / 2)
                entry["range"] = f"± {half:.6g}"
            extra = [f"n={row.n}"] + [f"{label}={value:.6g} ms" for label, value in
                                      (("p50", ms(row.p50_ns)), ("p95", ms(row.p95_ns)),
                                       ("p99", ms(row.p99_ns))) if value is not None]
            entry["extra"] = ", ".join(extra)
            entries.append(entry)
    return entries
