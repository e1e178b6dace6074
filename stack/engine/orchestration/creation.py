"""Task creation: task, steps, edges and the first ready steps' messages in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, errors
from psycopg.types.json import Jsonb

from instrument.propagation import inject_message_headers
from instrument.recorder import Parent, PhaseRecorder
from spanbench.vocabulary import Attr, Phase
from stack.engine.catalog import RegisteredTemplate
from stack.engine.database import pipelined_transaction
from stack.engine.ids import uuid7
from stack.engine.orchestration.enqueue import TaskRef, publish_expected_steps
from stack.engine.orchestration.identity import DUPLICATE_MESSAGE, IDENTITY_INDEX, identity_hash
from stack.engine.orchestration.requests import TaskRequest
from stack.engine.orchestration.views import PendingTaskResponse, request_task_response

INSERT_TASK_SQL = """
INSERT INTO tasker.tasks
    (task_uuid, named_task_uuid, requested_at, initiator, source_system, reason, tags, context,
     identity_hash, priority, correlation_id, parent_correlation_id, trace_context)
VALUES (%(task_uuid)s, %(named_task_uuid)s, %(requested_at)s, %(initiator)s, %(source_system)s,
        %(reason)s, %(tags)s, %(context)s, %(identity_hash)s, %(priority)s, %(correlation_id)s,
        %(parent_correlation_id)s, %(trace_context)s)
"""

# The states a new task passes through inside this one transaction, as tasker-core records them.
INSERT_TASK_TRANSITIONS_SQL = """
INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, sort_key, most_recent)
VALUES (%(t)s, NULL, 'pending', 1, false),
       (%(t)s, 'pending', 'initializing', 2, false),
       (%(t)s, 'initializing', 'enqueuing_steps', 3, false),
       (%(t)s, 'enqueuing_steps', 'steps_in_process', 4, true)
"""

INSERT_STEPS_SQL = """
INSERT INTO tasker.workflow_steps
    (workflow_step_uuid, task_uuid, named_step_uuid, retryable, max_attempts)
SELECT step, %(task)s, named, retryable, max_attempts
FROM unnest(%(steps)s::uuid[], %(named)s::uuid[], %(retryable)s::boolean[],
            %(max_attempts)s::integer[]) AS s(step, named, retryable, max_attempts)
"""

INSERT_STEP_TRANSITIONS_SQL = """
INSERT INTO tasker.workflow_step_transitions
    (workflow_step_uuid, from_state, to_state, sort_key, most_recent)
SELECT step, NULL, 'pending', 1, true FROM unnest(%s::uuid[]) AS s(step)
"""

INSERT_EDGES_SQL = """
INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid)
SELECT f, t FROM unnest(%s::uuid[], %s::uuid[]) AS e(f, t)
"""


class DuplicateTask(Exception):
    """A task with the request's identity exists (tasker-core answers 409 Conflict)."""


@dataclass(frozen=True)
class CreatedTask:
    task_uuid: UUID
    response: dict[str, Any] | None
    """Its TaskResponse, read right after the commit, in the commit's round trip."""


async def create_task(conn: AsyncConnection, registered: RegisteredTemplate,
                      request: TaskRequest, recorder: PhaseRecorder, parent: Parent
                      ) -> CreatedTask:
    """Write the task and publish its initially ready steps in one transaction, and read its
    TaskResponse back: one round trip in all.

    Raises MissingIdempotencyKey (a caller_provided template without a key) before writing,
    and DuplicateTask when a task with the same identity exists (nothing is written)."""
    template = registered.template
    identity = identity_hash(template.identity_strategy, registered.named_task_uuid,
                             request.context, request.idempotency_key)
    task_uuid = uuid7()
    step_uuids = {step.name: uuid7() for step in template.steps}
    attributes = {
        Attr.TASK_UUID: str(task_uuid),
        Attr.CORRELATION_ID: str(request.correlation_id),
        Attr.NAMESPACE: template.namespace,
        Attr.TEMPLATE: template.name,
        Attr.TOTAL_STEPS: len(template.steps),
        # pending → … → steps_in_process (4 task rows) and each step's first 'pending' row
        Attr.TRANSITIONS: 4 + len(template.steps),
    }
    with recorder.phase(Phase.TASK_INITIALIZE, parent=parent, attributes=attributes) as init:
        trace_context = inject_message_headers(init.context)
        # Pipelined, one round trip: BEGIN, the inserts, discovery and the publishes of the
        # steps without parents (each checks readiness itself: the discovery is not waited
        # for), the COMMIT and the TaskResponse's queries, which run once the steps' messages
        # are visible. A duplicate's UniqueViolation aborts the rest and surfaces at the end.
        responses: list[PendingTaskResponse] = []

        async def read_back() -> None:
            responses.append(await request_task_response(conn, task_uuid))

        ref = TaskRef(task_uuid, template.namespace, request.correlation_id, trace_context)
        roots = [step_uuids[step.name] for step in template.steps if not step.depends_on]
        try:
            async with pipelined_transaction(conn, after_commit=read_back):
                await _queue_rows(conn, registered, step_uuids, {
                    "task_uuid": task_uuid,
                    "named_task_uuid": registered.named_task_uuid,
                    "requested_at": request.requested_at,
                    "initiator": request.initiator,
                    "source_system": request.source_system,
                    "reason": request.reason,
                    "tags": Jsonb(request.tags),
                    "context": Jsonb(request.context),
                    "identity_hash": identity,
                    "priority": request.priority,
                    "correlation_id": request.correlation_id,
                    "parent_correlation_id": request.parent_correlation_id,
                    "trace_context": Jsonb(trace_context),
                })
                publishing = await publish_expected_steps(conn, recorder, init, ref,
                                                          Phase.TASK_INITIALIZE, roots)
        except errors.UniqueViolation as error:
            if error.diag.constraint_name == IDENTITY_INDEX:
                raise DuplicateTask(DUPLICATE_MESSAGE) from error
            raise
        await publishing.settle(ref)
    return CreatedTask(task_uuid, await responses[0].body())


async def _queue_rows(conn: AsyncConnection, registered: RegisteredTemplate,
                      step_uuids: dict[str, UUID], task_row: dict[str, object]) -> None:
    """Send the task's, its steps', their edges' and their first transitions' inserts; in a
    pipeline their errors surface at the next sync."""
    task_uuid = task_row["task_uuid"]
    ordered = list(registered.template.steps)
    await conn.execute(INSERT_TASK_SQL, task_row)
    await conn.execute(INSERT_TASK_TRANSITIONS_SQL, {"t": task_uuid})
    await conn.execute(INSERT_STEPS_SQL, {
        "task": task_uuid,
        "steps": [step_uuids[step.name] for step in ordered],
        "named": [registered.named_step_uuids[step.name] for step in ordered],
        "retryable": [step.retryable for step in ordered],
        "max_attempts": [step.max_attempts for step in ordered],
    })
    await conn.execute(INSERT_STEP_TRANSITIONS_SQL, (list(step_uuids.values()),))
    edges = [(step_uuids[parent_name], step_uuids[step.name])
             for step in ordered for parent_name in step.depends_on]
    if edges:
        await conn.execute(INSERT_EDGES_SQL, ([e[0] for e in edges], [e[1] for e in edges]))
