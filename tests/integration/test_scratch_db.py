"""Scratch databases: sql_functions loads its datasets into a copy of the deployment's schema on
the same server, never into the deployment (event_propagation makes its queue there too); the
copy carries the deployment's own functions and search path, and is dropped at the end, or by
the next run when its run died; without one, both suites are skipped saying why."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from psycopg import sql

from instrument.drivers import event_propagation, sql_functions
from instrument.drivers.base import DriverContext, NoProgress, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.tasker_core import TaskerCore
from spanbench.runner import job, scratch, system_choice
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import SuiteReadiness
from tests.db_snapshot import scratch_databases as _scratch_databases
from tests.db_snapshot import snapshot as _snapshot
from tests.otlp_capture import OtlpCapture
from tests.postgres_db import unique_name, with_database

LIVE_TASK = "01900000-0000-7000-8000-00000000beef"
LIVE_STEP = "01900000-0000-7000-8000-00000000f00d"


def _seed_source(url: str) -> None:
    """A live task in the deployment, pending with one ready step, so its get_next_ready_tasks
    has one task to return (and its row counts are not all zero)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO tasker.task_namespaces (name, created_at, updated_at) "
                     "VALUES ('live', now(), now())")
        conn.execute("INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version, "
                     "configuration, created_at, updated_at) SELECT task_namespace_uuid, "
                     "'live_task', '1.0.0', '{}', now(), now() FROM tasker.task_namespaces "
                     "WHERE name = 'live'")
        conn.execute("INSERT INTO tasker.tasks (task_uuid, named_task_uuid, requested_at, "
                     "context, identity_hash, correlation_id, created_at, updated_at) "
                     "SELECT %s, named_task_uuid, now(), '{}', 'live-1', gen_random_uuid(), "
                     "now(), now() FROM tasker.named_tasks WHERE name = 'live_task'",
                     (LIVE_TASK,))
        conn.execute("INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, "
                     "most_recent, created_at, updated_at) "
                     "VALUES (%s, 'pending', 1, true, now(), now())", (LIVE_TASK,))
        conn.execute("INSERT INTO tasker.named_steps (name, created_at, updated_at) "
                     "VALUES ('live_step', now(), now())")
        conn.execute("INSERT INTO tasker.workflow_steps (workflow_step_uuid, task_uuid, "
                     "named_step_uuid, created_at, updated_at) SELECT %s, %s, named_step_uuid, "
                     "now(), now() FROM tasker.named_steps WHERE name = 'live_step'",
                     (LIVE_STEP, LIVE_TASK))
        conn.execute("INSERT INTO tasker.workflow_step_transitions (workflow_step_uuid, "
                     "to_state, sort_key, most_recent, created_at, updated_at) "
                     "VALUES (%s, 'pending', 1, true, now(), now())", (LIVE_STEP,))


class ReadyTasksLoop(threading.Thread):
    """The deployment's get_next_ready_tasks called in a loop, as its orchestration would."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.calls = 0
        self.seen: list[tuple[Any, ...]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                self.seen += conn.execute("SELECT * FROM tasker.get_next_ready_tasks(50)")\
                    .fetchall()
                self.calls += 1
                time.sleep(0.01)


@pytest.mark.parametrize("database", ["fresh_db", "tasker_core_db"])
def test_sql_functions_runs_in_a_scratch_copy_and_leaves_the_deployment_as_it_was(
        database: str, request: pytest.FixtureRequest, pg_url: str, otlp_capture: OtlpCapture,
        tmp_path: Path) -> None:
    fresh_db = request.getfixturevalue(database)  # ours, or tasker-core's
    _seed_source(fresh_db)
    before = _snapshot(fresh_db)
    loop = ReadyTasksLoop(fresh_db)
    loop.start()
    deployment = Deployment(fresh_db, None, (), otlp_capture.endpoint, tmp_path)
    choice = system_choice.choose(None, (), fresh_db, "http://unused")
    options = job.RunOptions([sql_functions.SUITE], quick=True, system=choice)
    plan = job.plan(deployment, options.suites, [], choice)
    try:
        outcome = job.run_suites(deployment, "20260101T000000Z-scr4tc", options, NoProgress(),
                                 tmp_path / "art", plan)
    finally:
        loop.stop.set()
        loop.join()
    assert plan == [SuiteReadiness(sql_functions.SUITE, True)]
    assert outcome.suites[sql_functions.SUITE].status == "ran", outcome.suites
    assert outcome.failures[sql_functions.SUITE] == []
    spans = [s for s in otlp_capture.received() if s.name.startswith("sql.")]
    assert len(spans) == 4 * len(sql_functions.functions(job.measured_system(deployment,
                                                                             choice)))
    assert {s.attributes["db.namespace"] for s in spans} == {
        scratch.scratch_name("20260101T000000Z-scr4tc")}
    after = _snapshot(fresh_db)
    assert after == before
    assert before["rows"]["tasker.tasks"] == 1 and before["functions"]
    assert loop.calls > 10
    assert {str(row[0]) for row in loop.seen} == {LIVE_TASK}  # never a benchmark task
    assert _scratch_databases(pg_url) == []


def test_the_copy_has_the_deployments_functions_and_search_path(
        tasker_core_db: str) -> None:
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        [definition] = conn.execute(
            "SELECT pg_get_functiondef('tasker.get_next_ready_tasks(integer)'::regprocedure)"
        ).fetchone()  # type: ignore[misc]
        conn.execute(definition.replace("$function$", "$function$\n-- changed in the source\n",
                                        1))
    before = _snapshot(tasker_core_db)
    with scratch.open_scratch(tasker_core_db, "copy-test") as copy, \
            psycopg.connect(copy.url) as conn:
        copied = _snapshot(copy.url)
        search_path = conn.execute("SHOW search_path").fetchone()
        ready = conn.execute("SELECT count(*) FROM tasker.get_next_ready_tasks(5)").fetchone()
        comment = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                               "WHERE datname = current_database()").fetchone()
    assert copied["functions"] == before["functions"]
    assert "-- changed in the source" in \
        copied["functions"]["tasker.get_next_ready_tasks(p_limit integer)"]
    assert search_path == ("tasker, public",)
    assert ready == (0,)
    assert comment is not None and '"spanbench_scratch": "copy-test"' in comment[0]
    assert _snapshot(tasker_core_db) == before
    assert copy.name not in _scratch_databases(tasker_core_db)


def test_sql_functions_measures_tasker_core_in_its_scratch_copy(tasker_core_db: str) -> None:
    before = _snapshot(tasker_core_db)
    with scratch.open_scratch(tasker_core_db, "tasker-core-run") as copy:
        ctx = DriverContext(sql_functions.SUITE, RunSettings("r", quick=True),
                            TaskerCore(Endpoints("http://unused", copy.url)),
                            PhaseRecorder(TracerProvider()))
        sql_functions.run(ctx, sizes=(200,))
    assert ctx.failures == []
    assert _snapshot(tasker_core_db) == before


def test_ctrl_c_inside_the_copy_drops_it(fresh_db: str, pg_url: str) -> None:
    with pytest.raises(KeyboardInterrupt), scratch.open_scratch(fresh_db, "ctrl-c") as copy:
        assert copy.name in _scratch_databases(pg_url)
        raise KeyboardInterrupt
    assert copy.name not in _scratch_databases(pg_url)


KILLED_RUN = """
import sys, time
from spanbench.runner import scratch
with scratch.open_scratch(sys.argv[1], "killed-run"):
    print("made", flush=True)
    time.sleep(60)
