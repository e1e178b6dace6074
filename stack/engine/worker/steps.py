"""The three things a worker does with a step message: claim, execute, submit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from stack.engine.handlers import StepContext, resolve, run_handler
from stack.engine.messages import ORCHESTRATION_RESULTS_QUEUE, StepMessage, StepResultMessage

# Take the step and count the attempt, or delete a duplicate's message, in one statement
# (stack/engine/sql/009_claim_and_submit.sql); its rows are start_step_attempt's (005, 007).
CLAIM_SQL = """
SELECT * FROM tasker.claim_step(%(step)s, %(queue)s, %(msg_id)s::bigint, %(read_ct)s,
                                %(metadata)s)
"""

# Take a notified message off its queue and claim its step in one statement
# (012_take_notified_message.sql): no row when another worker took the message first.
TAKE_AND_CLAIM_SQL = """
SELECT * FROM tasker.take_and_claim_step(%(queue)s, %(msg_id)s::bigint, %(vt)s, %(step)s,
                                         %(metadata)s)
"""

# The hand-back to the orchestration in one statement (009_claim_and_submit.sql).
SUBMIT_SQL = """
SELECT tasker.submit_step_result(%(step)s, %(queue)s, %(msg_id)s::bigint, %(metadata)s,
                                 %(results)s, %(results_queue)s, %(message)s, %(headers)s)
    AS moved
"""


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


async def claim(conn: AsyncConnection, queue: str, msg_id: int, read_ct: int,
                message: StepMessage, worker_id: str) -> ClaimedStep | None:
    """Take the step (enqueued → in_progress) in one transaction, or drop the message.

    A message read again after its visibility timeout (read_ct > 1) whose step is still
    in_progress belongs to a worker that died: it is taken over. Any other message whose
    step is not enqueued is a duplicate and is deleted.

    One statement on an autocommit connection: one round trip, commit included.
    """
    cur = await conn.execute(CLAIM_SQL, {
        "step": message.step_uuid, "queue": queue, "msg_id": msg_id, "read_ct": read_ct,
        "metadata": Jsonb({"worker_id": worker_id, "msg_id": msg_id})})
    return _claimed(message, await cur.fetchone())


async def take_and_claim(conn: AsyncConnection, queue: str, msg_id: int,
                         visibility_timeout_s: int, message: StepMessage, worker_id: str
                         ) -> tuple[bool, ClaimedStep | None]:
    """Take a message its NOTIFY announced (as pgmq.read would: hidden for the timeout, its
    read counted) and claim its step as `claim` does, in one statement: (whether this worker
    took the message, the step claimed or None for a duplicate). Not taken means another
    worker (or a read) has it, or it is gone."""
    cur = await conn.execute(TAKE_AND_CLAIM_SQL, {
        "queue": queue, "msg_id": msg_id, "vt": visibility_timeout_s, "step": message.step_uuid,
        "metadata": Jsonb({"worker_id": worker_id, "msg_id": msg_id})})
    row = await cur.fetchone()
    if row is None:
        return False, None
    return True, _claimed(message, row if row["step_name"] is not None else None)


def _claimed(message: StepMessage, row: dict[str, Any] | None) -> ClaimedStep | None:
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
    statement and its transaction: one round trip. Returns False when another worker's
    submission won."""
    message = step.message
    result = StepResultMessage(
        task_uuid=message.task_uuid, step_uuid=message.step_uuid,
        correlation_id=message.correlation_id, worker_id=worker_id,
        status="success" if failure is None else "error",
        error=None if failure is None else error_details(failure),
    )
    stored = {"result": outcome} if failure is None else {"error": result.error}
    cur = await conn.execute(SUBMIT_SQL, {
        "step": message.step_uuid, "queue": queue, "msg_id": msg_id,
        "metadata": Jsonb({"worker_id": worker_id, "status": result.status}),
        "results": Jsonb(stored), "results_queue": ORCHESTRATION_RESULTS_QUEUE,
        "message": Jsonb(result.to_json()), "headers": Jsonb(headers)})
    row = await cur.fetchone()
    return row is not None and bool(row["moved"])
