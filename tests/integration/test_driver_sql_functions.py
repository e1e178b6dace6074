"""sql_functions: bulk seeding gives the planned rows; the quick run times every function on the
1k dataset, EXPLAINs each once (artifact + buffer hit ratio) and leaves no dataset behind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import psycopg
from opentelemetry.sdk.trace import TracerProvider

from instrument.drivers import sql_functions
from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.workload import datasets
from spanbench.vocabulary import Attr
from tests.driver_harness import DriverEnv
from tests.recording_progress import RecordingProgress

COUNT_SQL = """
SELECT (SELECT count(*) FROM tasker.tasks t WHERE {of}),
       (SELECT count(*) FROM tasker.workflow_steps ws JOIN tasker.tasks t USING (task_uuid)
        WHERE {of}),
       (SELECT count(*) FROM tasker.workflow_step_edges e JOIN tasker.workflow_steps ws
        ON ws.workflow_step_uuid = e.to_step_uuid JOIN tasker.tasks t USING (task_uuid) WHERE {of}),
       (SELECT count(*) FROM tasker.workflow_step_transitions x JOIN tasker.workflow_steps ws
        USING (workflow_step_uuid) JOIN tasker.tasks t USING (task_uuid) WHERE {of}),
       (SELECT count(*) FROM tasker.task_transitions x JOIN tasker.tasks t USING (task_uuid)
        WHERE {of})
