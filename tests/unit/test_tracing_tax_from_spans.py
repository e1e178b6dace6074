"""The tracing tax read from a run's spans, and the statistics that leave its control out."""

from __future__ import annotations

import pytest

from extract.analyse.analysis import phase_statistics
from extract.analyse.tracing_tax import run_tracing_tax
from spanbench.vocabulary import Attr, Phase, Suite
from tests.fake_runs import T0, spans_db

MS = 1_000_000


def _root(scenario: str, traced: bool | None, duration_ns: int, index: int,
          warmup: bool = False, status: str = "Unset") -> dict[str, object]:
    attributes = {} if traced is None else {Attr.STACK_TRACED: str(traced).lower()}
    return {"RunId": "r", "Suite": Suite.E2E_LATENCY, "Scenario": scenario,
            "Phase": Phase.E2E_WORKFLOW, "SpanName": Phase.E2E_WORKFLOW, "Warmup": warmup,
            "StatusCode": status, "Duration": duration_ns, "Timestamp": T0,
            "SpanAttributes": attributes, "TraceId": f"t{scenario}{index}",
            "SpanId": f"s{scenario}{index}"}


def _run() -> list[dict[str, object]]:
    rows = []
    for i in range(10):
        rows.append(_root("a", True, (110 + i % 3) * MS, 2 * i))
        rows.append(_root("a", False, (100 + i % 3) * MS, 2 * i + 1))
        rows.append(_root("b", True, (220 + i % 3) * MS, 100 + i))  # b: traced only
    rows.append(_root("a", False, 1 * MS, 500, warmup=True))
    rows.append(_root("a", False, 1 * MS, 501, status="Error"))
    rows.append(_root("a", None, 1 * MS, 502))  # says neither: in no side
    return rows


def test_the_tax_is_over_scenarios_measured_both_ways() -> None:
    tax = run_tracing_tax(spans_db(_run()), "r")
    assert tax is not None
    assert (tax.n_traced, tax.n_untraced) == (10, 10)
    assert (tax.median_traced, tax.median_untraced) == (111 * MS, 101 * MS)
    assert tax.ratio == pytest.approx(111 / 101 - 1)


def test_a_run_without_untraced_workflows_has_no_tax() -> None:
    rows = [row for row in _run() if row["Scenario"] == "b"]
    assert run_tracing_tax(spans_db(rows), "r") is None


def test_statistics_leave_the_untraced_control_out() -> None:
    stats = {row.scenario: row for row in phase_statistics(spans_db(_run()), "r")}
    assert stats["a"].n == 11  # ten traced and the one that says neither
    assert stats["a"].errors == 0
    assert stats["a"].p50_ns == 111 * MS
    assert stats["b"].n == 10
