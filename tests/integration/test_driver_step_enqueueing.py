"""step_enqueueing in quick mode: the driver's result submission parents the stack's discovery
and N publishes, each publish parents the driver-observed notify, enqueue.total spans them."""

from __future__ import annotations

import psycopg

from instrument.drivers import step_enqueueing
from instrument.workload import fanout
from spanbench.vocabulary import Attr
from tests.driver_harness import DriverEnv
from tests.recording_progress import RecordingProgress


def test_every_phase_with_bench_attributes_and_intact_links(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(step_enqueueing.SUITE)
    ctx.progress = progress = RecordingProgress()
    step_enqueueing.run(ctx)
    assert ctx.failures == []
    assert progress.lines() == list(step_enqueueing.SCENARIOS)
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx)
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list] = {}
    for span in spans:
        children.setdefault(span.parent_span_id, []).append(span)

    totals = [s for s in spans if s.name == "enqueue.total"]
    assert len(totals) == 3 * 4  # three scenarios × (1 warm-up + 3 samples)
    for total in totals:
        leaves = step_enqueueing.SCENARIOS[str(total.attributes[Attr.SCENARIO])]
        [submit] = [s for s in children[total.span_id] if s.name == "submit"]
        [process] = children[submit.span_id]
        assert process.name == "result.process"
        [discovery] = [s for s in children[process.span_id] if s.name == "discovery"]
        assert discovery.attributes["tasker.ready_steps"] == leaves
        publishes = [s for s in children[process.span_id] if s.name == "publish"]
        assert len(publishes) == leaves
        notifies = [n for p in publishes for n in children.get(p.span_id, ())
                    if n.name == "notify"]
        assert len(notifies) == leaves
        assert all(total.start_ns <= n.start_ns <= n.end_ns <= total.end_ns for n in notifies)
        assert total.end_ns == max(max(n.end_ns for n in notifies), submit.end_ns)
        assert submit.start_ns >= total.start_ns and submit.end_ns <= total.end_ns
        assert 0 < total.duration_ns < 5_000_000_000
        for span in (total, submit, process, discovery, *publishes, *notifies):
            assert span.attributes[Attr.SUITE] == "step_enqueueing"
            assert span.attributes[Attr.SCENARIO] == total.attributes[Attr.SCENARIO]
            assert span.attributes[Attr.ITERATION] == total.attributes[Attr.ITERATION]
            assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
            assert span.attributes[Attr.TASK_UUID] == total.attributes[Attr.TASK_UUID]
    for span in spans:
        assert span.parent_span_id == "" or span.parent_span_id in by_id
    with psycopg.connect(driver_env.database_url) as conn:  # the workers ran the leaves
        done = conn.execute("SELECT count(*) FROM tasker.tasks WHERE complete "
                            "AND task_uuid = ANY(%s::uuid[])",
                            ([str(t.attributes[Attr.TASK_UUID]) for t in totals],)).fetchone()
    assert done == (len(totals),)


def test_fanout_templates_are_registered_once(driver_env: DriverEnv) -> None:
    with psycopg.connect(driver_env.database_url, autocommit=True) as conn:
        queue = driver_env.system.worker_queue(fanout.NAMESPACE)
        first = fanout.ensure_template(conn, 7, queue)
        again = fanout.ensure_template(conn, 7, queue)
        config = conn.execute("SELECT configuration FROM tasker.named_tasks "
                              "WHERE named_task_uuid = %s", (first.named_task_uuid,)).fetchone()
        queues = conn.execute("SELECT count(*) FROM pgmq.meta WHERE queue_name = %s",
                              (queue,)).fetchone()
    assert again == first
    assert len(first.leaf_named_steps) == 7
    assert config is not None and config[0] == fanout.configuration(7)
    assert queues == (1,)
