"""worker_execution: a worker's cycle (claim, execute, submit) on single-step tasks.

Each scenario runs one single-step task per iteration, created through the deployment's API on
the system's template for it (on our stack single_noop, single_square, single_database; a
system without one skips the scenario) and run by the deployment's own workers, each in a
`worker.task` span of the driver's trace (instrument.drivers.worker_tasks). Two paths (`mode`):

- API (`API_MODE`): on a system without step rewinds, or a deployment the run may not write
  into. The driver writes nothing into the deployment's tables; claim, execute and submit are
  the spans derived after the run from the deployment's transitions of each task's step
  (extract/derive), nested in its `worker.task`.
- Rewind (`REWIND_MODE`): on spanbench's stack, when the run started it or was told
  `--write-to-deployment`. The same tasks (their derived spans are reported beside), then the
  driver's own worker cycle on them, traced to the microsecond: it moves each complete step
  back to `enqueued` and sends its step message to a private queue `spanbench_steps_<hex>`,
  which no stack worker reads (they read worker_*_queue only): real step rows, so the atomic
  claim works as in production, and a queue holding every iteration's message before the first
  is timed. The tasks stay complete, so the orchestration's sweep leaves them alone; afterwards
  their steps are put back to `complete` and both private queues are dropped. Every transition
  the driver writes says so in its metadata (key `spanbench`), so the deployment's record read
  afterwards leaves them out and the derived spans are the deployment's own run of the step.

The driver-side worker does what the stack's does (stack/engine/worker/steps.py), over SQL:

- claim: pgmq.read + in one transaction the transition enqueued → in_progress and loading
  the step's handler, configuration, task context and parents' results;
- execute: the handler through the framework (lookup, context, run), `ctx.handlers`
  (see instrument.workload.handler_framework);
- submit: the result envelope serialised, and in one transaction in_progress →
  enqueued_for_orchestration, the results stored, the system's send with notify to a private
  results queue `spanbench_results_<hex>`, pgmq.delete of the step message.

`worker.total` is the parent of the three phases. The query `queries/worker_phases.sql` gives
the same phases as the stack's own workers emitted them, from traces, to set beside these.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from instrument.drivers.base import DriverContext, Iteration, Need
from instrument.drivers.worker_tasks import run_task
from instrument.propagation import inject_message_headers
from instrument.systems.base import System, TemplateRef
from instrument.systems.completion import watch_completion
from instrument.systems.task_record import SPANBENCH_KEY
from instrument.workload.completion import CompletionWatch
from instrument.workload.handler_framework import HandlerFramework, lookup
from instrument.workload.tasker_client import TaskerClient
from spanbench.vocabulary import MESSAGING_SYSTEM_PGMQ, Attr, Phase, Suite

SUITE = Suite.WORKER_EXECUTION
NEEDS = frozenset({Need.DATABASE, Need.ORCHESTRATION, Need.WORKERS})
REWIND_WRITES = "it moves complete steps back to enqueued over SQL and restores them"
"""What the rewind path writes into the deployment's tables (the API path writes nothing)."""
API_MODE, REWIND_MODE = "api", "rewind"
SCENARIOS = {"noop": "noop", "calculation": "square", "database": "database"}
"""Scenario → the handler its step runs."""
HANDLER_OF_SCENARIO = SCENARIOS
SAMPLES = 50
WARMUP = 5
VISIBILITY_TIMEOUT_S = 30
RESULT = Attr.HANDLER_RESULT

READ_SQL = "SELECT msg_id, read_ct, message FROM pgmq.read(%s, %s, 1)"
TRANSITION_SQL = "SELECT tasker.transition_step_state_atomic(%s, %s::text[], %s, %s) AS moved"
LOAD_SQL = "SELECT * FROM tasker.start_step_attempt(%(step)s)"
STORE_SQL = ("UPDATE tasker.workflow_steps SET results = %s, in_process = false, "
             "updated_at = now() WHERE workflow_step_uuid = %s")
DELETE_SQL = "SELECT pgmq.delete(%s, %s::bigint)"
STEPS_OF_TASK_SQL = ("SELECT workflow_step_uuid, correlation_id FROM tasker.workflow_steps "
                     "JOIN tasker.tasks USING (task_uuid) WHERE task_uuid = %s")


@dataclass(frozen=True)
class Queues:
    """The driver's private queues: step messages in, results out."""

    steps: str
    results: str
    send_with_notify_sql: str
    """The system's send with notify, used for the results."""


@dataclass(frozen=True)
class Claimed:
    """A step the driver's worker owns: its message and what its handler needs."""

    msg_id: int
    message: dict[str, Any]
    step_name: str
    handler: str
    config: dict[str, Any]
    task_context: dict[str, Any]
    dependency_results: dict[str, Any]


def _messaging(operation: str, queue: str) -> dict[str, str]:
    return {Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
            Attr.MESSAGING_OPERATION_TYPE: operation, Attr.MESSAGING_DESTINATION: queue}


