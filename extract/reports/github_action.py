"""github-action-benchmark's `customSmallerIsBetter` input: one entry per benchmark."""

from __future__ import annotations

from typing import Any

from extract.reports.model import ReportInput, benchmark_name
from spanbench.units import ms


def github_action_entries(report: ReportInput) -> list[dict[str, Any]]:
    """[{name, unit, value, range?, extra}] with the mean in ms; the CI of the mean as range."""
    entries: list[dict[str, Any]] = []
    for suite in report.suites():
        for row in report.stats_of(suite):
            mean = ms(row.mean_ns)
            if mean is None:
                continue
            entry: dict[str, Any] = {"name": f"{suite}/{benchmark_name(row)}", "unit": "ms",
                                     "value": round(mean, 6)}
            if row.mean_ci is not None:
                half = ms((row.mean_ci[1] - row.mean_ci[0]) / 2)
                entry["range"] = f"± {half:.6g}"
            extra = [f"n={row.n}"] + [f"{label}={value:.6g} ms" for label, value in
                                      (("p50", ms(row.p50_ns)), ("p95", ms(row.p95_ns)),
                                       ("p99", ms(row.p99_ns))) if value is not None]
            entry["extra"] = ", ".join(extra)
            entries.append(entry)
    return entries
