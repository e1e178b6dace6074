"""The worker process's loop: wake on LISTEN (or poll), take the notified messages or read
namespace queues, run steps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import psycopg
from opentelemetry.trace import SpanKind

from instrument.propagation import extract_message_headers, inject_message_headers
from spanbench.vocabulary import Attr, Phase
from stack.engine.database import make_pool
from stack.engine.messages import MESSAGE_READY_CHANNEL, StepMessage
from stack.engine.queue_reads import make_read_pool, read_messages
from stack.engine.telemetry import Telemetry, messaging_attributes
from stack.engine.wakeup import NotifiedMessage, Wakeup
from stack.engine.worker.fault_stall import stall_if_armed
from stack.engine.worker.steps import claim, execute, submit, take_and_claim
from stack.settings import ServiceSettings

logger = logging.getLogger(__name__)

WORKER_QUEUE_PREFIX = "worker_"
QUEUES_SQL = r"SELECT queue_name FROM pgmq.meta WHERE queue_name LIKE 'worker\_%\_queue'"
RETRY_DELAY_S = 0.5


def is_worker_queue(queue: str) -> bool:
    return queue.startswith(WORKER_QUEUE_PREFIX)


class StepWorker:
    """Runs up to `concurrency` steps at once from every worker_<namespace>_queue."""

    def __init__(self, settings: ServiceSettings, worker_id: str, concurrency: int = 8) -> None:
        self.settings = settings
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.pool = make_pool(settings.database_url, max_size=concurrency + 2,
                              name=f"worker-{worker_id}")
        self.read_pool = make_read_pool(settings.database_url, name=f"worker-{worker_id}")
        self.telemetry = Telemetry("spanbench-worker")
        # Results and other orchestration queues share the channel: they wake no worker.
        self.wakeup = Wakeup(settings.database_url, [MESSAGE_READY_CHANNEL], is_worker_queue)
        self.queues: list[str] = []
        self.steps_executed = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.pool.open(wait=False)
        await self.read_pool.open(wait=False)
        self._tasks = [asyncio.create_task(self.wakeup.run(), name="worker-listener"),
                       asyncio.create_task(self._loop(), name="worker-loop")]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._in_flight]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._in_flight, return_exceptions=True)
        await self.read_pool.close()
        await self.pool.close()
        self.telemetry.close()

    async def _loop(self) -> None:
        targets: set[str] | None = None
        while True:
            try:
                if not self.queues or targets is None:
                    await self._refresh_queues()
                full = await self._read_round(self.queues if not targets else sorted(targets))
            except (psycopg.Error, OSError, TimeoutError) as error:
                logger.warning("reading step queues failed (%s); retrying", error)
                await asyncio.sleep(RETRY_DELAY_S)
                targets = None
                continue
            if full:
                targets = full
                continue
            # Every queue read came back short of its batch, so what arrives next is announced
            # by a NOTIFY (or found by the poll): reading again now would find nothing.
            targets = await self._wait_for_work()

    async def _wait_for_work(self) -> set[str] | None:
        """Queues to read (empty set: all known), or None after a silent poll interval or news
        of an unknown queue. A notified message that carries its body is taken and run
        directly, without reading its queue, while a slot is free."""
        while True:
            wake = await self.wakeup.wait(self.settings.poll_interval_s)
            if wake is None:
                return None
            if wake.everything:
                return set()
            known = set(self.queues)
            ours = set(wake.queues)
            for notified in wake.messages:
                if notified.queue not in known:
                    ours.add(notified.queue)
                elif len(self._in_flight) < self.concurrency:
                    self._start(self._run_notified(notified))
                else:
                    ours.add(notified.queue)
            if ours - known:
                return None
            if ours:
                return ours

    async def _refresh_queues(self) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(QUEUES_SQL)
            self.queues = sorted(row["queue_name"] for row in await cur.fetchall())

    async def _read_round(self, queues: list[str]) -> set[str]:
        """Read each queue once; the queues that filled their batch and may hold more."""
        full: set[str] = set()
        for queue in queues:
            while len(self._in_flight) >= self.concurrency:
                self._slot_freed.clear()
                await self._slot_freed.wait()
            free = self.concurrency - len(self._in_flight)
            messages = await read_messages(self.read_pool, queue,
                                           self.settings.visibility_timeout_s, free)
            for message in messages:
                self._start(self._run_step(queue, message))
            if messages and len(messages) == free:
                full.add(queue)
        return full

    def _start(self, step: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(step)
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()

    async def _run_step(self, queue: str, message: dict[str, Any]) -> None:
        """A message pgmq.read handed us (hidden for the visibility timeout)."""
        await self._guarded(queue, message["msg_id"], message["message"], message.get("headers"),
                            message["read_ct"])

    async def _run_notified(self, notified: NotifiedMessage) -> None:
        """A message its NOTIFY announced: the claim takes it from the queue first."""
        await self._guarded(notified.queue, notified.msg_id, notified.message, notified.headers,
                            None)

    async def _guarded(self, queue: str, msg_id: int, message: dict[str, Any],
                       headers: dict[str, Any] | None, read_ct: int | None) -> None:
        try:
            await self._process(queue, msg_id, message, headers, read_ct)
        except Exception:
            # Left unclaimed or unsubmitted, the message is delivered again after its timeout
            # (or, never taken, to the next read).
            logger.exception("step message %s of %s failed", msg_id, queue)
        finally:
            self.telemetry.flush()

    async def _process(self, queue: str, msg_id: int, message: dict[str, Any],
                       headers: dict[str, Any] | None, read_ct: int | None) -> None:
        """Claim, execute and submit one step; `read_ct` None: the message is not taken yet."""
        recorder = self.telemetry.recorder
        incoming = extract_message_headers(headers)
        body = StepMessage.from_json(message)
        attributes = {Attr.TASK_UUID: body.task_uuid, Attr.STEP_UUID: body.step_uuid,
                      Attr.CORRELATION_ID: body.correlation_id,
                      Attr.MESSAGING_MESSAGE_ID: str(msg_id), Attr.WORKER_ID: self.worker_id}
        async with self.pool.connection() as conn:
            with recorder.phase(Phase.CLAIM, parent=incoming, kind=SpanKind.CONSUMER,
                                attributes={**attributes,
                                            **messaging_attributes("receive", queue)}
                                ) as claim_span:
                if read_ct is None:
                    taken, step = await take_and_claim(conn, queue, msg_id,
                                                       self.settings.visibility_timeout_s, body,
                                                       self.worker_id)
                    if not taken:
                        # Another worker took the message: this one claimed nothing of it.
                        claim_span.discard()
                        return
                else:
                    step = await claim(conn, queue, msg_id, read_ct, body, self.worker_id)
                claim_span.set_attribute(Attr.CLAIMED, step is not None)
                claim_span.set_attribute(Attr.TRANSITIONS, int(step is not None))
            if step is None:
                return
            step_attributes = {**attributes, Attr.STEP_NAME: step.step_name,
                               Attr.HANDLER: step.handler, Attr.ATTEMPT: step.attempt}
            outcome: Any = None
            failure: BaseException | None = None
            try:
                with recorder.phase(Phase.EXECUTE, parent=incoming, attributes={
                        **step_attributes, **messaging_attributes("process", queue)}):
                    await stall_if_armed(self.settings.fault_dir, self.worker_id, step)
                    outcome = await execute(step, conn)
            except Exception as error:
                failure = error
            with recorder.phase(Phase.SUBMIT, parent=incoming, kind=SpanKind.PRODUCER,
                                attributes={**step_attributes,
                                            **messaging_attributes("send", queue)}) as span:
                moved = await submit(conn, queue, msg_id, step, self.worker_id, outcome,
                                     failure, inject_message_headers(span.context))
                span.set_attribute(Attr.TRANSITIONS, int(moved))
        self.steps_executed += 1