async def _transition(conn: AsyncConnection, step: str, from_states: list[str],
                      to_state: str, metadata: dict[str, Any]) -> bool:
    cur = await conn.execute(TRANSITION_SQL, (step, from_states, to_state, Jsonb(metadata)))
    row = await cur.fetchone()
    return row is not None and row["moved"] is not None


async def claim(conn: AsyncConnection, queue: str, worker_id: str) -> Claimed:
    """Read one step message and take its step (enqueued → in_progress)."""
    cur = await conn.execute(READ_SQL, (queue, VISIBILITY_TIMEOUT_S))
    read = await cur.fetchone()
    if read is None:
        raise RuntimeError(f"no step message in {queue}")
    message, msg_id = read["message"], read["msg_id"]
    async with conn.transaction():
        if not await _transition(conn, message["step_uuid"], ["enqueued"], "in_progress",
                                 {"worker_id": worker_id, "msg_id": msg_id,
                                  SPANBENCH_KEY: "claimed by worker_execution"}):
            await conn.execute(DELETE_SQL, (queue, msg_id))
            raise RuntimeError(f"step {message['step_uuid']} was not enqueued")
        cur = await conn.execute(LOAD_SQL, {"step": message["step_uuid"]})
        row = await cur.fetchone()
    if row is None:
        raise RuntimeError(f"step {message['step_uuid']} vanished while claimed")
    step = next(s for s in row["configuration"]["steps"] if s["name"] == row["step_name"])
    return Claimed(msg_id, message, row["step_name"], step["handler"],
                   step.get("handler_config") or {}, row["context"] or {},
                   row["dependency_results"] or {})


async def execute(framework: HandlerFramework, step: Claimed, conn: AsyncConnection) -> Any:
    """Run the step's handler through the framework."""
    ctx = framework.context(step_name=step.step_name, task_context=step.task_context,
                            dependency_results=step.dependency_results, config=step.config,
                            connection=conn)
    return await framework.run(lookup(framework, step.handler), ctx)


async def submit(conn: AsyncConnection, queues: Queues, step: Claimed, outcome: Any,
                 worker_id: str, headers: dict[str, Any]) -> None:
    """Store the result and hand it on (in_progress → enqueued_for_orchestration)."""
    result = {**step.message, "status": "success", "worker_id": worker_id, "error": None}
    stored = Jsonb({"result": outcome})
    async with conn.transaction():
        if not await _transition(conn, step.message["step_uuid"], ["in_progress"],
                                 "enqueued_for_orchestration",
                                 {"worker_id": worker_id, "status": "success",
                                  SPANBENCH_KEY: "submitted by worker_execution"}):
            raise RuntimeError(f"step {step.message['step_uuid']} is no longer ours")
        await conn.execute(STORE_SQL, (stored, step.message["step_uuid"]))
        await conn.execute(queues.send_with_notify_sql, {
            "queue": queues.results, "message": Jsonb(result), "headers": Jsonb(headers)})
        await conn.execute(DELETE_SQL, (queues.steps, step.msg_id))


async def cycle(ctx: DriverContext, iteration: Iteration, conn: AsyncConnection,
                framework: HandlerFramework, queues: Queues, worker_id: str,
                namespace: str) -> None:
    """One timed worker cycle: worker.total over claim, execute, submit."""
    recorder = ctx.recorder
    base = {Attr.NAMESPACE: namespace, Attr.WORKER_ID: worker_id}
    with recorder.phase(Phase.WORKER_TOTAL, parent=ctx.parent(iteration),
                        attributes=base) as total:
        with recorder.phase(Phase.CLAIM, parent=total, kind=SpanKind.CONSUMER,
                            attributes={**base, **_messaging("receive", queues.steps)}) as c:
            step = await claim(conn, queues.steps, worker_id)
        with recorder.phase(Phase.EXECUTE, parent=total,
                            attributes={**base, **_messaging("process", queues.steps)}) as e:
            outcome = await execute(framework, step, conn)
        submit_phase = recorder.phase(Phase.SUBMIT, parent=total, kind=SpanKind.PRODUCER,
                                      attributes={**base, **_messaging("send", queues.results)})
        headers = inject_message_headers(submit_phase.context)
        with submit_phase:
            await submit(conn, queues, step, outcome, worker_id, headers)
    step_attributes = {Attr.TASK_UUID: step.message["task_uuid"],
                       Attr.STEP_UUID: step.message["step_uuid"],
                       Attr.CORRELATION_ID: step.message["correlation_id"],
                       Attr.STEP_NAME: step.step_name, Attr.HANDLER: step.handler,
                       Attr.MESSAGING_MESSAGE_ID: str(step.msg_id)}
    for span in (total, c, e, submit_phase):
        span.set_attributes(step_attributes)
    e.set_attribute(RESULT, json.dumps(outcome))


