"""The driver machinery: iterations, warm-up, baggage, failures that do not stop a run."""

from __future__ import annotations

from opentelemetry import baggage
from opentelemetry.trace import get_current_span

from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from spanbench.vocabulary import Attr

SYSTEM = SpanbenchStack(Endpoints("http://127.0.0.1:1", "postgresql://nowhere/db"))


def _ctx(**settings: object) -> DriverContext:
    return DriverContext("e2e_latency", RunSettings(run_id="r1", **settings),  # type: ignore[arg-type]
                         SYSTEM, PhaseRecorder(None))


def test_warmup_iterations_come_first_and_are_marked() -> None:
    ctx = _ctx()
    its = list(ctx.iterations("linear_3", samples=4, warmup=2))
    assert [(i.index, i.warmup) for i in its] == [(0, True), (1, True), (2, False), (3, False),
                                                  (4, False), (5, False)]


def test_flags_override_the_suite_defaults_and_quick_overrides_both() -> None:
    assert len(list(_ctx(samples=7, warmup=0).iterations("s", samples=50, warmup=5))) == 7
    assert len(list(_ctx(quick=True, samples=7).iterations("s", samples=50, warmup=5))) == 4


def test_the_parent_carries_the_bench_values_as_baggage() -> None:
    ctx = _ctx()
    iteration = next(iter(ctx.iterations("diamond_4", samples=1, warmup=1)))
    parent = ctx.parent(iteration)
    assert baggage.get_all(parent) == {Attr.RUN_ID: "r1", Attr.SUITE: "e2e_latency",
                                       Attr.SCENARIO: "diamond_4", Attr.ITERATION: "0",
                                       Attr.WARMUP: "true"}
    with ctx.recorder.phase("e2e.workflow", parent=ctx.parent(iteration, sampled=False)) as p:
        pass
    assert not p.sampled
    unsampled = get_current_span(ctx.parent(iteration, sampled=False)).get_span_context()
    assert not unsampled.trace_flags.sampled


def test_a_failing_iteration_is_noted_and_the_run_goes_on() -> None:
    ctx = _ctx(samples=3, warmup=0)
    done = []
    for iteration in ctx.iterations("linear_3", samples=3, warmup=0):
        with ctx.guard(iteration):
            if iteration.index == 1:
                raise TimeoutError("stuck workflow")
            done.append(iteration.index)
    assert done == [0, 2]
    assert [(f.index, f.error) for f in ctx.failures] == [(1, "TimeoutError: stuck workflow")]
