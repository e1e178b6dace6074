"""A persistent LISTEN connection that wakes a queue consumer, with a polling fallback.

One connection per process listens for the whole life of the process and reconnects by itself
when the database goes away; consumers wait on it for at most the poll interval.

A notification whose payload carries its message (tasker.pgmq_send_with_notify includes it
when it is small) is handed over whole, so the consumer can act on that one message without
reading its queue; any other notification names the queue to read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.1, 0.25, 0.5, 1.0, 2.0)
MAX_HELD_MESSAGES = 1000
"""Beyond this many messages not yet taken, further ones only name their queue (to be read)."""


@dataclass(frozen=True)
class NotifiedMessage:
    """A message as its NOTIFY announced it: enough to take it without reading the queue."""

    queue: str
    msg_id: int
    message: dict[str, Any]
    headers: dict[str, Any] | None


@dataclass
class Wake:
    """What woke a consumer: queues to read (`everything`: read all it knows) and messages
    announced with their bodies."""

    queues: set[str] = field(default_factory=set)
    everything: bool = False
    messages: list[NotifiedMessage] = field(default_factory=list)


class Wakeup:
    """Collects the queue names announced on NOTIFY channels until a consumer asks for them."""

    def __init__(self, database_url: str, channels: Iterable[str],
                 wanted: Callable[[str], bool] | None = None) -> None:
        """`wanted` picks the queues whose notifications wake the consumer (default: all)."""
        self._database_url = database_url
        self._channels = tuple(channels)
        self._wanted = wanted
        self._event = asyncio.Event()
        self._wake = Wake()
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
                    self.poke()
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
            announced = json.loads(payload)
        except ValueError:
            announced = None
        if not isinstance(announced, dict) or not isinstance(announced.get("queue_name"), str):
            self._wake.everything = True
        elif self._wanted is not None and not self._wanted(announced["queue_name"]):
            return
        else:
            message = _carried_message(announced)
            if message is not None and len(self._wake.messages) < MAX_HELD_MESSAGES:
                self._wake.messages.append(message)
            else:
                self._wake.queues.add(announced["queue_name"])
        self._event.set()

    def poke(self) -> None:
        """Wake the consumer now, as if a notification had arrived for no particular queue."""
        self._wake.everything = True
        self._event.set()

    async def wait(self, timeout_s: float) -> Wake | None:
        """What was notified since the last call, or None when the poll interval ran out."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        except TimeoutError:
            return None
        self._event.clear()
        wake, self._wake = self._wake, Wake()
        return wake


def _carried_message(announced: dict[str, Any]) -> NotifiedMessage | None:
    """The message a payload carries, when it is visible now; None when it must be read."""
    message, msg_id = announced.get("message"), announced.get("msg_id")
    if (not isinstance(message, dict) or not isinstance(msg_id, int)
            or announced.get("delay_seconds", 0) != 0):
        return None
    headers = announced.get("headers")
    return NotifiedMessage(announced["queue_name"], msg_id, message,
                           headers if isinstance(headers, dict) else None)
