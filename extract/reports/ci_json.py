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
from spanbench.vocabulary import Source, Suite

DERIVED_SOURCE = Source.DERIVED

JSON_STATUS = {"pass": "pass", "warning": "warning", "fail": "fail", "missing": "warning"}
"""A target without data is a warning: nothing failed, but nothing was shown to pass."""


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _result(row: Any, check: Any | None, measures: Mapping[str, str]) -> dict[str, Any]:
    name = benchmark_name(row)
    return {
        "name": name if check is None else f"{name} {check.target.metric}",
        "mean_ms": _r(ms(row.mean_ns)), "std_dev_ms": _r(ms(row.std_ns)),
        "target_ms": None if check is None else check.target.threshold_ms,
        "status": "pass" if check is None else JSON_STATUS[check.status],
        "performance_ratio": None if check is None or check.ratio is None
        else round(check.ratio, 3),
        "scenario": row.scenario, "variant": row.variant, "phase": row.phase,
        "metric": None if check is None else check.target.metric,
        "measured_ms": None if check is None else _r(check.measured_ms),
        "n": row.n, "errors": row.errors,
        "p50_ms": _r(ms(row.p50_ns)), "p95_ms": _r(ms(row.p95_ns)), "p99_ms": _r(ms(row.p99_ns)),
        "subject": measures.get(row.scenario),
    }


def _derived_result(row: Any) -> dict[str, Any]:
    """A worker_execution phase derived from the deployment's transitions: the same fields as a
    measured one, named `<scenario>/<phase> (derived)`, with `source` derived."""
    return {
        "name": f"{row.scenario}/{row.phase} (derived)",
        "mean_ms": _r(ms(row.mean_ns)), "std_dev_ms": _r(ms(row.std_ns)), "target_ms": None,
        "status": "pass", "performance_ratio": None, "scenario": row.scenario, "variant": None,
        "phase": row.phase, "metric": None, "measured_ms": None, "n": row.n, "errors": 0,
        "p50_ms": _r(ms(row.p50_ns)), "p95_ms": _r(ms(row.p95_ns)), "p99_ms": _r(ms(row.p99_ns)),
        "subject": None, "source": DERIVED_SOURCE,
    }


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
    """One suite: a result per benchmark and target (untargeted benchmarks pass, target null)."""
    checks = report.checks_of(suite)
    measures = report.measures_of(suite)
    results: list[dict[str, Any]] = []
    for row in report.stats_of(suite):
        matched = checks_for(row, checks)
        results += ([_result(row, check, measures) for check in matched]
                    or [_result(row, None, measures)])
    results += [_missing(check, measures) for check in unmatched(checks, report.stats_of(suite))]
    if suite == Suite.WORKER_EXECUTION:
        results += [_derived_result(row) for row in report.derived_worker]
    outcome = report.status_of(suite)
    return {"schema_version": SCHEMA_VERSION, "benchmark_suite": suite,
            "timestamp": report.meta.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": report.meta.commit, "run_id": report.meta.run_id,
            "status": outcome.status, "reason": outcome.reason or None,
            "measures": measures or None, "results": results, "summary": _summary(results)}


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