""".format(of="t.named_task_uuid = ANY(%(named)s)")


def _counts(url: str, dataset: datasets.Dataset) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(COUNT_SQL, {"named": list(dataset.named_tasks.values())}).fetchone()
    assert row is not None
    return tuple(row)


def test_seeding_writes_the_planned_rows_and_states(fresh_db: str) -> None:
    dataset = datasets.seed_dataset(fresh_db, 200)
    plans = dataset.plans
    expected = (
        200,
        sum(len(p.step_states) for p in plans),
        sum(len(s.parents) for p in plans for s in datasets.SHAPES[p.shape]),
        sum(len(datasets.STEP_HISTORY[state]) for p in plans for state in p.step_states),
        sum(len(datasets.TASK_HISTORY[p.task_state]) for p in plans),
    )
    assert _counts(fresh_db, dataset) == expected
    assert tuple(dataset.counts.values()) == expected
    with psycopg.connect(fresh_db) as conn:
        states = Counter(conn.execute(
            "SELECT x.to_state FROM tasker.workflow_step_transitions x JOIN "
            "tasker.workflow_steps ws USING (workflow_step_uuid) JOIN tasker.tasks t "
            "USING (task_uuid) WHERE x.most_recent AND t.named_task_uuid = ANY(%s)",
            (list(dataset.named_tasks.values()),)).fetchall())
    with datasets.shielded(fresh_db, dataset, drop_after=False) as locked, \
            psycopg.connect(fresh_db) as conn:
        ready = conn.execute("SELECT count(*) FROM tasker.get_next_ready_tasks(1000)").fetchone()
    assert locked == sum(p.kind != "complete" for p in plans)
    assert {state: n for (state,), n in states.items()} == Counter(
        s for p in plans for s in p.step_states)
    assert ready is not None and ready[0] > 0
    assert datasets.seed_dataset(fresh_db, 50).counts["tasks"] == 50  # replaces, not adds
    assert _counts(fresh_db, dataset)[0] == 50
    assert datasets.drop_dataset(fresh_db) == 50
    assert _counts(fresh_db, dataset) == (0, 0, 0, 0, 0)


def test_transitions_are_rolled_back(fresh_db: str) -> None:
    dataset = datasets.seed_dataset(fresh_db, 200)
    before = _counts(fresh_db, dataset)
    progress = RecordingProgress()
    ctx = DriverContext(sql_functions.SUITE, RunSettings("r", quick=True),
                        SpanbenchStack(Endpoints("http://unused", fresh_db)),
                        PhaseRecorder(TracerProvider()), progress=progress)
    [function] = [f for f in sql_functions.functions(ctx.system)
                  if f.name == "transition_task_state_atomic"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        sql_functions._measure(ctx, conn, dataset, function)
    assert ctx.failures == []
    assert _counts(fresh_db, dataset) == before
    assert progress.started == [(sql_functions.SUITE, "transition_task_state_atomic+200", 4)]


def test_quick_run_times_and_explains_every_function(
        driver_env: DriverEnv, tmp_path: Path) -> None:
    ctx = driver_env.context(sql_functions.SUITE, artifacts_dir=tmp_path)
    ctx.progress = progress = RecordingProgress()
    sql_functions.run(ctx)
    assert ctx.failures == []
    assert progress.lines() == [f"{name}+1000" for name in sql_functions.SCENARIOS]
    assert progress.planned == {sql_functions.SUITE: progress.iterations_of(sql_functions.SUITE)}
    spans = driver_env.spans_of(ctx, settle_s=0.2)
    names = Counter(s.name for s in spans)
    assert names == {f"sql.{name}": 4 for name in sql_functions.SCENARIOS}  # 1 warm-up + 3
    for span in spans:
        function = span.name.removeprefix("sql.")
        assert span.parent_span_id == ""
        assert span.kind == "CLIENT"
        assert span.attributes[Attr.SUITE] == "sql_functions"
        assert span.attributes[Attr.SCENARIO] == function
        assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
        assert span.attributes["bench.dataset_size"] == 1000
        assert span.attributes[Attr.DB_SYSTEM] == "postgresql"
        assert span.attributes[Attr.DB_OPERATION] == "SELECT"
        assert f"tasker.{function}($1" in str(span.attributes[Attr.DB_QUERY_TEXT])
        assert 0 < span.duration_ns < 2_000_000_000
    explained = [s for s in spans if "bench.explain.buffer_hit_ratio" in s.attributes]
    assert sorted(s.name for s in explained) == sorted(names)
    assert all(s.attributes[Attr.ITERATION] == 1 for s in explained)  # the first measured
    for span in explained:
        function = span.name.removeprefix("sql.")
        path = tmp_path / "sql_functions" / "explain" / f"{function}-1000.json"
        assert span.attributes["bench.explain.artifact"] == \
            f"sql_functions/explain/{function}-1000.json"
        artifact = json.loads(path.read_text())
        assert artifact["plan"][0]["Plan"]["Node Type"]
        ratio = artifact["buffer_hit_ratio"]
        assert 0.0 <= ratio <= 1.0
        assert ratio == span.attributes["bench.explain.buffer_hit_ratio"]
        assert artifact["shared_hit_blocks"] + artifact["shared_read_blocks"] > 0
    with psycopg.connect(driver_env.database_url) as conn:
        left = conn.execute("SELECT count(*) FROM tasker.tasks t JOIN tasker.named_tasks nt "
                            "USING (named_task_uuid) JOIN tasker.task_namespaces tn "
                            "USING (task_namespace_uuid) WHERE tn.name = %s",
                            (datasets.NAMESPACE,)).fetchone()
    assert left == (0,)


def test_ready_tasks_keep_their_order_at_every_limit_and_call(fresh_db: str) -> None:
    """get_next_ready_tasks keeps one generic plan per limit bucket (migrations 010, 011): from
    the first prepared call to the tenth, at limits on, between and beyond the buckets, it
    returns the unfinished tasks with ready steps in priority then age order, each limit's rows
    the start of a larger limit's. The function forces generic plans: without that (as 010 left
    it) each bucket was planned afresh on its first five calls, 4-10 ms each at 100k tasks."""
    datasets.seed_dataset(fresh_db, 300)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        config = conn.execute("SELECT proconfig FROM pg_proc WHERE oid = "
                              "'tasker.get_next_ready_tasks(integer)'::regprocedure").fetchone()
        assert config == (["plan_cache_mode=force_generic_plan"],)
        expected = conn.execute(
            "SELECT t.task_uuid FROM tasker.tasks t JOIN tasker.task_transitions tt "
            "ON tt.task_uuid = t.task_uuid AND tt.most_recent WHERE NOT t.complete "
            "AND EXISTS (SELECT 1 FROM tasker.get_step_readiness_status(t.task_uuid) r "
            "WHERE r.ready_for_execution) ORDER BY t.priority DESC, t.created_at").fetchall()
        assert len(expected) > 60
        for _ in range(10):
            for limit in (1, 3, 5, 7, 25, 50, 60):
                rows = conn.execute("SELECT task_uuid FROM tasker.get_next_ready_tasks(%s)",
                                    (limit,), prepare=True).fetchall()
                assert rows == expected[:limit]