def prepare_steps(ctx: DriverContext, client: TaskerClient, watch: CompletionWatch,
                  scenario: str, template: TemplateRef, count: int) -> list[str]:
    """Run `count` single-step tasks through the API, one after another, each in the
    `worker.task` span of the iteration whose cycle will take its step; their uuids."""
    n_warmup = ctx.warmup(WARMUP)
    return [run_task(ctx, client, watch, Iteration(scenario, index, warmup=index < n_warmup),
                     template).task_uuid
            for index in range(count)]


async def enqueue_privately(conn: AsyncConnection, tasks: list[str], queue: str) -> list[str]:
    """Move each task's (complete) step back to enqueued and send its message to `queue`."""
    steps: list[str] = []
    for task_uuid in tasks:
        async with conn.transaction():
            cur = await conn.execute(STEPS_OF_TASK_SQL, (task_uuid,))
            for row in await cur.fetchall():
                step = str(row["workflow_step_uuid"])
                if not await _transition(conn, step, ["complete"], "enqueued",
                                         {SPANBENCH_KEY: "re-enqueued by worker_execution"}):
                    raise RuntimeError(f"step {step} of task {task_uuid} is not complete")
                message = {"task_uuid": task_uuid, "step_uuid": step,
                           "correlation_id": str(row["correlation_id"])}
                await conn.execute("SELECT pgmq.send(%s, %s)", (queue, Jsonb(message)))
                steps.append(step)
    return steps


async def restore(conn: AsyncConnection, steps: list[str]) -> None:
    """Put the borrowed steps back to complete, wherever a failed iteration left them."""
    for step in steps:
        await _transition(conn, step, ["enqueued", "in_progress", "enqueued_for_orchestration"],
                          "complete", {SPANBENCH_KEY: "restored by worker_execution"})


async def _run_rewinds(ctx: DriverContext, framework: HandlerFramework) -> None:
    suffix = uuid.uuid4().hex[:8]
    queues = Queues(f"spanbench_steps_{suffix}", f"spanbench_results_{suffix}",
                    ctx.system.send_with_notify_sql)
    worker_id = f"spanbench-driver-{suffix}"
    async with await AsyncConnection.connect(ctx.system.endpoints.database_url,
                                             autocommit=True, row_factory=dict_row) as conn:
        for queue in (queues.steps, queues.results):
            await conn.execute("SELECT pgmq.create(%s)", (queue,))
        try:
            with ctx.tasker_client() as client, watch_completion(
                    ctx.system, client, ctx.settings.poll_interval_s) as watch:
                runnable = templates(ctx.system)
                ctx.plan(runnable, SAMPLES, WARMUP)
                for scenario, template in runnable.items():
                    count = ctx.warmup(WARMUP) + ctx.samples(SAMPLES, scenario)
                    tasks = prepare_steps(ctx, client, watch, scenario, template, count)
                    steps = await enqueue_privately(conn, tasks, queues.steps)
                    try:
                        for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                            with ctx.guard(iteration):
                                async with asyncio.timeout(ctx.settings.iteration_timeout_s):
                                    await cycle(ctx, iteration, conn, framework, queues,
                                                worker_id, template.namespace)
                    finally:
                        await restore(conn, steps)
                        await conn.execute("SELECT pgmq.purge_queue(%s)", (queues.steps,))
        finally:
            for queue in (queues.steps, queues.results):
                await conn.execute("SELECT pgmq.drop_queue(%s)", (queue,))


def run_through_api(ctx: DriverContext) -> None:
    """The API path: one task per iteration, run by the deployment's own workers."""
    with ctx.tasker_client() as client, watch_completion(
            ctx.system, client, ctx.settings.poll_interval_s) as watch:
        runnable = templates(ctx.system)
        ctx.plan(runnable, SAMPLES, WARMUP)
        for scenario, template in runnable.items():
            for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                with ctx.guard(iteration):
                    run_task(ctx, client, watch, iteration, template)


def templates(system: System) -> dict[str, TemplateRef]:
    """Each scenario the system has a template for → that template, in the suite's order."""
    found = {scenario: system.template(scenario) for scenario in SCENARIOS}
    return {scenario: template for scenario, template in found.items() if template is not None}


def mode(system: System, writes_allowed: bool) -> str:
    """REWIND_MODE where the system lends its steps (step rewinds and its send with notify) and
    the run may write into the deployment's tables; API_MODE everywhere else."""
    if system.step_rewinds and system.send_with_notify_missing is None and writes_allowed:
        return REWIND_MODE
    return API_MODE


def unsupported(system: System) -> str | None:
    """Why `system` cannot run this suite (checked before any timing), or None: it has a
    template for none of the scenarios."""
    if templates(system):
        return None
    return (f"{system.name} has no single-step template for its scenarios "
            f"({', '.join(SCENARIOS)}): --template noop=namespace/name:version runs one")


def run(ctx: DriverContext) -> str:
    """Run every scenario the system has a template for; the path taken (`mode`)."""
    chosen = mode(ctx.system, ctx.writes_allowed)
    if chosen == REWIND_MODE:
        asyncio.run(_run_rewinds(ctx, ctx.handler_framework()))
    else:
        run_through_api(ctx)
    return chosen
