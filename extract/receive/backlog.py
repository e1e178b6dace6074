"""The sink's memory bound: bytes of requests in flight plus spooled bytes not yet in Parquet.

Thread-safe: the event loop reserves and releases, the spool writer and the converter move
bytes in and out of the spooled share.
"""

from __future__ import annotations

import threading


class Backlog:
    """Counts backlog bytes against a limit.

    A reservation that would cross the limit is refused unless the backlog is otherwise
    empty, so one request up to the body limit always gets through an idle sink.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight = 0
        self._spooled = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def spooled(self) -> int:
        return self._spooled

    @property
    def total(self) -> int:
        return self._in_flight + self._spooled

    def reserve(self, size: int, already_held: int = 0) -> bool:
        """Hold `size` more in-flight bytes if the limit allows; False (nothing held) if not.

        `already_held` is what the caller holds already: it does not make the sink busy
        in the caller's own eyes.
        """
        with self._lock:
            others = self._in_flight + self._spooled - already_held
            if others > 0 and others + already_held + size > self.limit:
                return False
            self._in_flight += size
            return True

    def release(self, size: int) -> None:
        """Give back in-flight bytes (the request is answered)."""
        with self._lock:
            self._in_flight -= size

    def add_spooled(self, size: int) -> None:
        """Bytes written to a spool segment, held until the segment is converted."""
        with self._lock:
            self._spooled += size

    def remove_spooled(self, size: int) -> None:
        """Bytes of a segment now in Parquet (the segment is deleted)."""
        with self._lock:
            self._spooled -= size
