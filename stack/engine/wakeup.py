"""A persistent LISTEN connection that wakes a queue consumer, with a polling fallback.

One connection per process listens for the whole life of the process and reconnects by itself
when the database goes away; consumers wait on it for at most the poll interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.1, 0.25, 0.5, 1.0, 2.0)


class Wakeup:
    """Collects the queue names announced on NOTIFY channels until a consumer asks for them."""

    def __init__(self, database_url: str, channels: Iterable[str]) -> None:
        self._database_url = database_url
        self._channels = tuple(channels)
        self._event = asyncio.Event()
        self._queues: set[str] = set()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after any connection failure."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._database_url, autocommit=True
                ) as conn:
                    for channel in self._channels:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self.connected.set()
                    failures = 0
                    # Anything sent while we were away must be picked up by one poll.
                    self._event.set()
                    async for notification in conn.notifies():
                        self._note(notification.payload)
            except (psycopg.Error, OSError) as error:
                self.connected.clear()
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
                logger.warning("LISTEN connection lost (%s); reconnecting in %.2fs", error, delay)
                await asyncio.sleep(delay)

    def _note(self, payload: str) -> None:
        try:
            queue = json.loads(payload).get("queue_name")
        except (ValueError, AttributeError):
            queue = None
        if isinstance(queue, str):
            self._queues.add(queue)
        self._event.set()

    def poke(self) -> None:
        """Wake the consumer now, as if a notification had arrived for no particular queue."""
        self._event.set()

    async def wait(self, timeout_s: float) -> set[str] | None:
        """The queues notified since the last call, or None when the poll interval ran out."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        except TimeoutError:
            return None
        self._event.clear()
        queues, self._queues = self._queues, set()
        return queues
