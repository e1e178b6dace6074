"""Step results: transition the step, enqueue what became ready, finalize a finished task."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection, AsyncCursor
from psycopg.types.json import Jsonb

from instrument.propagation import extract_message_headers
from instrument.recorder import Parent, PhaseRecord, PhaseRecorder
from spanbench.vocabulary import FINALIZED_CHANNEL, Attr, Phase
from stack.engine.database import pipelined_transaction
from stack.engine.messages import ORCHESTRATION_RESULTS_QUEUE, StepResultMessage
from stack.engine.orchestration.enqueue import (
    SWEEP,
    Publishing,
    TaskRef,
    enqueue_ready_steps,
    lock_task,
    locked_task,
    publish_discovered,
    send_discovery,
    send_lock_task,
)
from stack.engine.telemetry import messaging_attributes

logger = logging.getLogger(__name__)

TRANSITION_STEP_SQL = """
SELECT tasker.transition_step_state_atomic(%s, %s::text[], %s, %s) AS from_state
"""

# The success path's transition and bookkeeping in one statement; no row when the step was
# not waiting for orchestration (a duplicate result).
COMPLETE_STEP_SQL = """
WITH moved AS (
    SELECT tasker.transition_step_state_atomic(
        %(step)s, ARRAY['enqueued_for_orchestration'], 'complete', %(metadata)s) AS from_state
)
UPDATE tasker.workflow_steps ws
SET processed = true, processed_at = now(), in_process = false, updated_at = now()
FROM moved
WHERE ws.workflow_step_uuid = %(step)s AND moved.from_state IS NOT NULL
RETURNING moved.from_state
"""

RETRY_SQL = """
SELECT attempts < max_attempts AND retryable AS retry,
       extract(epoch FROM tasker.step_backoff(attempts, backoff_request_seconds))::float
           AS backoff_s
FROM tasker.workflow_steps WHERE workflow_step_uuid = %s
"""

EXECUTION_STATUS_SQL = "SELECT execution_status FROM tasker.get_task_execution_context(%s)"

# The task's final transition, its completion and the finalized NOTIFY in one statement; the
# NOTIFY only when the transition happened (a CASE evaluates a volatile call only when due).
FINALIZE_SQL = """
WITH moved AS (
    SELECT tasker.transition_task_state_atomic(%(task)s, 'steps_in_process', %(state)s) AS moved
), finalized AS (
    UPDATE tasker.tasks SET complete = %(complete)s, completed_at = now(), updated_at = now()
    FROM moved
    WHERE task_uuid = %(task)s AND moved.moved
    RETURNING task_uuid
)
SELECT moved.moved,
       CASE WHEN EXISTS (SELECT 1 FROM finalized)
            THEN pg_notify(%(channel)s, %(payload)s)::text END AS notified
FROM moved
"""

DELETE_SQL = "SELECT pgmq.delete(%s, %s::bigint)"

FINAL_STATES = {"all_complete": "complete", "blocked_by_failures": "blocked_by_failures"}


@dataclass(frozen=True)
class ResultOutcome:
    """What processing one result did, and whether a retry needs a later sweep."""

    applied: bool
    retry_after_s: float | None = None
    finalized_as: str | None = None


async def transition_step(conn: AsyncConnection, step_uuid: Any, from_states: list[str],
                          to_state: str, metadata: dict[str, Any] | None = None) -> str | None:
    """Move a step between states atomically; the state it left, or None if it was elsewhere."""
    cur = await conn.execute(TRANSITION_STEP_SQL,
                             (step_uuid, from_states, to_state, Jsonb(metadata or {})))
    row = await cur.fetchone()
    return None if row is None else row["from_state"]


async def send_completion(conn: AsyncConnection, result: StepResultMessage
                          ) -> AsyncCursor[Any] | None:
    """Send a success's transition and bookkeeping (one statement); None for an error, whose
    handling `apply_result` does once the task is locked."""
    if result.status != "success":
        return None
    return await conn.execute(COMPLETE_STEP_SQL, {
        "step": result.step_uuid, "metadata": Jsonb({"worker_id": result.worker_id})})


async def apply_result(conn: AsyncConnection, result: StepResultMessage,
                       completion: AsyncCursor[Any] | None = None
                       ) -> tuple[bool, float | None]:
    """Record a worker's outcome on its step; (applied, seconds until a retry may run).
    An applied success is one transition (sent before, as `completion`, or now), an error
    one, an error to be retried two."""
    if result.status == "success":
        if completion is None:
            completion = await send_completion(conn, result)
            assert completion is not None
        return await completion.fetchone() is not None, None
    moved = await transition_step(conn, result.step_uuid, ["enqueued_for_orchestration"],
                                  "error", {"worker_id": result.worker_id, "error": result.error})
    if moved is None:
        return False, None
    await conn.execute("UPDATE tasker.workflow_steps SET in_process = false, updated_at = now() "
                       "WHERE workflow_step_uuid = %s", (result.step_uuid,))
    cur = await conn.execute(RETRY_SQL, (result.step_uuid,))
    row = await cur.fetchone()
    if row is None or not row["retry"]:
        return True, None
    await transition_step(conn, result.step_uuid, ["error"], "waiting_for_retry")
    return True, float(row["backoff_s"])


@dataclass(frozen=True)
class SentFinalization:
    """A task's final transition sent in a pipeline, its answer read after the COMMIT (so the
    COMMIT goes in its round trip); its task.finalize phase is open until then."""

    final_state: str
    phase: PhaseRecord
    cursor: AsyncCursor[Any]

    async def settle(self) -> str | None:
        """The task's final state when this transaction moved it there, else None."""
        try:
            moved = await self.cursor.fetchone()
        except BaseException as error:
            self.phase.__exit__(type(error), error, error.__traceback__)
            raise
        done = moved is not None and bool(moved["moved"])
        if done:
            self.phase.set_attribute(Attr.TRANSITIONS, 1)
        self.phase.__exit__(None, None, None)
        return self.final_state if done else None


