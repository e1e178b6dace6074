"""The three things a worker does with a step message: claim, execute, submit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from stack.engine.handlers import StepContext, resolve, run_handler
from stack.engine.messages import ORCHESTRATION_RESULTS_QUEUE, StepMessage, StepResultMessage

TRANSITION_SQL = "SELECT tasker.transition_step_state_atomic(%s, %s::text[], %s, %s) AS moved"

# Count the attempt and load what the handler needs (stack/engine/sql/005_start_step_attempt.sql).
START_ATTEMPT_SQL = "SELECT * FROM tasker.start_step_attempt(%(step)s)"

DELETE_SQL = "SELECT pgmq.delete(%s, %s::bigint)"


@dataclass(frozen=True)
class ClaimedStep:
    """A step this worker now owns, with everything its handler needs."""

    message: StepMessage
    step_name: str
    attempt: int
    handler: str
    handler_config: dict[str, Any]
    task_context: dict[str, Any]
    dependency_results: dict[str, Any]


async def _transition(conn: AsyncConnection, step: str, from_states: list[str], to_state: str,
                      metadata: dict[str, Any]) -> bool:
    cur = await conn.execute(TRANSITION_SQL, (step, from_states, to_state, Jsonb(metadata)))
    row = await cur.fetchone()
    return row is not None and row["moved"] is not None


async def claim(conn: AsyncConnection, queue: str, msg_id: int, read_ct: int,
                message: StepMessage, worker_id: str) -> ClaimedStep | None:
    """Take the step (enqueued → in_progress) in one transaction, or drop the message.

    A message read again after its visibility timeout (read_ct > 1) whose step is still
    in_progress belongs to a worker that died: it is taken over. Any other message whose
    step is not enqueued is a duplicate and is deleted.

    Pipelined: BEGIN goes with the transition, the attempt with the COMMIT.
    """
    async with conn.pipeline(), conn.transaction():
        metadata = {"worker_id": worker_id, "msg_id": msg_id}
        taken = await _transition(conn, message.step_uuid, ["enqueued"], "in_progress", metadata)
        if not taken and read_ct > 1:
            taken = await _transition(conn, message.step_uuid, ["in_progress"], "in_progress",
                                      {**metadata, "taken_over": True})
        if not taken:
            await conn.execute(DELETE_SQL, (queue, msg_id))
            return None
        cur = await conn.execute(START_ATTEMPT_SQL, {"step": message.step_uuid})
    row = await cur.fetchone()
    if row is None:
        return None
    step_config = _step_configuration(row["configuration"], row["step_name"])
    return ClaimedStep(
        message=message,
        step_name=row["step_name"],
        attempt=row["attempts"],
        handler=step_config["handler"],
        handler_config=step_config.get("handler_config") or {},
        task_context=row["context"] or {},
        dependency_results=row["dependency_results"] or {},
    )


def _step_configuration(configuration: dict[str, Any], step_name: str) -> dict[str, Any]:
    for step in configuration.get("steps", []):
        if step.get("name") == step_name:
            return step
    raise LookupError(f"the task's template has no step {step_name!r}")


async def execute(step: ClaimedStep, conn: AsyncConnection | None = None) -> Any:
    """Run the step's handler; its exceptions propagate."""
    ctx = StepContext(step_name=step.step_name, task_context=step.task_context,
                      dependency_results=step.dependency_results, config=step.handler_config,
                      connection=conn)
    return await run_handler(resolve(step.handler), ctx)


def error_details(error: BaseException) -> dict[str, str]:
    return {"type": type(error).__name__, "message": str(error)}


async def submit(conn: AsyncConnection, queue: str, msg_id: int, step: ClaimedStep,
                 worker_id: str, outcome: Any, failure: BaseException | None,
                 headers: dict[str, Any]) -> bool:
    """Record the outcome and hand it to the orchestration (in_progress →
    enqueued_for_orchestration, result message, delete the step message), all in one
    transaction, pipelined in two round trips. Returns False when another worker's submission
    won."""
    message = step.message
    result = StepResultMessage(
        task_uuid=message.task_uuid, step_uuid=message.step_uuid,
        correlation_id=message.correlation_id, worker_id=worker_id,
        status="success" if failure is None else "error",
        error=None if failure is None else error_details(failure),
    )
    stored = {"result": outcome} if failure is None else {"error": result.error}
    async with conn.pipeline(), conn.transaction():
        moved = await _transition(conn, message.step_uuid, ["in_progress"],
                                  "enqueued_for_orchestration",
                                  {"worker_id": worker_id, "status": result.status})
        if moved:
            await conn.execute(
                "UPDATE tasker.workflow_steps SET results = %s, updated_at = now() "
                "WHERE workflow_step_uuid = %s", (Jsonb(stored), message.step_uuid))
            await conn.execute(
                "SELECT tasker.pgmq_send_with_notify(%s, %s, 0, %s)",
                (ORCHESTRATION_RESULTS_QUEUE, Jsonb(result.to_json()), Jsonb(headers)))
        await conn.execute(DELETE_SQL, (queue, msg_id))
    return moved
