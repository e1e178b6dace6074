"""The fan-out workflow of the step_enqueueing suite, over SQL: its template, tasks planted with
the root already claimed, and a thread that reads the namespace's message-ready NOTIFYs.

`chain_workflow/fanout_N` (version 1.0.0): `fanout_root` (noop), then `fanout_leaf_1` …
`fanout_leaf_N` (noop), each depending on the root alone, so that the root's result makes N
steps ready at once. When the orchestration has not registered it, `ensure_template` does, in
the stack's catalog layout (named_tasks.configuration with handlers), so the stack's workers
can run the leaves.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from spanbench.vocabulary import Suite

_logger = logging.getLogger(__name__)

NAMESPACE = "chain_workflow"
VERSION = "1.0.0"
ROOT = "fanout_root"
EVEN_NUMBER = 6
_WAKE_S = 0.1


def leaf(i: int) -> str:
    return f"fanout_leaf_{i}"


def configuration(leaves: int) -> dict[str, Any]:
    """named_tasks.configuration of fanout_N, as the stack's catalog writes it."""
    def step(name: str, parents: list[str]) -> dict[str, Any]:
        return {"name": name, "handler": "noop", "depends_on": parents, "max_attempts": 3,
                "retryable": True, "handler_config": {}}
    return {"steps": [step(ROOT, []), *(step(leaf(i), [ROOT]) for i in range(1, leaves + 1))]}


@dataclass(frozen=True)
class FanoutTemplate:
    name: str
    leaves: int
    named_task_uuid: uuid.UUID
    root_named_step: uuid.UUID
    leaf_named_steps: tuple[uuid.UUID, ...]


def ensure_template(conn: psycopg.Connection, leaves: int, queue: str) -> FanoutTemplate:
    """fanout_<leaves>, registered if the orchestration has not (and `queue`, the namespace's
    worker queue)."""
    name = f"fanout_{leaves}"
    names = [ROOT, *(leaf(i) for i in range(1, leaves + 1))]
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('spanbench.catalog'))")
        conn.execute("INSERT INTO tasker.task_namespaces (name) VALUES (%s) "
                     "ON CONFLICT (name) DO NOTHING", (NAMESPACE,))
        conn.execute(
            """INSERT INTO tasker.named_tasks
                   (task_namespace_uuid, name, version, description, configuration)
               SELECT task_namespace_uuid, %s, %s, %s, %s FROM tasker.task_namespaces
               WHERE name = %s
               ON CONFLICT (task_namespace_uuid, name, version) DO NOTHING""",
            (name, VERSION, f"root → {leaves} leaves (spanbench step_enqueueing)",
             Jsonb(configuration(leaves)), NAMESPACE))
        conn.execute("INSERT INTO tasker.named_steps (name) SELECT unnest(%s::text[]) "
                     "ON CONFLICT (name) DO NOTHING", (names,))
        conn.execute("SELECT pgmq.create(%(q)s) WHERE NOT EXISTS "
                     "(SELECT 1 FROM pgmq.meta WHERE queue_name = %(q)s)", {"q": queue})
        row = conn.execute(
            "SELECT nt.named_task_uuid FROM tasker.named_tasks nt JOIN tasker.task_namespaces "
            "tn USING (task_namespace_uuid) WHERE tn.name = %s AND nt.name = %s "
            "AND nt.version = %s", (NAMESPACE, name, VERSION)).fetchone()
        steps = dict(conn.execute("SELECT name, named_step_uuid FROM tasker.named_steps "
                                  "WHERE name = ANY(%s)", (names,)).fetchall())
    assert row is not None
    return FanoutTemplate(name, leaves, row[0], steps[ROOT],
                          tuple(steps[n] for n in names[1:]))


@dataclass(frozen=True)
class PlantedTask:
    task_uuid: str
    correlation_id: str
    root_step_uuid: str
    leaf_step_uuids: tuple[str, ...]


PLANT_SQL = """
WITH task AS (
    INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, correlation_id,
                              initiator, source_system, reason, tags)
    VALUES (%(named_task)s, %(context)s, %(identity)s, %(correlation)s, 'spanbench',
            'spanbench', %(reason)s, '["spanbench"]')
    RETURNING task_uuid
), task_states AS (
    INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, sort_key, most_recent)
    SELECT task_uuid, f, t, k, k = 4 FROM task, (VALUES
        (NULL, 'pending', 1), ('pending', 'initializing', 2),
        ('initializing', 'enqueuing_steps', 3), ('enqueuing_steps', 'steps_in_process', 4)
    ) AS s(f, t, k)
), steps AS (
    INSERT INTO tasker.workflow_steps (task_uuid, named_step_uuid, attempts, in_process,
                                       last_attempted_at)
    SELECT task_uuid, named, CASE WHEN i = 1 THEN 1 ELSE 0 END, i = 1,
           CASE WHEN i = 1 THEN now() END
    FROM task, unnest(%(named_steps)s::uuid[]) WITH ORDINALITY AS s(named, i)
    RETURNING workflow_step_uuid, named_step_uuid
), root AS (
    SELECT workflow_step_uuid FROM steps WHERE named_step_uuid = %(root)s
), edges AS (
    INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid)
    SELECT root.workflow_step_uuid, steps.workflow_step_uuid FROM root, steps
    WHERE steps.named_step_uuid <> %(root)s
), step_states AS (
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, from_state, to_state, sort_key, most_recent)
    SELECT workflow_step_uuid, NULL, 'pending', 1, named_step_uuid <> %(root)s FROM steps
    UNION ALL
    SELECT workflow_step_uuid, f, t, k, k = 3 FROM root, (VALUES
        ('pending', 'enqueued', 2), ('enqueued', 'in_progress', 3)) AS s(f, t, k)
)
SELECT (SELECT task_uuid FROM task), workflow_step_uuid, named_step_uuid = %(root)s FROM steps
"""
"""One statement: a task in steps_in_process whose root a worker has claimed (in_progress)
and whose leaves wait for it."""


