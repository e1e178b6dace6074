"""Read models of the API: TaskResponse, StepResponse and the template list, as in the contract."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor

from stack.engine.templates import TaskTemplate

TASK_SQL = """
SELECT t.task_uuid, nt.name, tn.name AS namespace, nt.version, t.created_at, t.updated_at,
       t.completed_at, t.context, t.initiator, t.source_system, t.reason, t.correlation_id,
       t.parent_correlation_id, t.priority, t.tags,
       ctx.status, ctx.total_steps, ctx.pending_steps, ctx.in_progress_steps, ctx.completed_steps,
       ctx.failed_steps, ctx.ready_steps, ctx.execution_status, ctx.recommended_action,
       ctx.completion_percentage, ctx.health_status
FROM tasker.tasks t
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
JOIN tasker.task_namespaces tn ON tn.task_namespace_uuid = nt.task_namespace_uuid
CROSS JOIN LATERAL tasker.get_task_execution_context(t.task_uuid) ctx
WHERE t.task_uuid = %s
"""

STEPS_SQL = """
SELECT r.*, ws.created_at, ws.updated_at, ws.processed_at AS completed_at, ws.results
FROM tasker.get_step_readiness_status(%s, NULL) r
JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = r.workflow_step_uuid
ORDER BY ws.created_at, r.name
"""

_READINESS_FIELDS = (
    "task_uuid", "named_step_uuid", "name", "current_state", "dependencies_satisfied",
    "retry_eligible", "ready_for_execution", "total_parents", "completed_parents", "attempts",
    "max_attempts", "backoff_request_seconds", "last_attempted_at", "next_retry_at",
)


def _json(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _last_failure(row: dict[str, Any]) -> Any:
    return _json(row["last_failure_at"])


def readiness_status(row: dict[str, Any]) -> dict[str, Any]:
    """A StepReadinessStatus (the items of TaskResponse.steps)."""
    body = {field: _json(row[field]) for field in _READINESS_FIELDS}
    body["workflow_step_uuid"] = str(row["workflow_step_uuid"])
    body["last_failure_at"] = _last_failure(row)
    return body


def step_response(row: dict[str, Any]) -> dict[str, Any]:
    """A StepResponse."""
    body = {field: _json(row[field]) for field in _READINESS_FIELDS if field != "named_step_uuid"}
    body.update(
        step_uuid=str(row["workflow_step_uuid"]),
        created_at=_json(row["created_at"]),
        updated_at=_json(row["updated_at"]),
        completed_at=_json(row["completed_at"]),
        last_failure_at=_last_failure(row),
        results=row["results"],
    )
    return body


async def step_rows(conn: AsyncConnection, task_uuid: UUID) -> list[dict[str, Any]]:
    cur = await conn.execute(STEPS_SQL, (task_uuid,))
    return list(await cur.fetchall())


@dataclass(frozen=True)
class PendingTaskResponse:
    """A TaskResponse's two queries, sent; their rows are read by `body`."""

    task: AsyncCursor[Any]
    steps: AsyncCursor[Any]

    async def body(self) -> dict[str, Any] | None:
        """The TaskResponse, None when there is no such task. In a pipeline, call it once the
        pipeline has synced (its block ended, or the transaction committed)."""
        row = await self.task.fetchone()
        if row is None:
            return None
        body = {key: _json(value) for key, value in row.items()}
        body["steps"] = [readiness_status(step) for step in await self.steps.fetchall()]
        return body


async def request_task_response(conn: AsyncConnection, task_uuid: UUID) -> PendingTaskResponse:
    """Send the queries of a task's TaskResponse (in a pipeline: queue them)."""
    task = await conn.execute(TASK_SQL, (task_uuid,))
    steps = await conn.execute(STEPS_SQL, (task_uuid,))
    return PendingTaskResponse(task, steps)


async def task_response(conn: AsyncConnection, task_uuid: UUID) -> dict[str, Any] | None:
    """The TaskResponse of a task, None when there is no such task (one round trip)."""
    async with conn.pipeline():
        pending = await request_task_response(conn, task_uuid)
    return await pending.body()


def template_list(templates: Iterable[TaskTemplate], namespace: str | None) -> dict[str, Any]:
    """A TemplateListResponse; total_count counts templates before the namespace filter."""
    every = list(templates)
    counts: dict[str, int] = {}
    for template in every:
        counts[template.namespace] = counts.get(template.namespace, 0) + 1
    shown = [t for t in every if namespace is None or t.namespace == namespace]
    return {
        "namespaces": [{"name": name, "description": None, "template_count": count}
                       for name, count in sorted(counts.items())],
        "templates": [{"name": t.name, "namespace": t.namespace, "version": t.version,
                       "description": t.description or None, "step_count": len(t.steps)}
                      for t in shown],
        "total_count": len(every),
    }
