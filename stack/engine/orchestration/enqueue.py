"""Discovery and publishing: find a task's ready steps and send each to its namespace queue.

Callers hold the task's row lock (or created the task in this transaction), so two
orchestrators never enqueue the same step twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection, AsyncCursor
from psycopg.types.json import Jsonb

from instrument.propagation import inject_message_headers
from instrument.recorder import Parent, PhaseRecord, PhaseRecorder
from spanbench.vocabulary import Attr, Phase
from stack.engine.messages import StepMessage, worker_queue
from stack.engine.telemetry import db_attributes, messaging_attributes

READY_STEPS_SQL = """
SELECT workflow_step_uuid FROM tasker.get_step_readiness_status(%s, NULL)
WHERE ready_for_execution
"""

PUBLISH_SQL = """
WITH moved AS (
    SELECT tasker.transition_step_state_atomic(
        %(step)s, ARRAY['pending', 'waiting_for_retry'], 'enqueued') AS from_state
)
SELECT CASE WHEN from_state IS NOT NULL
            THEN tasker.pgmq_send_with_notify(%(queue)s, %(message)s, 0, %(headers)s)
       END AS msg_id
FROM moved
"""

# A publish sent before its task's discovery answered (a new task's root steps): the step moves
# and its message goes only if readiness says it is ready.
PUBLISH_IF_READY_SQL = """
WITH ready AS (
    SELECT 1 FROM tasker.get_step_readiness_status(%(task)s, ARRAY[%(step)s]::uuid[])
    WHERE ready_for_execution
), moved AS (
    SELECT tasker.transition_step_state_atomic(
        %(step)s, ARRAY['pending', 'waiting_for_retry'], 'enqueued') AS from_state
    FROM ready
)
SELECT CASE WHEN from_state IS NOT NULL
            THEN tasker.pgmq_send_with_notify(%(queue)s, %(message)s, 0, %(headers)s)
       END AS msg_id
FROM moved
"""

LOCK_TASK_SQL = """
SELECT t.task_uuid, tn.name AS namespace, t.correlation_id, t.complete, t.trace_context
FROM tasker.tasks t
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
JOIN tasker.task_namespaces tn ON tn.task_namespace_uuid = nt.task_namespace_uuid
WHERE t.task_uuid = %s
FOR UPDATE OF t
"""


@dataclass(frozen=True)
class TaskRef:
    """What the phases of one task need to know about it."""

    task_uuid: UUID
    namespace: str
    correlation_id: UUID
    trace_context: dict[str, Any] | None = None

    @property
    def attributes(self) -> dict[str, str]:
        return {
            Attr.TASK_UUID: str(self.task_uuid),
            Attr.CORRELATION_ID: str(self.correlation_id),
            Attr.NAMESPACE: self.namespace,
        }


async def lock_task(conn: AsyncConnection, task_uuid: UUID, skip_locked: bool = False
                    ) -> TaskRef | None:
    """Lock a task row for the rest of the transaction; None when it does not exist (or is
    locked by someone else, with skip_locked)."""
    return await locked_task(await send_lock_task(conn, task_uuid, skip_locked))


async def send_lock_task(conn: AsyncConnection, task_uuid: UUID | str,
                         skip_locked: bool = False) -> AsyncCursor[Any]:
    """Send the task's lock; in a pipeline, statements sent after it run under the lock and
    go in the same round trip as it. `locked_task` reads the answer."""
    query = LOCK_TASK_SQL + (" SKIP LOCKED" if skip_locked else "")
    return await conn.execute(query, (task_uuid,))


async def locked_task(cursor: AsyncCursor[Any]) -> TaskRef | None:
    """The task `send_lock_task` locked, None when there was none to lock."""
    row = await cursor.fetchone()
    if row is None:
        return None
    return TaskRef(row["task_uuid"], row["namespace"], row["correlation_id"], row["trace_context"])


SWEEP = "sweep"
"""The cause of a readiness check the orchestration's periodic sweep made."""


@dataclass(frozen=True)
class Publishing:
    """The ready steps a transaction found and the publishes it sent for them; `settle` reads
    the publishes' answers once the transaction has committed, so the last publish goes in the
    COMMIT's round trip. Each publish span ends when its answer is read: it covers the send,
    the transaction's end, and the commit that makes the message visible."""

    ready: list[UUID]
    sent: list[tuple[UUID, PhaseRecord, AsyncCursor[Any]]]

    async def settle(self) -> list[UUID]:
        """The steps published; each publish span gets its message id and ends."""
        published: list[UUID] = []
        for step_uuid, publish, cursor in self.sent:
            row = await cursor.fetchone()
            if row is not None and row["msg_id"] is not None:
                publish.set_attribute(Attr.MESSAGING_MESSAGE_ID, str(row["msg_id"]))
                publish.set_attribute(Attr.TRANSITIONS, 1)
                published.append(step_uuid)
            publish.__exit__(None, None, None)
        return published