def plant_task(conn: psycopg.Connection, template: FanoutTemplate) -> PlantedTask:
    correlation_id = str(uuid.uuid4())
    rows = conn.execute(PLANT_SQL, {
        "named_task": template.named_task_uuid, "context": Jsonb({"even_number": EVEN_NUMBER}),
        "identity": f"spanbench-fanout-{correlation_id}", "correlation": correlation_id,
        "named_steps": [template.root_named_step, *template.leaf_named_steps],
        "root": template.root_named_step, "reason": Suite.STEP_ENQUEUEING}).fetchall()
    root = [str(step) for _, step, is_root in rows if is_root]
    leaves = tuple(str(step) for _, step, is_root in rows if not is_root)
    if len(root) != 1 or len(leaves) != template.leaves:
        raise RuntimeError(f"planting {template.name} gave {len(rows)} steps")
    return PlantedTask(str(rows[0][0]), correlation_id, root[0], leaves)


@dataclass(frozen=True)
class ReadyMessage:
    """One message-ready NOTIFY of a step message, as tasker.pgmq_send_with_notify sends it."""

    msg_id: int
    queue: str
    ready_at: str
    task_uuid: str
    step_uuid: str
    headers: dict[str, str] = field(default_factory=dict)


def parse_ready(payload: str) -> ReadyMessage | None:
    """A ReadyMessage from a NOTIFY payload; None when it carries no step message (a payload
    over 7000 bytes leaves the message out)."""
    try:
        body = json.loads(payload)
        message = body["message"]
        return ReadyMessage(int(body["msg_id"]), str(body["queue_name"]), str(body["ready_at"]),
                            str(message["task_uuid"]), str(message["step_uuid"]),
                            dict(body.get("headers") or {}))
    except (ValueError, KeyError, TypeError):
        return None


class ReadyMessages:
    """A LISTEN thread keeping the message-ready NOTIFYs of the tasks it is told to expect."""

    def __init__(self, database_url: str, channel: str) -> None:
        self.channel = channel
        self._url = database_url
        self._expected: dict[str, list[ReadyMessage]] = {}
        self._arrived = threading.Condition()
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="spanbench-ready-messages",
                                        daemon=True)

    def __enter__(self) -> ReadyMessages:
        self._thread.start()
        if not self._listening.wait(10):
            self.__exit__(None, None, None)
            raise RuntimeError(f"could not LISTEN on {self.channel}: {self._error}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def expect(self, task_uuid: str) -> None:
        with self._arrived:
            self._expected[task_uuid] = []

    def forget(self, task_uuid: str) -> None:
        with self._arrived:
            self._expected.pop(task_uuid, None)

    def wait(self, task_uuid: str, count: int, expires_at: float) -> list[ReadyMessage]:
        """The first `count` messages of an expected task; TimeoutError at `expires_at`."""
        with self._arrived:
            got = self._arrived.wait_for(
                lambda: len(self._expected.get(task_uuid, ())) >= count,
                max(expires_at - time.monotonic(), 0.0))
            messages = list(self._expected.get(task_uuid, ()))
        if not got:
            raise TimeoutError(f"{len(messages)} of {count} step messages of task {task_uuid} "
                               f"announced on {self.channel} before the deadline")
        return messages[:count]

    def _run(self) -> None:
        try:
            for payload in self._payloads():
                message = parse_ready(payload)
                if message is None:
                    continue
                with self._arrived:
                    if message.task_uuid in self._expected:
                        self._expected[message.task_uuid].append(message)
                        self._arrived.notify_all()
        except Exception as error:  # the waiting driver times out and says why
            self._error = error
            _logger.warning("message-ready listener on %s stopped: %s", self.channel, error)

    def _payloads(self) -> Iterator[str]:
        with psycopg.connect(self._url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self._listening.set()
            while not self._stopping.is_set():
                for notify in conn.notifies(timeout=_WAKE_S):
                    yield notify.payload
