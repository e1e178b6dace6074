"""The message ids a consumer has lately taken, to tell a message announced twice.

A result message can reach the orchestration both ways: a read of its queue, and the NOTIFY its
send raised, which the listener may hand over after the read has taken and processed it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

KEPT = 10_000
"""How many of the newest ids are remembered."""


class RecentIds:
    """The newest `kept` ids noted, oldest forgotten first."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._ids: OrderedDict[int, None] = OrderedDict()

    def note(self, ids: Iterable[int]) -> None:
        for msg_id in ids:
            self._ids[msg_id] = None
            self._ids.move_to_end(msg_id)
        while len(self._ids) > self._kept:
            self._ids.popitem(last=False)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids
