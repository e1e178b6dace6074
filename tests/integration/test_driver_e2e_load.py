"""e2e_latency under load against a real stack: N = 4 workflows in flight (closed loop) and a
short open-loop run; every workflow completes and every span says which load it ran under."""

from __future__ import annotations

from instrument.drivers import e2e_latency
from instrument.workload.load import LoadProfile
from spanbench.vocabulary import STACK_PHASES, Attr, Phase
from tests.driver_harness import DriverEnv
from tests.otlp_capture import CapturedSpan
from tests.recording_progress import RecordingProgress

LINEAR_3 = {"linear_3": e2e_latency.SCENARIOS["linear_3"]}


def _most_at_once(roots: list[CapturedSpan]) -> int:
    """The most roots whose [start, end) intervals overlap at one instant."""
    edges = sorted([(r.start_ns, 1) for r in roots] + [(r.end_ns, -1) for r in roots])
    most = current = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        current += step
        most = max(most, current)
    return most


def test_closed_loop_keeps_four_in_flight_and_every_span_carries_the_concurrency(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(e2e_latency.SUITE, quick=False, samples=8, warmup=4,
                             load=LoadProfile(concurrency=4))
    ctx.progress = progress = RecordingProgress()
    outcome = e2e_latency.run(ctx, workflows=LINEAR_3)
    assert ctx.failures == []
    assert sorted(s.index for s in outcome.samples) == list(range(4, 12))
    assert progress.started == [(ctx.suite, "linear_3@c4", 12)]  # the level names the line
    assert progress.planned == {ctx.suite: 12}
    spans = driver_env.spans_of(ctx, settle_s=1.5)
    roots = [s for s in spans if s.name == Phase.E2E_WORKFLOW]
    assert sorted(r.attributes[Attr.ITERATION] for r in roots) == list(range(12))
    assert {r.attributes[e2e_latency.FINAL_STATE] for r in roots} == {"complete"}
    assert len({r.attributes[Attr.TASK_UUID] for r in roots}) == 12
    assert _most_at_once(roots) == 4
    assert {s.attributes[Attr.SCENARIO] for s in spans} == {"linear_3@c4"}
    assert {s.attributes.get(Attr.CONCURRENCY) for s in spans} == {4}
    traced = {s.name for s in spans if s.attributes[Attr.ITERATION] % 2 == 0}
    assert set(STACK_PHASES) <= traced  # the stack's spans carry it too (baggage)
    exported = {r.attributes[Attr.ITERATION]: r.duration_ns for r in roots}
    assert {s.index: s.duration_ns for s in outcome.samples} == {
        i: ns for i, ns in exported.items() if i >= 4}


def test_open_loop_starts_on_schedule_and_measures_from_the_intended_start(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(e2e_latency.SUITE, quick=False, samples=6, warmup=1,
                             load=LoadProfile(rate_per_s=10.0, arrival="fixed"))
    outcome = e2e_latency.run(ctx, workflows=LINEAR_3)
    assert ctx.failures == [] and len(outcome.samples) == 6
    spans = driver_env.spans_of(ctx, settle_s=1.5)
    roots = sorted((s for s in spans if s.name == Phase.E2E_WORKFLOW),
                   key=lambda r: r.attributes[Attr.ITERATION])
    assert {s.attributes[Attr.SCENARIO] for s in spans} == {"linear_3@r10"}
    assert {s.attributes.get(Attr.ARRIVAL_RATE) for s in spans} == {10.0}
    starts = [r.start_ns - roots[0].start_ns for r in roots]  # intended: every 100 ms
    assert all(abs(at - i * 100_000_000) < 1_000 for i, at in enumerate(starts)), starts
    for root in roots:
        lag = root.attributes[Attr.START_LAG]
        assert 0 <= lag < root.duration_ns
        [post] = [s for s in spans if s.parent_span_id == root.span_id]
        assert post.start_ns - root.start_ns >= lag  # the POST waits for the actual start
