"""e2e_latency in quick mode: one trace per workflow, the observer-effect split, failures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pytest

from extract.analyse.tracing_tax import stratified_tracing_tax
from instrument.drivers import e2e_latency
from instrument.drivers.base import DriverContext
from instrument.drivers.e2e_latency import STACK_TRACED, E2eOutcome, Workflow
from instrument.systems.base import TemplateRef
from spanbench.vocabulary import STACK_PHASES, Attr, Phase
from tests.driver_harness import DriverEnv
from tests.otlp_capture import CapturedSpan
from tests.recording_progress import RecordingProgress

STEPS = {"linear_3": 3, "linear_4": 4, "diamond_4": 4, "tree_7": 7, "complex_dag_7": 7}
ITERATIONS = 4  # quick mode: 1 warm-up + 3 samples


@dataclass
class E2eRun:
    ctx: DriverContext
    outcome: E2eOutcome
    spans: list[CapturedSpan]

    def roots(self) -> list[CapturedSpan]:
        return [s for s in self.spans if s.name == Phase.E2E_WORKFLOW]

    def traces(self) -> dict[str, list[CapturedSpan]]:
        by_trace: dict[str, list[CapturedSpan]] = defaultdict(list)
        for span in self.spans:
            by_trace[span.trace_id].append(span)
        return by_trace


@pytest.fixture(scope="module")
def quick_run(driver_env: DriverEnv) -> E2eRun:
    ctx = driver_env.context(e2e_latency.SUITE, client_poll=True)
    outcome = e2e_latency.run(ctx)
    return E2eRun(ctx, outcome, driver_env.spans_of(ctx, settle_s=1.5))


def _reaches(span: CapturedSpan, root: CapturedSpan, by_id: dict[str, CapturedSpan]) -> bool:
    while span.parent_span_id:
        if span.parent_span_id not in by_id:
            return False
        span = by_id[span.parent_span_id]
    return span is root


def test_traced_workflows_are_one_trace_holding_every_stack_phase(quick_run: E2eRun) -> None:
    assert quick_run.ctx.failures == []
    roots = quick_run.roots()
    assert sorted((r.attributes[Attr.SCENARIO], r.attributes[Attr.ITERATION]) for r in roots) == (
        sorted((scenario, i) for scenario in STEPS for i in range(ITERATIONS)))
    traces = quick_run.traces()
    for root in roots:
        scenario, index = root.attributes[Attr.SCENARIO], root.attributes[Attr.ITERATION]
        assert root.parent_span_id == "" and root.status_code != "ERROR"
        assert root.attributes[Attr.WARMUP] == (index == 0)
        assert root.attributes[STACK_TRACED] == (index % 2 == 0)
        assert 0 < root.attributes[e2e_latency.POLL_COMPLETION] < 30e9
        trace = traces[root.trace_id]
        names = [s.name for s in trace]
        clients = [s for s in trace if s.parent_span_id == root.span_id]
        assert [(s.name, s.kind) for s in clients] == [(Phase.API_CREATE_TASK, "CLIENT")]
        if not root.attributes[STACK_TRACED]:
            assert sorted(names) == [Phase.API_CREATE_TASK, Phase.E2E_WORKFLOW]
            continue
        assert set(STACK_PHASES) <= set(names), (scenario, sorted(names))
        for phase in (Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT, Phase.RESULT_PROCESS):
            assert names.count(phase) == STEPS[scenario], (scenario, phase)
        assert names.count(Phase.TASK_FINALIZE) == 1
        by_id = {s.span_id: s for s in trace}
        for span in trace:
            assert _reaches(span, root, by_id), (span.name, scenario)
            for key in (Attr.RUN_ID, Attr.SUITE, Attr.SCENARIO, Attr.ITERATION, Attr.WARMUP):
                assert span.attributes[key] == root.attributes[key], (span.name, key)
            if span.name in (Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT, Phase.TASK_FINALIZE):
                assert span.attributes[Attr.TASK_UUID] == root.attributes[Attr.TASK_UUID]


def test_untraced_workflows_leave_no_stack_spans_anywhere(quick_run: E2eRun) -> None:
    roots = quick_run.roots()
    assert {s.trace_id for s in quick_run.spans} == {r.trace_id for r in roots}
    assert sum(not r.attributes[STACK_TRACED] for r in roots) == 2 * len(STEPS)


def test_the_outcome_holds_the_exported_durations_and_a_tax(quick_run: E2eRun) -> None:
    outcome = quick_run.outcome
    measured = {(s.scenario, s.index): s.duration_ns for s in outcome.samples}
    exported = {(r.attributes[Attr.SCENARIO], r.attributes[Attr.ITERATION]): r.duration_ns
                for r in quick_run.roots() if not r.attributes[Attr.WARMUP]}
    assert measured == exported
    strata = [(outcome.durations(s, True), outcome.durations(s, False)) for s in STEPS]
    tax = stratified_tracing_tax(strata)
    assert (tax.n_traced, tax.n_untraced) == (5, 10)
    assert tax.ci_low <= tax.ratio <= tax.ci_high


def test_every_span_of_a_workflow_says_whether_the_stack_traced_it(quick_run: E2eRun) -> None:
    for spans in quick_run.traces().values():
        root = next(s for s in spans if s.name == Phase.E2E_WORKFLOW)
        assert {s.attributes[STACK_TRACED] for s in spans} == {root.attributes[STACK_TRACED]}


def test_a_wrong_expected_result_marks_the_workflow_as_an_error(
        driver_env: DriverEnv) -> None:
    wrong = Workflow({"linear_step_3": 7})
    ctx = driver_env.context(e2e_latency.SUITE, quick=False, samples=1, warmup=0)
    ctx.progress = progress = RecordingProgress()
    outcome = e2e_latency.run(ctx, workflows={"linear_3": wrong})
    assert outcome.samples == [] and len(ctx.failures) == 1
    assert progress.planned == {ctx.suite: 1} and progress.advanced == {(ctx.suite, "linear_3"): 1}
    [root] = [s for s in driver_env.spans_of(ctx, settle_s=0.3) if s.name == Phase.E2E_WORKFLOW]
    assert root.status_code == "ERROR"
    assert "math check failed" in root.status_message
    assert "linear_step_3 = 1679616, expected 279936" in root.status_message
    assert e2e_latency.POLL_COMPLETION not in root.attributes  # no client polls by default


def test_a_stuck_workflow_costs_one_error_span_and_the_run_goes_on(
        driver_env: DriverEnv) -> None:
    stuck = Workflow({"single_sleep_ms": 1}, context={"even_number": 6, "sleep_ms": 3000},
                     template=TemplateRef("single_step", "single_sleep_ms"))
    ctx = driver_env.context(e2e_latency.SUITE, quick=False, samples=2, warmup=0,
                             iteration_timeout_s=0.8)
    outcome = e2e_latency.run(
        ctx, workflows={"stuck": stuck, "linear_3": e2e_latency.SCENARIOS["linear_3"]})
    assert [(f.scenario, f.index) for f in ctx.failures] == [("stuck", 0), ("stuck", 1)]
    assert all("IterationTimeout" in f.error for f in ctx.failures)
    assert [(s.scenario, s.index) for s in outcome.samples] == [("linear_3", 0), ("linear_3", 1)]
    spans = driver_env.spans_of(ctx, settle_s=0.3)
    errors = [s for s in spans if s.status_code == "ERROR"]
    assert sorted((s.name, s.attributes[Attr.SCENARIO], s.attributes[Attr.ITERATION])
                  for s in errors) == [(Phase.E2E_WORKFLOW, "stuck", 0),
                                       (Phase.E2E_WORKFLOW, "stuck", 1)]
    assert all(0.8e9 <= s.duration_ns < 2e9 for s in errors)
