"""The e2e breakdown attributes every instant of a workflow once and sums exactly to its span."""

from __future__ import annotations

import itertools
import random

import pytest

from extract.analyse.breakdown import (
    Completeness,
    e2e_analysis,
    e2e_breakdown,
    lifecycle_counts,
    trace_completeness,
    workflow_breakdowns,
)
from tests.e2e_traces import DIAMOND, UNIT, Drawn, Workflow, spans_view, table_rows

# Worked by hand from DIAMOND's drawing, in units (see tests/e2e_traces.py).
DIAMOND_UNITS = {
    "wait": 31, "api.create_task": 2, "POST /v1/tasks": 2, "task.initialize": 4,
    "discovery": 5, "publish": 4, "claim": 7, "execute": 22, "submit": 5,
    "result.process": 12, "task.finalize": 6,
}


def test_a_diamond_is_attributed_phase_by_phase_and_sums_to_its_duration() -> None:
    con = spans_view([Workflow("t1", "diamond_4", DIAMOND)])
    rows = workflow_breakdowns(con, "r")
    assert {phase: ns for _, _, phase, ns in rows} == {
        phase: units * UNIT for phase, units in DIAMOND_UNITS.items()}
    assert sum(ns for *_, ns in rows) == 100 * UNIT
    assert {(trace, scenario) for trace, scenario, _, _ in rows} == {("t1", "diamond_4")}


def test_spans_are_clipped_to_the_root() -> None:
    late = (*DIAMOND, Drawn("notify", "late", "fin", 70, 130))
    con = spans_view([Workflow("t1", "diamond_4", late)])
    by_phase = {phase: ns for _, _, phase, ns in workflow_breakdowns(con, "r")}
    assert by_phase["notify"] == 30 * UNIT
    assert by_phase["wait"] == 6 * UNIT
    assert by_phase["result.process"] == 9 * UNIT
    assert sum(by_phase.values()) == 100 * UNIT


def test_the_scenario_breakdown_takes_medians_and_shares_over_workflows() -> None:
    longer = Workflow("t2", "diamond_4", DIAMOND, end=120)  # 20 more units of wait
    con = spans_view([Workflow("t1", "diamond_4", DIAMOND), longer])
    rows = {row.phase: row for row in e2e_breakdown(con, "r")}
    assert set(rows) == set(DIAMOND_UNITS)
    assert rows["wait"].median_ns == pytest.approx((31 + 51) / 2 * UNIT)
    assert rows["execute"].median_ns == pytest.approx(22 * UNIT)
    assert rows["wait"].share == pytest.approx((31 + 51) / 220)
    assert sum(row.share for row in rows.values()) == pytest.approx(1.0)
    assert all(row.p95_ns is None and row.n_workflows == 2 for row in rows.values())


def test_p95_from_twenty_workflows() -> None:
    con = spans_view([Workflow(f"t{i}", "diamond_4", DIAMOND, end=100 + i) for i in range(20)])
    wait = next(row for row in e2e_breakdown(con, "r") if row.phase == "wait")
    assert wait.n_workflows == 20
    assert wait.p95_ns == pytest.approx((31 + 0.95 * 19) * UNIT)


def test_a_trace_missing_a_span_is_incomplete_and_left_out() -> None:
    no_claim = tuple(s for s in DIAMOND if s.span_id != "claimD")
    con = spans_view([Workflow("t1", "diamond_4", DIAMOND),
                      Workflow("t2", "diamond_4", no_claim, end=300)])
    assert trace_completeness(con, "r") == [Completeness("diamond_4", 1, 1, {"claim": 1})]
    assert {trace for trace, *_ in workflow_breakdowns(con, "r")} == {"t1"}
    assert {row.n_workflows for row in e2e_breakdown(con, "r")} == {1}


def test_a_lost_parent_makes_everything_under_it_missing() -> None:
    lost = tuple(s for s in DIAMOND if s.span_id != "pubD")
    con = spans_view([Workflow("t1", "diamond_4", lost)])
    [result] = trace_completeness(con, "r")
    assert (result.complete, result.incomplete) == (0, 1)
    assert result.missing == {phase: 1 for phase in
                              ("claim", "execute", "result.process", "submit", "task.finalize")}
    assert workflow_breakdowns(con, "r") == []


def test_warmup_untraced_other_runs_and_unknown_templates() -> None:
    con = spans_view([
        Workflow("t1", "diamond_4", DIAMOND),
        Workflow("w", "diamond_4", DIAMOND, warmup=True),
        Workflow("u", "diamond_4", (), stack_traced=False),
        Workflow("o", "diamond_4", DIAMOND, run_id="other"),
        Workflow("x", "mystery", DIAMOND),
    ])
    assert trace_completeness(con, "r") == [
        Completeness("diamond_4", 1, 0, {}), Completeness("mystery", 0, 1, {"template": 1})]
    assert {trace for trace, *_ in workflow_breakdowns(con, "r")} == {"t1"}


