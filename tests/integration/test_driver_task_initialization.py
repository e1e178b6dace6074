"""task_initialization in quick mode: client spans parent the stack's server-side phases."""

from __future__ import annotations

from instrument.drivers import task_initialization
from spanbench.vocabulary import Attr
from tests.driver_harness import DriverEnv
from tests.recording_progress import RecordingProgress


def test_every_phase_has_spans_with_bench_attributes_and_intact_links(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(task_initialization.SUITE)
    ctx.progress = progress = RecordingProgress()
    task_initialization.run(ctx)
    assert ctx.failures == []
    assert progress.lines() == list(task_initialization.SCENARIOS)
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx)
    by_id = {s.span_id: s for s in spans}
    clients = [s for s in spans if s.name == "api.create_task"]
    assert len(clients) == 2 * 4  # two scenarios × (1 warm-up + 3 samples)
    for client in clients:
        server = [s for s in spans if s.parent_span_id == client.span_id]
        assert [s.name for s in server] == ["POST /v1/tasks"]
        initialize = [s for s in spans if s.parent_span_id == server[0].span_id]
        assert [s.name for s in initialize] == ["task.initialize"]
        below = {s.name for s in spans if s.parent_span_id == initialize[0].span_id}
        assert below == {"discovery", "publish"}
    for span in spans:
        if span.name in ("api.create_task", "POST /v1/tasks", "task.initialize", "discovery"):
            assert span.attributes[Attr.SUITE] == "task_initialization"
            assert span.attributes[Attr.SCENARIO] in ("linear_3", "diamond_4")
            assert isinstance(span.attributes[Attr.ITERATION], int)
            assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
        assert span.parent_span_id == "" or span.parent_span_id in by_id
