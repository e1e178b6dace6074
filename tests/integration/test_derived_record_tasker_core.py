"""The deployment's record read from tasker-core's real schema: its naive timestamps are read
as the UTC its sqlx sessions write, whatever the database's own time zone, to the microsecond;
result messages in its results queue end the submit phase."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from extract.derive.phases import derive_task
from extract.derive.record import parse
from instrument.systems import tasker_core
from instrument.systems.task_record import read_record
from spanbench.vocabulary import Phase

T0 = datetime(2026, 12, 1, 12, 0, 0, 123456)  # naive: UTC wall time, as tasker-core writes it
TASK_STATES = ("pending", "initializing", "enqueuing_steps", "steps_in_process")
STEP_STATES = ("pending", "enqueued", "in_progress", "enqueued_for_orchestration")


def _ns(naive: datetime) -> int:
    aware = naive.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 10**9 + aware.microsecond * 1000


def _at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def _seed(conn: psycopg.Connection) -> tuple[str, str]:
    """One task, one step, each state its own instant; the step's result message sent."""
    task, step, correlation = (str(uuid.uuid4()) for _ in range(3))
    [namespace] = conn.execute(
        "INSERT INTO tasker.task_namespaces (name, created_at, updated_at) "
        "VALUES ('derive', now(), now()) RETURNING task_namespace_uuid").fetchone() or ()
    [named_task] = conn.execute(
        "INSERT INTO tasker.named_tasks (task_namespace_uuid, name, created_at, updated_at) "
        "VALUES (%s, 'derive', now(), now()) RETURNING named_task_uuid",
        (namespace,)).fetchone() or ()
    [named_step] = conn.execute(
        "INSERT INTO tasker.named_steps (name, created_at, updated_at) "
        "VALUES ('only', now(), now()) RETURNING named_step_uuid").fetchone() or ()
    conn.execute("INSERT INTO tasker.tasks (task_uuid, named_task_uuid, requested_at, "
                 "identity_hash, created_at, updated_at, correlation_id) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (task, named_task, _at(0), uuid.uuid4().hex, _at(0), _at(0), correlation))
    for key, state in enumerate(TASK_STATES, 1):
        conn.execute("INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, "
                     "most_recent, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
                     (task, state, key, key == len(TASK_STATES), _at(key), _at(key)))
    conn.execute("INSERT INTO tasker.workflow_steps (workflow_step_uuid, task_uuid, "
                 "named_step_uuid, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)",
                 (step, task, named_step, _at(1.5), _at(1.5)))
    for key, state in enumerate(STEP_STATES, 1):
        at = _at(2 + 10 * key + 0.000001)  # a whole microsecond past the 10 ms mark
        conn.execute("INSERT INTO tasker.workflow_step_transitions (workflow_step_uuid, "
                     "to_state, sort_key, most_recent, created_at, updated_at) "
                     "VALUES (%s, %s, %s, %s, %s, %s)",
                     (step, state, key, key == len(STEP_STATES), at, at))
    conn.execute("SELECT pgmq.create(%s)", (tasker_core.RESULTS_QUEUE,))
    conn.execute(sql.SQL("INSERT INTO {} (vt, message, enqueued_at) VALUES (now(), %s, %s)")
                 .format(sql.Identifier("pgmq", f"q_{tasker_core.RESULTS_QUEUE}")),
                 (json.dumps({"step_uuid": step, "task_uuid": task,
                              "correlation_id": correlation}),
                  _at(60).replace(tzinfo=UTC)))
    return task, step


def test_tasker_core_s_record_reads_as_utc_to_the_microsecond(tasker_core_db: str) -> None:
    database = urlsplit(tasker_core_db).path.lstrip("/")
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET TimeZone = 'America/New_York'")
                     .format(sql.Identifier(database)))
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the writer's zone, as sqlx sets it
        task, step = _seed(conn)

    record = read_record(tasker_core_db, tasker_core.NAME, task_uuids=[task])
    assert record["stamp"] == "now"
    [task_row] = record["tasks"]
    assert task_row["created_ns"] == _ns(_at(0))
    assert [(state, at) for state, at, _ in task_row["transitions"]] == [
        (state, _ns(_at(key))) for key, state in enumerate(TASK_STATES, 1)]
    [step_row] = task_row["steps"]
    assert step_row["step_uuid"] == step and step_row["name"] == "only"
    assert step_row["results_sent_ns"] == [_ns(_at(60))]

    spans = {span.phase: span for span in derive_task(parse(record).tasks[0])}
    claim, execute, submit = spans[Phase.CLAIM], spans[Phase.EXECUTE], spans[Phase.SUBMIT]
    assert (claim.start_ns, claim.end_ns) == (_ns(_at(22.000001)), _ns(_at(32.000001)))
    assert claim.end_ns == execute.start_ns and execute.end_ns == submit.start_ns
    assert execute.end_ns - execute.start_ns == 10_000_000
    assert submit.end_ns == _ns(_at(60))
    assert spans[Phase.TASK_INITIALIZE].end_ns == _ns(_at(3))
