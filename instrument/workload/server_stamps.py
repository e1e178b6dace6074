"""When a poll's snapshot was taken, bounded on the poller's clock without synchronised clocks.

A stamped poll also reads `now()`: the start of its (autocommit) transaction on the database's
clock, set when its first message arrived, before the snapshot is taken. On the poller's clock
that arrival lies after the query was sent (`sent_ns`). `delay = stamp - sent_ns` mixes the
clocks' unknown offset with the time the query took to arrive; the smallest delay among the
recent polls is the offset plus the fastest arrival. A poll whose delay exceeds that by
`excess` reached the database at least `excess` after it was sent, so its snapshot is no
earlier than `sent_ns + excess`. This assumes only that both clocks run at the same rate over
the `span` most recent polls (a stepped clock spoils it for at most that many).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

STAMP_RESOLUTION_NS = 1_000
"""now() is read in whole microseconds (floored): the excess is uncertain by as much."""


def stamped_sql(state_sql: str) -> str:
    """`state_sql` with the transaction's start (epoch µs) in front of every row, and one row
    of only that stamp when no task is final."""
    return ("SELECT stamp.us, final.* FROM "
            "(SELECT floor(extract(epoch FROM now()) * 1000000)::bigint) AS stamp(us) "
            f"LEFT JOIN ({state_sql}) AS final ON true")


def split_stamp(rows: Sequence[Sequence[Any]]) -> tuple[int, list[Sequence[Any]]]:
    """(the stamp in ns, the state rows) from a `stamped_sql` answer."""
    if not rows:
        raise ValueError("a stamped poll answered no row")
    return int(rows[0][0]) * 1_000, [row[1:] for row in rows if row[1] is not None]


class ArrivalBound:
    """The earliest a poll's snapshot can have been taken, from its stamp (see the module)."""

    def __init__(self, span: int = 1_000) -> None:
        self._span = span
        self._count = 0
        self._minima: deque[tuple[int, int]] = deque()
        """(poll number, delay), delays increasing: the minimum of the span is first."""

    def earliest_ns(self, sent_ns: int, stamp_ns: int) -> int:
        delay = stamp_ns - sent_ns
        self._count += 1
        while self._minima and self._minima[-1][1] >= delay:
            self._minima.pop()
        self._minima.append((self._count, delay))
        while self._minima[0][0] <= self._count - self._span:
            self._minima.popleft()
        excess = delay - self._minima[0][1] - STAMP_RESOLUTION_NS
        return sent_ns + max(excess, 0)
