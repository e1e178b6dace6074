"""tasker-core's own Rust→Python boundary, driven from outside: tasker-py's worker in a child
process (instrument.workload.tasker_py_worker) on a database of tasker-core's schema, and steps
seeded there for it to hand over to Python.

Each step is seeded as orchestration leaves it (its task `steps_in_process`, the step
`pending → enqueued`) and announced with the system's send-with-notify on the namespace's
worker queue; the worker claims it and hands its event to Python, which runs the handler and
submits the result. The Rust side then stores the result (`workflow_steps.results`) and moves
the step to `enqueued_for_orchestration`, which `stored_result` waits for.

The database is written to (templates registered, tasks and steps seeded): give it a scratch
copy, never a deployment. The worker's configuration is the user's TOML (TASKER_CONFIG_PATH);
its templates are ours, written to a temporary folder (TASKER_TEMPLATE_PATH).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import conninfo

from instrument.workload.json_lines import JsonLinesProcess
from instrument.workload.tasker_py_worker import NAMESPACE, STEP_NAME, TASK_NAME
from spanbench import settings

WORKER_COMMAND = (sys.executable, "-m", "instrument.workload.tasker_py_worker")
START_TIMEOUT_S = 60.0
SETTLED_STATE = "enqueued_for_orchestration"
SETTLE_POLL_S = 0.01
TASK_CONTEXT: dict[str, Any] = {"even_number": 6}
TEMPLATE = f"""\
name: {TASK_NAME}
namespace_name: {NAMESPACE}
version: 1.0.0
description: one Python step, to time tasker-core's Rust to Python dispatch
steps:
  - name: {STEP_NAME}
    description: square the task's even_number
    handler:
      callable: {NAMESPACE}.square
    dependencies: []
"""
TASK_STATES = ("pending", "initializing", "enqueuing_steps", "steps_in_process")
STEP_STATES = ("pending", "enqueued")
CONFIG_PATH, TEMPLATE_PATH = "TASKER_CONFIG_PATH", "TASKER_TEMPLATE_PATH"
WEB_BIND, GRPC_BIND = "TASKER_WEB_BIND_ADDRESS", "TASKER_WORKER_GRPC_BIND_ADDRESS"
WORKER_VARIABLES = (CONFIG_PATH, TEMPLATE_PATH, WEB_BIND, GRPC_BIND)
"""tasker-core's variables, set for its worker's process and never read by spanbench (so not
in spanbench.settings' catalogue)."""


@dataclass(frozen=True)
class Handover:
    """One step across the boundary: `time.perf_counter_ns` readings and the handler's result."""

    polled_ns: int
    """The start of the poll call that returned the step's event."""
    handed_ns: int
    """That call's return: the event is Python's."""
    returned_ns: int
    """The handler's return, its completion built."""
    accepted_ns: int
    """The completion call's return: the Rust side accepted the result."""
    result: Any


def worker_database_url(url: str) -> str:
    """`url` (libpq URL or key=value) as the `postgresql://user:password@` URL tasker-core's
    configuration check accepts (a password it does not need is filled in)."""
    parts = conninfo.conninfo_to_dict(url)
    user = quote(str(parts.pop("user", None) or "postgres"), safe="")
    password = quote(str(parts.pop("password", None) or "unused"), safe="")
    host = str(parts.pop("host", None) or "localhost")
    port = parts.pop("port", None)
    dbname = quote(str(parts.pop("dbname", None) or ""), safe="")
    query = {key: str(value) for key, value in parts.items() if value is not None}
    if host.startswith("/"):  # a socket directory: a URL with credentials needs a host too
        query["host"] = host
        netloc = "localhost"
    else:
        netloc = host + (f":{port}" if port else "")
        port = None
    if port:
        query["port"] = str(port)
    tail = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{user}:{password}@{netloc}/{dbname}{tail}"


def loopback_address() -> str:
    """A free loopback `host:port`, for a listener the worker opens and nobody calls."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


class TaskerPyBoundary:
    """tasker-py's worker bootstrapped on `database_url` in a child process, and the steps
    handed to it; `close()` stops the worker."""

    def __init__(self, database_url: str, config: Path, *, queue: str, send_sql: str,
                 log: IO[Any] | int | None = None) -> None:
        self.database_url = database_url
        self.queue = queue
        self.send_sql = send_sql
        self._folder = tempfile.TemporaryDirectory(prefix="spanbench-tasker-py-")
        templates = Path(self._folder.name)
        (templates / f"{TASK_NAME}.yaml").write_text(TEMPLATE, encoding="utf-8")
        environment = {**os.environ, settings.DATABASE_URL: worker_database_url(database_url),
                       CONFIG_PATH: str(config), TEMPLATE_PATH: str(templates),
                       WEB_BIND: loopback_address(), GRPC_BIND: loopback_address()}
        try:
            self._worker = JsonLinesProcess(WORKER_COMMAND, START_TIMEOUT_S, env=environment,
                                            stderr=log)
        except BaseException:
            self._folder.cleanup()
            raise
        self.version = str(self._worker.ready["version"])
        self.pid = self._worker.pid
        self._conn = psycopg.connect(database_url, autocommit=True)
        self._named: tuple[Any, Any] | None = None

    def __enter__(self) -> TaskerPyBoundary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._worker.close()
        finally:
            self._conn.close()
            self._folder.cleanup()

    def seed_step(self) -> str:
        """A task and its one step as orchestration leaves them, announced on the worker's
        queue; the step's uuid."""
        named_task, named_step = self._named_task_and_step()
        task, step, correlation = (str(uuid.uuid4()) for _ in range(3))
        with self._conn.transaction():
            self._conn.execute(
                "INSERT INTO tasker.tasks (task_uuid, named_task_uuid, requested_at, context, "
                "identity_hash, created_at, updated_at, correlation_id) "
                "VALUES (%s, %s, now(), %s, %s, now(), now(), %s)",
                (task, named_task, json.dumps(TASK_CONTEXT), uuid.uuid4().hex, correlation))
            _transitions(self._conn, "tasker.task_transitions", "task_uuid", task, TASK_STATES)
            self._conn.execute(
                "INSERT INTO tasker.workflow_steps (workflow_step_uuid, task_uuid, "
                "named_step_uuid, created_at, updated_at) VALUES (%s, %s, %s, now(), now())",
                (step, task, named_step))
            _transitions(self._conn, "tasker.workflow_step_transitions", "workflow_step_uuid",
                         step, STEP_STATES)
        message = {"task_uuid": task, "step_uuid": step, "correlation_id": correlation}
        self._conn.execute(self.send_sql, {"queue": self.queue, "message": json.dumps(message),
                                           "headers": json.dumps({})})
        return step

    def hand_over(self, step_uuid: str, expires_at: float) -> Handover:
        """The step's event handed to Python, its handler run, its completion accepted."""
        timeout_s = max(expires_at - time.monotonic(), 0.0)
        reply = self._worker.request({"step_uuid": step_uuid, "timeout_s": timeout_s},
                                     expires_at)
        return Handover(int(reply["polled_ns"]), int(reply["handed_ns"]),
                        int(reply["returned_ns"]), int(reply["accepted_ns"]), reply["result"])

    def stored_result(self, step_uuid: str, expires_at: float) -> Any:
        """The result the Rust side stored for the step, once the step is
        `enqueued_for_orchestration` with its results (two writes: either may be seen first);
        TimeoutError when it is not by `expires_at`."""
        while True:
            row = self._conn.execute(
                "SELECT t.to_state, s.results FROM tasker.workflow_steps s "
                "JOIN tasker.workflow_step_transitions t USING (workflow_step_uuid) "
                "WHERE t.most_recent AND s.workflow_step_uuid = %s", (step_uuid,)).fetchone()
            if row is not None and row[0] == SETTLED_STATE and row[1] is not None:
                return row[1].get("result")
            if time.monotonic() > expires_at:
                state = row[0] if row else "absent"
                raise TimeoutError(f"step {step_uuid} is {state}, not {SETTLED_STATE}")
            time.sleep(SETTLE_POLL_S)

    def _named_task_and_step(self) -> tuple[Any, Any]:
        if self._named is None:
            row = self._conn.execute("SELECT named_task_uuid FROM tasker.named_tasks "
                                     "WHERE name = %s", (TASK_NAME,)).fetchone()
            if row is None:
                raise RuntimeError(f"tasker-py's worker did not register template {TASK_NAME}")
            step = self._conn.execute(
                "INSERT INTO tasker.named_steps (name, created_at, updated_at) "
                "VALUES (%s, now(), now()) RETURNING named_step_uuid", (STEP_NAME,)).fetchone()
            assert step is not None
            self._named = (row[0], step[0])
        return self._named


def _transitions(conn: psycopg.Connection, table: str, key: str, uuid_value: str,
                 states: tuple[str, ...]) -> None:
    """The rows of `states` in order, the last one most recent."""
    for sort_key, (before, state) in enumerate(zip((None, *states), states, strict=False), 1):
        conn.execute(f"INSERT INTO {table} ({key}, to_state, from_state, sort_key, "
                     "most_recent, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, now(), "
                     "now())", (uuid_value, state, before, sort_key, sort_key == len(states)))
