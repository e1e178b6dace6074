"""The deployment's own record of its tasks: task and step transitions, read after a run.

Both systems keep the same tables in schema `tasker` (tasks, task_transitions, workflow_steps,
named_steps, workflow_step_transitions); what differs is what a transition's `created_at` is
(`STAMPS`). Step transitions spanbench wrote itself (metadata key `SPANBENCH_KEY`) are not the
deployment's record and are left out. The result is plain JSON-able data (the shape
extract/derive/record.py reads), so the runner can keep it beside the run and hand it to the
analysis side.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import sql

from instrument.systems import spanbench_stack, tasker_core
from spanbench.vocabulary import Attr

STAMPS: Final[dict[str, str]] = {
    spanbench_stack.NAME: "clock_timestamp",  # the statement's own instant
    tasker_core.NAME: "now",  # its transaction's start, written as UTC wall time (sqlx)
}
"""What a transition's `created_at` records, per system."""

RESULTS_QUEUES: Final[dict[str, str]] = {
    spanbench_stack.NAME: spanbench_stack.RESULTS_QUEUE,
    tasker_core.NAME: tasker_core.RESULTS_QUEUE,
}
"""Where each system's workers send step results: the queue's records (PGMQ keeps a message
in `pgmq.q_<queue>` until it is deleted, or moves it to `pgmq.a_<queue>` when archived) give
when a step's result was sent (`enqueued_at`, the sending transaction's start)."""

SPANBENCH_KEY = "spanbench"
"""A step transition whose metadata holds this key was written by spanbench itself
(worker_execution's rewinds and its own worker cycle), not by the deployment: left out."""

# Naive timestamps (tasker-core's `timestamp(6) without time zone`) are read as UTC, as its
# sqlx sessions write them; timestamptz columns are unaffected by the session's zone.
SESSION_SQL = "SET TimeZone = 'UTC'"

_NS = "(extract(epoch FROM {column}::timestamptz) * 1000000)::bigint * 1000"

TASKS_SQL = f"""
SELECT t.task_uuid::text AS task_uuid, t.correlation_id::text AS correlation_id,
       {_NS.format(column="t.created_at")} AS created_ns
FROM tasker.tasks t
WHERE t.task_uuid = ANY(%(tasks)s::uuid[])
   OR (%(since)s::timestamptz IS NOT NULL AND t.created_at::timestamptz >= %(since)s::timestamptz)
"""

TASK_TRANSITIONS_SQL = f"""
SELECT tt.task_uuid::text AS task_uuid, tt.to_state,
       {_NS.format(column="tt.created_at")} AS at_ns, tt.sort_key
FROM tasker.task_transitions tt
WHERE tt.task_uuid = ANY(%(tasks)s::uuid[])
"""

STEP_TRANSITIONS_SQL = f"""
SELECT ws.task_uuid::text AS task_uuid, ws.workflow_step_uuid::text AS step_uuid,
       ns.name AS step_name, st.to_state,
       {_NS.format(column="st.created_at")} AS at_ns, st.sort_key
FROM tasker.workflow_steps ws
JOIN tasker.named_steps ns ON ns.named_step_uuid = ws.named_step_uuid
LEFT JOIN tasker.workflow_step_transitions st ON st.workflow_step_uuid = ws.workflow_step_uuid
     AND NOT coalesce(st.metadata ? %(written_by_spanbench)s, false)
WHERE ws.task_uuid = ANY(%(tasks)s::uuid[])
"""


# A result message names its step under the key tasker's spans use for it (Attr.STEP_UUID).
RESULT_SENT_SQL = """
SELECT message->>%(key)s AS step,
       (extract(epoch FROM enqueued_at) * 1000000)::bigint * 1000 AS sent_ns
FROM {table}
WHERE message->>%(key)s = ANY(%(steps)s::text[])
"""


def _result_sends(conn: psycopg.Connection, queue: str, steps: list[str]
                  ) -> dict[str, list[int]]:
    """Step uuid → when each result message for it was sent (queue and archive)."""
    sent: dict[str, list[int]] = {}
    for prefix in ("q_", "a_"):
        table = f"pgmq.{prefix}{queue}"
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not row or not row[0]:
            continue
        query = sql.SQL(RESULT_SENT_SQL).format(
            table=sql.Identifier("pgmq", f"{prefix}{queue}"))
        for step_uuid, sent_ns in conn.execute(query, {"steps": steps,
                                                       "key": Attr.STEP_UUID}):
            sent.setdefault(step_uuid, []).append(sent_ns)
    return sent


def read_record(database_url: str, system: str, *, task_uuids: Sequence[str] = (),
                since: datetime | None = None) -> dict[str, Any]:
    """The record of the tasks named, and of every task created at or after `since`."""
    if system not in STAMPS:
        raise ValueError(f"no transition record is known for system {system!r}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SESSION_SQL)
        tasks = {row[0]: {"task_uuid": row[0], "correlation_id": row[1], "created_ns": row[2],
                          "transitions": [], "steps": {}}
                 for row in conn.execute(TASKS_SQL, {"tasks": list(task_uuids),
                                                     "since": since})}
        named = {"tasks": list(tasks)}
        for task_uuid, state, at_ns, sort_key in conn.execute(TASK_TRANSITIONS_SQL, named):
            tasks[task_uuid]["transitions"].append([state, at_ns, sort_key])
        for task_uuid, step_uuid, name, state, at_ns, sort_key in conn.execute(
                STEP_TRANSITIONS_SQL, {**named, "written_by_spanbench": SPANBENCH_KEY}):
            step = tasks[task_uuid]["steps"].setdefault(
                step_uuid, {"step_uuid": step_uuid, "name": name, "transitions": []})
            if state is not None:
                step["transitions"].append([state, at_ns, sort_key])
        steps = [step for task in tasks.values() for step in task["steps"].values()]
        sends = _result_sends(conn, RESULTS_QUEUES[system], [s["step_uuid"] for s in steps])
        for step in steps:
            step["results_sent_ns"] = sorted(sends.get(step["step_uuid"], []))
    return {"system": system, "stamp": STAMPS[system],
            "tasks": [{**task, "steps": list(task["steps"].values())}
                      for task in tasks.values()]}