@dataclass(frozen=True)
class SentDiscovery:
    """A discovery sent in a pipeline whose answer is not read yet; its phase is open."""

    phase: PhaseRecord
    cursor: AsyncCursor[Any]

    async def answer(self, task: TaskRef) -> list[UUID]:
        """Read the ready steps and end the phase (with the error, if reading raised)."""
        self.phase.set_attributes(task.attributes)
        try:
            ready = [row["workflow_step_uuid"] for row in await self.cursor.fetchall()]
        except BaseException as error:
            self.phase.__exit__(type(error), error, error.__traceback__)
            raise
        self.phase.set_attribute(Attr.READY_STEPS, len(ready))
        self.phase.__exit__(None, None, None)
        return ready


async def send_discovery(conn: AsyncConnection, recorder: PhaseRecorder, parent: Parent,
                         task_uuid: UUID | str, cause: str) -> SentDiscovery:
    """Send the readiness query and open its discovery phase; in a pipeline it goes in the
    round trip of what was sent before it. `publish_discovered` reads it."""
    discovery = recorder.phase(Phase.DISCOVERY, parent=parent,
                               attributes={Attr.DISCOVERY_CAUSE: cause,
                                           **db_attributes("SELECT", READY_STEPS_SQL)})
    discovery.__enter__()
    return SentDiscovery(discovery, await conn.execute(READY_STEPS_SQL, (task_uuid,)))


async def enqueue_ready_steps(conn: AsyncConnection, recorder: PhaseRecorder, parent: Parent,
                              task: TaskRef, cause: str) -> Publishing:
    """Discover the task's ready steps (one round trip) and send a publish for each (in a
    pipeline, without waiting: `Publishing.settle` reads them after the commit). `cause`
    (task.initialize, result.process or SWEEP) is stamped on the discovery and publish spans."""
    sent = await send_discovery(conn, recorder, parent, task.task_uuid, cause)
    return await publish_discovered(conn, recorder, parent, task, cause, sent)


async def publish_discovered(conn: AsyncConnection, recorder: PhaseRecorder, parent: Parent,
                             task: TaskRef, cause: str, sent_discovery: SentDiscovery
                             ) -> Publishing:
    """Read a sent discovery's answer, end its phase, and send a publish for each ready step
    (see `enqueue_ready_steps`). A discovery whose answer is never read ends no phase."""
    ready = await sent_discovery.answer(task)
    return Publishing(ready, await _send_publishes(conn, recorder, parent, task, cause, ready,
                                                   PUBLISH_SQL))


async def _send_publishes(conn: AsyncConnection, recorder: PhaseRecorder, parent: Parent,
                          task: TaskRef, cause: str, steps: list[UUID], query: str
                          ) -> list[tuple[UUID, PhaseRecord, AsyncCursor[Any]]]:
    """Open a publish phase for each step and send its publish (`query`) without waiting."""
    caused = {**task.attributes, Attr.DISCOVERY_CAUSE: cause}
    queue = worker_queue(task.namespace)
    sent: list[tuple[UUID, PhaseRecord, AsyncCursor[Any]]] = []
    for step_uuid in steps:
        publish = recorder.phase(Phase.PUBLISH, parent=parent, kind=SpanKind.PRODUCER,
                                 attributes={**caused, Attr.STEP_UUID: str(step_uuid),
                                             **messaging_attributes("send", queue)})
        publish.__enter__()
        message = StepMessage(str(task.task_uuid), str(step_uuid), str(task.correlation_id))
        cur = await conn.execute(query, {
            "task": task.task_uuid,
            "step": step_uuid,
            "queue": queue,
            "message": Jsonb(message.to_json()),
            "headers": Jsonb(inject_message_headers(publish.context)),
        })
        sent.append((step_uuid, publish, cur))
    return sent


@dataclass(frozen=True)
class EarlyPublishing:
    """A discovery and the publishes sent with it, before its answer, for the steps expected
    to be ready (a new task's roots; each publish checks readiness itself). `settle`, once the
    transaction has committed, reads the discovery and the publishes; a publish of a step the
    discovery did not find ready ends no phase."""

    discovery: SentDiscovery
    sent: list[tuple[UUID, PhaseRecord, AsyncCursor[Any]]]

    async def settle(self, task: TaskRef) -> list[UUID]:
        """The steps published; the discovery's phase and the publishes' end."""
        ready = await self.discovery.answer(task)
        found = set(ready)
        return await Publishing(ready, [entry for entry in self.sent if entry[0] in found]
                                ).settle()


async def publish_expected_steps(conn: AsyncConnection, recorder: PhaseRecorder,
                                 parent: Parent, task: TaskRef, cause: str,
                                 expected: list[UUID]) -> EarlyPublishing:
    """Send the task's discovery and, without waiting for it, a readiness-checked publish
    for each of the `expected` steps: all in the round trip of what follows (the COMMIT)."""
    sent_discovery = await send_discovery(conn, recorder, parent, task.task_uuid, cause)
    sent = await _send_publishes(conn, recorder, parent, task, cause, expected,
                                 PUBLISH_IF_READY_SQL)
    return EarlyPublishing(sent_discovery, sent)