async def finalize_if_done(conn: AsyncConnection, recorder: PhaseRecorder, parent: Parent,
                           task: TaskRef) -> SentFinalization | None:
    """Send the final transition of a task whose steps are all complete or blocked (one round
    trip to decide); `SentFinalization.settle` reads it after the COMMIT."""
    cur = await conn.execute(EXECUTION_STATUS_SQL, (task.task_uuid,))
    row = await cur.fetchone()
    final_state = FINAL_STATES.get(row["execution_status"]) if row else None
    if final_state is None:
        return None
    phase = recorder.phase(Phase.TASK_FINALIZE, parent=parent,
                           attributes={**task.attributes, Attr.FINAL_STATE: final_state})
    phase.__enter__()
    cur = await conn.execute(FINALIZE_SQL, {
        "task": task.task_uuid, "state": final_state,
        "complete": final_state == "complete", "channel": FINALIZED_CHANNEL,
        "payload": json.dumps({"task_uuid": str(task.task_uuid),
                               "correlation_id": str(task.correlation_id),
                               "status": final_state})})
    return SentFinalization(final_state, phase, cur)


async def process_result(conn: AsyncConnection, recorder: PhaseRecorder,
                         message: dict[str, Any]) -> ResultOutcome:
    """Process one message of orchestration_step_results and delete it, in one transaction.

    Pipelined: BEGIN, the delete, and a success's transition and discovery go with the task's
    lock in one round trip (they run under the lock: the server takes them in order), then the
    publishes with the COMMIT. An error's transitions need the lock's answer first, so its
    discovery takes a round trip of its own. The finalization check runs only when no step
    was ready (a task with a step about to be enqueued is still processing): one round trip
    for the task's execution status, then its final transition with the COMMIT."""
    result = StepResultMessage.from_json(message["message"])
    incoming = extract_message_headers(message.get("headers"))
    attributes = {
        Attr.TASK_UUID: result.task_uuid,
        Attr.STEP_UUID: result.step_uuid,
        Attr.CORRELATION_ID: result.correlation_id,
        Attr.MESSAGING_MESSAGE_ID: str(message["msg_id"]),
        Attr.STEP_STATUS: result.status,
        **messaging_attributes("process", ORCHESTRATION_RESULTS_QUEUE),
    }
    with recorder.phase(Phase.RESULT_PROCESS, parent=incoming, kind=SpanKind.CONSUMER,
                        attributes=attributes) as processing:
        publishing: Publishing | None = None
        finalization: SentFinalization | None = None
        async with pipelined_transaction(conn):
            await conn.execute(DELETE_SQL, (ORCHESTRATION_RESULTS_QUEUE, message["msg_id"]))
            lock = await send_lock_task(conn, result.task_uuid)
            completion = await send_completion(conn, result)
            discovery = (None if completion is None else await send_discovery(
                conn, recorder, processing, result.task_uuid, Phase.RESULT_PROCESS))
            task = await locked_task(lock)
            outcome = ResultOutcome(applied=False)
            if task is not None:
                processing.set_attribute(Attr.NAMESPACE, task.namespace)
                applied, retry_after = await apply_result(conn, result, completion)
                if applied:
                    processing.set_attribute(Attr.TRANSITIONS, 1 if result.status == "success"
                                             else 1 if retry_after is None else 2)
                    publishing = await (
                        enqueue_ready_steps(conn, recorder, processing, task,
                                            Phase.RESULT_PROCESS) if discovery is None
                        else publish_discovered(conn, recorder, processing, task,
                                                Phase.RESULT_PROCESS, discovery))
                    finalization = (None if publishing.ready
                                    else await finalize_if_done(conn, recorder, processing,
                                                                task))
                    outcome = ResultOutcome(True, retry_after)
        if publishing is not None:
            processing.set_attribute(Attr.READY_STEPS, len(await publishing.settle()))
        if finalization is not None:
            outcome = ResultOutcome(True, outcome.retry_after_s, await finalization.settle())
        processing.set_attribute(Attr.RESULT_APPLIED, outcome.applied)
    return outcome


async def sweep_ready_tasks(conn: AsyncConnection, recorder: PhaseRecorder, limit: int) -> int:
    """Enqueue the ready steps of tasks that nothing else will wake (retries after back-off).

    Each task is handled under its row lock, skipping tasks another orchestrator holds.
    Returns the number of steps published.
    """
    cur = await conn.execute("SELECT task_uuid FROM tasker.get_next_ready_tasks(%s)", (limit,))
    published = 0
    for row in await cur.fetchall():
        async with conn.transaction():
            task = await lock_task(conn, row["task_uuid"], skip_locked=True)
            if task is None:
                continue
            parent = extract_message_headers(task.trace_context)
            publishing = await enqueue_ready_steps(conn, recorder, parent, task, SWEEP)
        published += len(await publishing.settle())
    return published