def test_one_pass_analysis_agrees_with_the_single_queries() -> None:
    no_claim = tuple(s for s in DIAMOND if s.span_id != "claimD")
    con = spans_view([Workflow(f"t{i}", "diamond_4", DIAMOND, end=100 + i) for i in range(3)]
                     + [Workflow("bad", "diamond_4", no_claim)])
    together = e2e_analysis(con, "r", with_workflows=True)
    assert together.breakdown == e2e_breakdown(con, "r")
    assert together.workflows is not None
    assert table_rows(together.workflows) == workflow_breakdowns(con, "r")
    assert together.completeness == trace_completeness(con, "r")
    assert together.lifecycle == lifecycle_counts(con, "r")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def _reference_attribution(flow: Workflow) -> dict[str, int]:
    """The rule by brute force, in units: per elementary interval, the open span with the
    smallest (-depth, start, span id) wins; 'wait' where none is open."""
    parents = {s.span_id: s.parent for s in flow.spans}

    def depth(span_id: str) -> int:
        return 0 if span_id == "root" else 1 + depth(parents[span_id])

    clipped = [(max(s.start, 0), min(s.end, flow.end), (-depth(s.span_id), s.start, s.span_id),
                s.name) for s in flow.spans if max(s.start, 0) < min(s.end, flow.end)]
    cuts = sorted({0, flow.end} | {b for s, e, _, _ in clipped for b in (s, e)})
    totals: dict[str, int] = {}
    for left, right in itertools.pairwise(cuts):
        open_now = [(key, name) for s, e, key, name in clipped if s <= left < e]
        name = min(open_now)[1] if open_now else "wait"
        totals[name] = totals.get(name, 0) + right - left
    return totals


def _random_trace(rng: random.Random) -> tuple[Drawn, ...]:
    """DIAMOND plus a random subtree: overlapping siblings, shared and equal boundaries,
    children outliving their parents, spans before and after the root."""
    extra: list[Drawn] = []
    ids = ["root", "create", "rpA", "execB"]
    for number in range(rng.randint(1, 25)):
        start = rng.randint(-10, 105)
        end = start + rng.choice([0, 1, 1, 2, 3, 5, 8, 20, 40])
        span_id = f"x{number:02d}"
        extra.append(Drawn(rng.choice(["a", "b", "c", "claim"]), span_id, rng.choice(ids),
                           start, end))
        ids.append(span_id)
    return (*DIAMOND, *extra)


@pytest.mark.parametrize("seed", range(40))
def test_attribution_matches_the_rule_computed_by_brute_force(seed: int) -> None:
    flow = Workflow("t1", "diamond_4", _random_trace(random.Random(seed)))
    rows = workflow_breakdowns(spans_view([flow]), "r")
    assert {phase: ns for _, _, phase, ns in rows} == {
        phase: units * UNIT for phase, units in _reference_attribution(flow).items()}


def test_a_trace_deeper_than_62_levels_is_incomplete() -> None:
    chain = tuple(Drawn("hop", f"h{i}", f"h{i - 1}" if i else "fin", 66, 72) for i in range(60))
    con = spans_view([Workflow("deep", "diamond_4", (*DIAMOND, *chain))])
    [result] = trace_completeness(con, "r")
    assert (result.complete, result.incomplete, result.missing) == (0, 1, {"depth": 1})
    assert workflow_breakdowns(con, "r") == []


def test_the_deepest_of_55_open_levels_wins() -> None:
    """All of depths 1..55 open at once: the depth mask needs more bits than a double holds."""
    chain = tuple(Drawn(f"hop{i}", f"h{i}", f"h{i - 1}" if i else "root", 80, 90)
                  for i in range(55))
    flow = Workflow("t1", "diamond_4", (*DIAMOND, *chain))
    by_phase = {phase: ns for _, _, phase, ns in workflow_breakdowns(spans_view([flow]), "r")}
    assert by_phase["hop54"] == 10 * UNIT
    assert by_phase == {phase: units * UNIT
                        for phase, units in _reference_attribution(flow).items()}


@pytest.mark.parametrize("seed", range(10))
def test_workflows_attributed_together_each_match_the_brute_force_rule(seed: int) -> None:
    """Many workflows in one run, overlapping in time or one after another: one workflow's
    open spans and boundaries never reach its neighbours'."""
    rng = random.Random(seed)
    flows = [Workflow(f"t{i}", "diamond_4", _random_trace(rng), end=100 + rng.randint(-5, 5),
                      offset=rng.choice([0, 50, 1000 * i]))
             for i in range(6)]
    rows = workflow_breakdowns(spans_view(flows), "r")
    for flow in flows:
        assert {phase: ns for trace, _, phase, ns in rows if trace == flow.trace_id} == {
            phase: units * UNIT for phase, units in _reference_attribution(flow).items()}
