"""A background thread that holds one database connection: `start()` returns once it is
connected, a lost connection is re-established, `stop()` ends it within its wake-up interval.
The finalization listener and the task state poller are both one."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Self

_logger = logging.getLogger(__name__)

RECONNECT_S = 0.5


class ListenerError(RuntimeError):
    """The thread could not connect (unreachable database, refused connection)."""


class ConnectionThread:
    """Subclasses set `_name` (for the log), `_doing` (for the start error) and implement
    `_serve()`: open the connection, set `self._ready`, work until `self._stopping` is set.
    `_wake()` may rouse a thread waiting on something other than `_stopping`."""

    _name = "connection thread"
    _doing = "connect"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._first_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        """Nothing to rouse beyond `_stopping`."""

    def start(self, timeout_s: float = 10.0) -> Self:
        """Start the thread; return once it is connected, or raise ListenerError."""
        if self._thread is not None:
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"spanbench-{self._name}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            self.stop()
            raise ListenerError(
                f"could not {self._doing} within {timeout_s:.0f} s: "
                f"{self._first_error or 'no answer from the database'}; check DATABASE_URL")
        return self

    def stop(self) -> None:
        """Stop the thread and close its connection."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._serve()
            except Exception as error:  # psycopg.Error, OSError: reconnect
                if self._first_error is None:
                    self._first_error = error
                self._ready.clear()
                _logger.warning("%s lost its connection (%s); reconnecting", self._name, error)
                self._stopping.wait(RECONNECT_S)
