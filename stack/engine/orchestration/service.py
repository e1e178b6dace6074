"""The orchestration process's background work: consume step results, sweep for ready tasks."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from stack.engine.catalog import Catalog
from stack.engine.database import make_pool
from stack.engine.messages import ORCHESTRATION_RESULTS_QUEUE, namespace_channel
from stack.engine.orchestration.results import process_result, sweep_ready_tasks
from stack.engine.queue_reads import make_read_pool, read_messages
from stack.engine.recent_ids import RecentIds
from stack.engine.telemetry import Telemetry
from stack.engine.templates import BUILTIN_TEMPLATES
from stack.engine.wakeup import Wakeup
from stack.settings import ServiceSettings

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 50
RETRY_DELAY_S = 0.5


class Orchestrator:
    """Owns the pool, the LISTEN wake-up and the loops of one orchestration process."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.pool = make_pool(settings.database_url, max_size=20, name="orchestration")
        self.read_pool = make_read_pool(settings.database_url, name="orchestration")
        self.telemetry = Telemetry("spanbench-orchestration")
        self.catalog = Catalog()
        self.results_wakeup = Wakeup(settings.database_url,
                                     [namespace_channel("orchestration")])
        self._sweep_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.results_processed = 0
        self._read_ids = RecentIds()

    async def start(self) -> None:
        await self.pool.open(wait=False)
        await self.read_pool.open(wait=False)
        self._tasks = [
            asyncio.create_task(self.results_wakeup.run(), name="results-listener"),
            asyncio.create_task(self._register_templates(), name="register-templates"),
            asyncio.create_task(self._consume_results(), name="result-consumer"),
            asyncio.create_task(self._sweep(), name="ready-sweeper"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.read_pool.close()
        await self.pool.close()
        self.telemetry.close()

    async def _register_templates(self) -> None:
        while True:
            try:
                async with self.pool.connection() as conn:
                    await self.catalog.ensure_all(conn, BUILTIN_TEMPLATES)
                return
            except (psycopg.Error, OSError, TimeoutError) as error:
                logger.warning("registering templates failed (%s); retrying", error)
                await asyncio.sleep(RETRY_DELAY_S)

    async def _consume_results(self) -> None:
        """Process the results each NOTIFY carries as they come, reading the queue only when
        a notification came without its message, after a silent poll interval, a
        reconnection or a failure, and while reads fill their batch."""
        vt, batch = self.settings.visibility_timeout_s, self.settings.read_batch
        read = True
        while True:
            try:
                if read:
                    messages = await read_messages(self.read_pool, ORCHESTRATION_RESULTS_QUEUE,
                                                   vt, batch)
                    self._read_ids.note(message["msg_id"] for message in messages)
                    await asyncio.gather(*(self._process(message) for message in messages))
                    if len(messages) == batch:
                        continue
                # The queue was drained: the next result is announced by its NOTIFY.
                wake = await self.results_wakeup.wait(self.settings.poll_interval_s)
                read = (wake is None or wake.everything
                        or ORCHESTRATION_RESULTS_QUEUE in wake.queues)
                # A message a read took already is announced too when its NOTIFY came later.
                notified = [] if wake is None else [
                    {"msg_id": message.msg_id, "message": message.message,
                     "headers": message.headers}
                    for message in wake.messages if message.queue == ORCHESTRATION_RESULTS_QUEUE
                    and message.msg_id not in self._read_ids]
                # At most a read's batch at once, as if they had been read.
                at_once = max(batch, 1)
                for start in range(0, len(notified), at_once):
                    done = await asyncio.gather(*(
                        self._process(message) for message in notified[start:start + at_once]))
                    read = read or not all(done)
            except (psycopg.Error, OSError, TimeoutError) as error:
                logger.warning("reading step results failed (%s); retrying", error)
                await asyncio.sleep(RETRY_DELAY_S)
                read = True

    async def _process(self, message: dict[str, object]) -> bool:
        """Process one result message; False when that failed (it stays in the queue)."""
        try:
            async with self.pool.connection() as conn:
                outcome = await process_result(conn, self.telemetry.recorder, message)
        except Exception:
            # A read message becomes visible again after the visibility timeout; a notified
            # one, never taken, is there for the next read.
            logger.exception("processing result message %s failed", message.get("msg_id"))
            return False
        finally:
            self.telemetry.flush()
        self.results_processed += 1
        if outcome.retry_after_s is not None:
            asyncio.get_running_loop().call_later(outcome.retry_after_s, self._sweep_now.set)
        return True

    async def _sweep(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.poll_interval_s):
                    await self._sweep_now.wait()
            except TimeoutError:
                pass
            self._sweep_now.clear()
            try:
                async with self.pool.connection() as conn:
                    await sweep_ready_tasks(conn, self.telemetry.recorder, SWEEP_LIMIT)
            except (psycopg.Error, OSError, TimeoutError) as error:
                logger.warning("ready-task sweep failed (%s)", error)
            finally:
                self.telemetry.flush()
