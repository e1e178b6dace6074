"""event_propagation in quick mode: one listener process, publish parents notify, sane latencies."""

from __future__ import annotations

import os

from instrument.drivers import event_propagation
from spanbench.vocabulary import Attr
from tests.driver_harness import DriverEnv
from tests.recording_progress import RecordingProgress


def test_publish_and_notify_spans_from_one_persistent_listener(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(event_propagation.SUITE)
    ctx.progress = progress = RecordingProgress()
    event_propagation.run(ctx)
    assert ctx.failures == []
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx, settle_s=0.2)
    by_id = {s.span_id: s for s in spans}
    for scenario in event_propagation.SCENARIOS:
        publishes = [s for s in spans if s.name == "publish"
                     and s.attributes[Attr.SCENARIO] == scenario]
        notifies = [s for s in spans if s.name == "notify"
                    and s.attributes[Attr.SCENARIO] == scenario]
        assert len(publishes) == len(notifies) == 4  # 1 warm-up + 3 samples
        for notify in notifies:
            parent = by_id[notify.parent_span_id]
            assert parent.name == "publish"
            assert notify.start_ns == parent.start_ns
            assert 0 < notify.duration_ns < 1_000_000_000
            assert notify.attributes[Attr.ITERATION] == parent.attributes[Attr.ITERATION]
    for span in spans:
        assert span.attributes[Attr.SUITE] == "event_propagation"
        assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
        assert span.attributes[Attr.PHASE] == span.name
    pids = {s.attributes[event_propagation.LISTENER_PID] for s in spans if s.name == "notify"}
    assert len(pids) == 1
    assert pids != {os.getpid()}


def test_the_private_queue_is_dropped(driver_env: DriverEnv) -> None:
    import psycopg

    ctx = driver_env.context(event_propagation.SUITE)
    event_propagation.run(ctx)
    with psycopg.connect(driver_env.database_url) as conn:
        left = conn.execute("SELECT count(*) FROM pgmq.meta "
                            "WHERE queue_name LIKE 'spanbench_events_%'").fetchone()
    assert left == (0,)