"""


def test_a_dead_runs_leftover_is_dropped_by_the_next_run(fresh_db: str, pg_url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, fresh_db],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "made"
        leftover = scratch.scratch_name("killed-run")
        assert scratch.drop_leftovers(fresh_db) == []  # its run is alive: kept
        assert leftover in _scratch_databases(pg_url)
    finally:
        child.kill()
        child.wait()
    assert leftover in _scratch_databases(pg_url)  # killed: no chance to clean up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server notices the dead connection
        if scratch.drop_leftovers(fresh_db) == [leftover]:
            break
        time.sleep(0.1)
    assert leftover not in _scratch_databases(pg_url)


def test_a_role_without_createdb_is_told_the_privilege(fresh_db: str) -> None:
    role = unique_name("spanbench_nocreatedb")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB NOSUPERUSER PASSWORD 'pw'")
                     .format(sql.Identifier(role)))
    try:
        url = psycopg.conninfo.make_conninfo(fresh_db, user=role, password="pw")
        reason = scratch.unavailable(url)
        deployment = Deployment(url, None, (), "http://unused", Path("."))
        plan = job.plan(deployment, [sql_functions.SUITE, event_propagation.SUITE], [])
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert reason == (f"needs a scratch database, and role {role} lacks the CREATEDB "
                      f"privilege: ALTER ROLE {role} CREATEDB, or run as a role that has it")
    assert plan == [SuiteReadiness(sql_functions.SUITE, False, reason),
                    SuiteReadiness(event_propagation.SUITE, False, reason)]


def test_a_missing_client_program_is_named(fresh_db: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scratch, "client_program",
                        lambda name: None if name == "pg_dump" else Path("/bin/true"))
    assert scratch.unavailable(fresh_db) == (
        "needs a scratch database, copied with pg_dump, which is not on PATH nor in "
        "pg_config --bindir: install the PostgreSQL client programs")


def test_a_pg_dump_older_than_the_server_is_named(fresh_db: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert scratch.program_major(scratch.client_program("pg_dump")) is not None  # type: ignore[arg-type]
    monkeypatch.setattr(scratch, "program_major", lambda program: 9)
    with psycopg.connect(fresh_db) as conn:
        server = conn.info.server_version // 10000
    assert scratch.unavailable(fresh_db) == (
        f"needs a scratch database, and pg_dump 9 cannot dump a PostgreSQL {server} server: "
        f"install the client programs of PostgreSQL {server} or later")


def test_list_settings_are_quoted_element_by_element() -> None:
    assert scratch.split_list_setting('"$user", public, "a ""b"""') == ["$user", "public",
                                                                       'a "b"']
    assert with_database("postgresql://u@h/db", "x") == "postgresql://u@h/x"
    assert scratch.scratch_name("20260108T142345Z-3fa9c2") == \
        "spanbench_scratch_20260108t142345z_3fa9c2"
