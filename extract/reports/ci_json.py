"""CI JSON (docs/formats.md): per suite, and combined for the whole run (data, not text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from extract.reports.model import (
    SCHEMA_VERSION,
    ReportInput,
    benchmark_name,
    check_scenario,
    checks_for,
    unmatched,
)
from extract.store.run_json import SUITE_FAILED, SUITE_SKIPPED
from spanbench.units import ms
from spanbench.vocabulary import Source, Suite, is_measurement

DERIVED_SOURCE = Source.DERIVED

JSON_STATUS = {"pass": "pass", "warning": "warning", "fail": "fail", "missing": "warning"}
"""A target without data is a warning: nothing failed, but nothing was shown to pass."""


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _statistics(row: Any) -> dict[str, Any]:
    """A benchmark's statistics in ms; null where too few samples support one."""
    return {"mean_ms": _r(ms(row.mean_ns)), "std_dev_ms": _r(ms(row.std_ns)),
            "p50_ms": _r(ms(row.p50_ns)), "p95_ms": _r(ms(row.p95_ns)),
            "p99_ms": _r(ms(row.p99_ns))}


def _result(row: Any, check: Any, measures: Mapping[str, str]) -> dict[str, Any]:
    """One target checked on one benchmark: the seed's fields and the benchmark's statistics."""
    statistics = _statistics(row)
    return {
        "name": f"{benchmark_name(row)} {check.target.metric}",
        "mean_ms": statistics.pop("mean_ms"), "std_dev_ms": statistics.pop("std_dev_ms"),
        "target_ms": check.target.threshold_ms, "status": JSON_STATUS[check.status],
        "performance_ratio": None if check.ratio is None else round(check.ratio, 3),
        "scenario": row.scenario, "variant": row.variant, "phase": row.phase,
        "metric": check.target.metric, "measured_ms": _r(check.measured_ms),
        "n": row.n, "errors": row.errors, **statistics, "subject": measures.get(row.scenario),
    }


def _measurement(row: Any, measures: Mapping[str, str]) -> dict[str, Any]:
    """One benchmark's statistics, target or not: no status, for nothing was compared.
    A phase the suite sets off in other components without measuring it says `set_off`."""
    entry = {"name": benchmark_name(row), "scenario": row.scenario, "variant": row.variant,
             "phase": row.phase, "n": row.n, "errors": row.errors, **_statistics(row),
             "subject": measures.get(row.scenario)}
    if not is_measurement(row.suite, row.phase):
        entry["set_off"] = True
    return entry


def _derived_measurement(row: Any) -> dict[str, Any]:
    """A worker_execution phase derived from the deployment's transitions: named
    `<scenario>/<phase> (derived)`, with `source` derived."""
    return {"name": f"{row.scenario}/{row.phase} (derived)", "scenario": row.scenario,
            "variant": None, "phase": row.phase, "n": row.n, "errors": 0, **_statistics(row),
            "subject": None, "source": DERIVED_SOURCE}


def _missing(check: Any, measures: Mapping[str, str]) -> dict[str, Any]:
    t = check.target
    return {"name": f"{check_scenario(check)}/{t.phase} {t.metric}", "mean_ms": None,
            "std_dev_ms": None, "target_ms": t.threshold_ms, "status": "warning",
            "performance_ratio": None, "scenario": t.scenario, "variant": None,
            "phase": t.phase, "metric": t.metric, "measured_ms": None, "n": 0, "errors": 0,
            "p50_ms": None, "p95_ms": None, "p99_ms": None,
            "subject": measures.get(t.scenario) if t.scenario else None}


def _summary(results: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [result["status"] for result in results]
    return {"total_tests": len(statuses), "passed": statuses.count("pass"),
            "failed": statuses.count("fail"), "warnings": statuses.count("warning")}


def suite_document(report: ReportInput, suite: str) -> dict[str, Any]:
    """One suite: a result per target checked (or without data), and a measurement per
    benchmark; only results have a status and only they are counted."""
    checks = report.checks_of(suite)
    measures = report.measures_of(suite)
    rows = report.stats_of(suite)
    results = [_result(row, check, measures) for row in rows
               for check in checks_for(row, checks)]
    results += [_missing(check, measures) for check in unmatched(checks, rows)]
    measurements = [_measurement(row, measures) for row in rows]
    if suite == Suite.WORKER_EXECUTION:
        measurements += [_derived_measurement(row) for row in report.derived_worker]
    outcome = report.status_of(suite)
    return {"schema_version": SCHEMA_VERSION, "benchmark_suite": suite,
            "timestamp": report.meta.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": report.meta.commit, "run_id": report.meta.run_id,
            "status": outcome.status, "reason": outcome.reason or None,
            "measures": measures or None, "results": results, "measurements": measurements,
            "summary": _summary(results)}


def combined_document(report: ReportInput) -> dict[str, Any]:
    """`latest/results.json`: every suite's document and the run's totals."""
    suites = [suite_document(report, suite) for suite in report.suites()]
    totals = _summary([result for doc in suites for result in doc["results"]])
    totals["suites_skipped"] = len(report.suites_with(SUITE_SKIPPED))
    totals["suites_failed"] = len(report.suites_with(SUITE_FAILED))
    return {"schema_version": SCHEMA_VERSION,
            "timestamp": report.meta.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": report.meta.commit, "run_id": report.meta.run_id,
            "suites": suites, "summary": totals}
