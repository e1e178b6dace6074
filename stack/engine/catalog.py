"""Templates in the database: namespaces, named tasks and steps, and each namespace's queue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from stack.engine.messages import worker_queue
from stack.engine.templates import TaskTemplate


@dataclass(frozen=True)
class RegisteredTemplate:
    template: TaskTemplate
    named_task_uuid: UUID
    named_step_uuids: dict[str, UUID]

    @property
    def queue(self) -> str:
        return worker_queue(self.template.namespace)


async def register(conn: AsyncConnection, template: TaskTemplate) -> RegisteredTemplate:
    """Upsert a template and create its namespace's queue; safe to call concurrently."""
    async with conn.transaction():
        # Serialise registrations: pgmq.create is not safe against concurrent creators.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('spanbench.catalog'))")
        cur = await conn.execute(
            """INSERT INTO tasker.task_namespaces (name) VALUES (%s)
               ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
               RETURNING task_namespace_uuid""",
            (template.namespace,),
        )
        namespace_row = await cur.fetchone()
        assert namespace_row is not None
        cur = await conn.execute(
            """INSERT INTO tasker.named_tasks
                   (task_namespace_uuid, name, version, description, configuration,
                    identity_strategy)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (task_namespace_uuid, name, version)
               DO UPDATE SET configuration = EXCLUDED.configuration,
                             description = EXCLUDED.description,
                             identity_strategy = EXCLUDED.identity_strategy, updated_at = now()
               RETURNING named_task_uuid""",
            (_first(namespace_row), template.name, template.version, template.description,
             Jsonb(template.as_configuration()), template.identity_strategy),
        )
        task_row = await cur.fetchone()
        assert task_row is not None
        step_uuids: dict[str, UUID] = {}
        for step in template.steps:
            cur = await conn.execute(
                """INSERT INTO tasker.named_steps (name) VALUES (%s)
                   ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                   RETURNING named_step_uuid""",
                (step.name,),
            )
            step_row = await cur.fetchone()
            assert step_row is not None
            step_uuids[step.name] = _first(step_row)
        queue = worker_queue(template.namespace)
        await conn.execute(
            """SELECT pgmq.create(%(q)s)
               WHERE NOT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = %(q)s)""",
            {"q": queue},
        )
    return RegisteredTemplate(template, _first(task_row), step_uuids)


def _first(row: object) -> UUID:
    values = row.values() if isinstance(row, dict) else row
    return next(iter(values))  # type: ignore[call-overload]


class Catalog:
    """Registered templates by key, registering each on first use."""

    def __init__(self) -> None:
        self._registered: dict[tuple[str, str, str], RegisteredTemplate] = {}
        self._lock = asyncio.Lock()

    async def ensure(self, conn: AsyncConnection, template: TaskTemplate) -> RegisteredTemplate:
        found = self._registered.get(template.key)
        if found is not None:
            return found
        async with self._lock:
            found = self._registered.get(template.key)
            if found is None:
                found = await register(conn, template)
                self._registered[template.key] = found
        return found

    async def ensure_all(self, conn: AsyncConnection, templates: Iterable[TaskTemplate]) -> None:
        for template in templates:
            await self.ensure(conn, template)
