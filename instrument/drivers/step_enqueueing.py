"""step_enqueueing: how long the orchestration takes to discover and publish N steps that one
result makes ready at once (chain_3, chain_10, chain_50 → N = 3, 10, 50).

The workflow is a fan-out, `chain_workflow/fanout_N`: a root step and N leaves that depend on
it alone (see `fanout`). Each iteration the driver plants a task over SQL whose root is
already claimed (in_progress), as if the driver were the worker that took it — a task
created over HTTP would have its root published to the namespace's worker queue, which the
stack's workers race the driver for. Queue, results queue, channel, the send with notify and
how completion is seen come from the system. Then, timed:

    enqueue.total   driver: from the result's send to the N-th leaf message's NOTIFY receipt
                    (or the submit's end, should this thread return from it later)
      submit        driver: as a worker submits (in_progress → enqueued_for_orchestration,
                    results, send with notify to the system's results queue), its
                    context in the message headers
        result.process, discovery, publish × N   the stack's, through those headers
          notify × N  driver: from the message's `ready_at` (pgmq_send_with_notify's
                      clock_timestamp(), in the NOTIFY payload) to the listener's receipt

Receipts come from the `notify_listener` process (CLOCK_MONOTONIC, shared with ours); which
messages are this task's comes from the NOTIFY payloads, read by a thread. `ready_at` is the
database server's wall clock, turned into our monotonic clock: this assumes the database
runs on the driver's host (or a clock synchronised with it); a start that would fall outside
[send, receipt] is clamped and the span marked `bench.clock_adjusted`.

After the measurement the stack's workers run the leaves (they read every worker_*_queue),
and the driver waits for the task to finish before the next iteration, so one
iteration's tail never overlaps the next one's timed window. Their results make the
orchestration run `discovery` once per leaf (tasker.ready_steps = 0) in the same trace: the
measured discovery is the one with tasker.ready_steps = N.

Only a system that `plants_tasks` lets the driver plant them; on any other, or one without its
send with notify, the suite is skipped (`unsupported`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from psycopg.types.json import Jsonb

from instrument.drivers.base import DriverContext, Iteration, IterationTimeout, Need
from instrument.propagation import extract_message_headers, inject_message_headers
from instrument.recorder import PhaseRecord
from instrument.systems.base import System
from instrument.systems.completion import watch_completion
from instrument.workload import fanout
from instrument.workload.completion import CompletionWatch
from instrument.workload.fanout import PlantedTask, ReadyMessage, ReadyMessages
from instrument.workload.notify_listener import ListenerProcess
from spanbench.vocabulary import MESSAGING_SYSTEM_PGMQ, Attr, Phase, Suite

SUITE = Suite.STEP_ENQUEUEING
NEEDS = frozenset({Need.DATABASE, Need.ORCHESTRATION, Need.WORKERS})
WRITES_DEPLOYMENT = "it plants one task per iteration over SQL"
STACK_PHASES = True
SCENARIOS = {"chain_3": 3, "chain_10": 10, "chain_50": 50}
SAMPLES = 50
WARMUP = 5
WORKER_ID = "spanbench-step-enqueueing"
CLOCK_ADJUSTED = Attr.CLOCK_ADJUSTED
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TRANSITION_SQL = ("SELECT tasker.transition_step_state_atomic(%s, ARRAY['in_progress'], "
                  "'enqueued_for_orchestration', %s)")
STORE_SQL = ("UPDATE tasker.workflow_steps SET results = %s, updated_at = now() "
             "WHERE workflow_step_uuid = %s")


@dataclass
class EnqueueBench:
    """The suite's fixed parts: the driver's connection, its two listeners, its completions."""

    ctx: DriverContext
    conn: psycopg.Connection
    messages: ReadyMessages
    receipts: ListenerProcess
    finalizations: CompletionWatch

    def measure(self, iteration: Iteration, template: fanout.FanoutTemplate) -> None:
        task = fanout.plant_task(self.conn, template)
        self.messages.expect(task.task_uuid)
        try:
            self._timed(iteration, template, task)
        finally:
            self.messages.forget(task.task_uuid)
        if self.finalizations.wait(task.task_uuid, self.ctx.deadline().remaining()) is None:
            raise IterationTimeout(f"fan-out task {task.task_uuid} was not finalized in time: "
                                   "are the stack's workers running?")

    def _timed(self, iteration: Iteration, template: fanout.FanoutTemplate,
               task: PlantedTask) -> None:
        ids = {Attr.TASK_UUID: task.task_uuid, Attr.CORRELATION_ID: task.correlation_id,
               Attr.NAMESPACE: fanout.NAMESPACE, Attr.TEMPLATE: template.name,
               Attr.FANOUT: template.leaves}
        deadline = self.ctx.deadline()
        results_queue = self.ctx.system.results_queue
        with self.ctx.recorder.phase(Phase.ENQUEUE_TOTAL, parent=self.ctx.parent(iteration),
                                     attributes=ids) as total:
            with self.ctx.recorder.phase(
                    Phase.SUBMIT, parent=total, kind=SpanKind.PRODUCER,
                    attributes={**ids, Attr.STEP_UUID: task.root_step_uuid,
                                Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
                                Attr.MESSAGING_OPERATION_TYPE: "send",
                                Attr.MESSAGING_DESTINATION: results_queue}) as submit:
                msg_id = self._submit(task, inject_message_headers(submit.context))
            submit.set_attribute(Attr.MESSAGING_MESSAGE_ID, str(msg_id))
            ready = self.messages.wait(task.task_uuid, template.leaves, deadline.expires_at)
            receipts = [self.receipts.receipt(str(m.msg_id), deadline.expires_at)
                        for m in ready]
        # the N-th receipt, not the block's exit (before flush); never before the submit's end,
        # which a listener's receipt can beat when this thread is descheduled after the commit
        total.end_ns = max(*receipts, submit.end_ns)
        for message, receipt_ns in zip(ready, receipts, strict=True):
            self._notify(total, message, receipt_ns)

    def _submit(self, task: PlantedTask, headers: dict[str, str]) -> int:
        """What a worker does with a successful step, in one transaction."""
        result = {"task_uuid": task.task_uuid, "step_uuid": task.root_step_uuid,
                  "correlation_id": task.correlation_id, "status": "success",
                  "worker_id": WORKER_ID, "error": None}
        with self.conn.transaction():
            moved = self.conn.execute(TRANSITION_SQL, (task.root_step_uuid, Jsonb(
                {"worker_id": WORKER_ID, "status": "success"}))).fetchone()
            if moved is None or moved[0] is None:
                raise RuntimeError(f"root step {task.root_step_uuid} was not in_progress")
            self.conn.execute(STORE_SQL, (Jsonb({"result": fanout.EVEN_NUMBER}),
                                          task.root_step_uuid))
            row = self.conn.execute(self.ctx.system.send_with_notify_sql, {
                "queue": self.ctx.system.results_queue, "message": Jsonb(result),
                "headers": Jsonb(headers)}).fetchone()
        if row is None or row[0] is None:
            raise RuntimeError("send with notify returned no message id")
        return int(row[0])

    def _notify(self, total: PhaseRecord, message: ReadyMessage, receipt_ns: int) -> None:
        recorder = self.ctx.recorder
        start_ns = ready_at_mono_ns(message.ready_at, recorder.wall_ns(0))
        adjusted = not total.start_ns <= start_ns <= receipt_ns
        if adjusted:
            start_ns = min(max(start_ns, total.start_ns), receipt_ns)
        publish = extract_message_headers(message.headers)
        traced = trace.get_current_span(publish).get_span_context().is_valid
        recorder.record(Phase.NOTIFY, start_ns, receipt_ns,
                        parent=publish if traced else total, kind=SpanKind.CONSUMER,
                        attributes={Attr.TASK_UUID: message.task_uuid,
                                    Attr.STEP_UUID: message.step_uuid,
                                    Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
                                    Attr.MESSAGING_OPERATION_TYPE: "receive",
                                    Attr.MESSAGING_DESTINATION: message.queue,
                                    Attr.MESSAGING_MESSAGE_ID: str(message.msg_id),
                                    "notify.channel": self.messages.channel,
                                    "notify.listener.pid": self.receipts.pid,
                                    CLOCK_ADJUSTED: adjusted})


def ready_at_mono_ns(ready_at: str, wall_at_mono_zero_ns: int) -> int:
    """A `ready_at` timestamp (ISO 8601 with offset, microseconds) on the perf_counter clock,
    given the wall-clock reading that corresponds to perf_counter 0."""
    since_epoch = datetime.fromisoformat(ready_at) - EPOCH
    wall_ns = ((since_epoch.days * 86_400 + since_epoch.seconds) * 1_000_000_000
               + since_epoch.microseconds * 1_000)
    return wall_ns - wall_at_mono_zero_ns


def unsupported(system: System) -> str | None:
    """Why `system` cannot run this suite (checked before any timing), or None."""
    if not system.plants_tasks:
        return (f"plants its tasks over SQL, which spanbench does not do on {system.name}: it "
                "will not write into the deployment's tables")
    return system.send_with_notify_missing


def run(ctx: DriverContext) -> None:
    system = ctx.system
    url = system.endpoints.database_url
    channel = system.message_ready_channel(fanout.NAMESPACE)
    queue = system.worker_queue(fanout.NAMESPACE)
    with psycopg.connect(url, autocommit=True) as conn, \
            ReadyMessages(url, channel) as messages, \
            ListenerProcess.start(url, channel) as receipts, \
            ctx.tasker_client() as client, \
            watch_completion(system, client, ctx.settings.poll_interval_s) as finalizations:
        receipts.verify_clock()
        bench = EnqueueBench(ctx, conn, messages, receipts, finalizations)
        ctx.plan(SCENARIOS, SAMPLES, WARMUP)
        for scenario, leaves in SCENARIOS.items():
            template = fanout.ensure_template(conn, leaves, queue)
            for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                with ctx.guard(iteration):
                    bench.measure(iteration, template)
