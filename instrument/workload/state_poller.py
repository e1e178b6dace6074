"""Completion seen in the database, for a system that announces none: `DatabaseStatePoller`.

One background thread, on one dedicated autocommit connection, runs the system's
`task_state_sql` for every task in flight at once (one query per poll, the uuids as an array
parameter), a poll starting every `interval_s` (1 ms by default; right after the last when a
query takes longer) while tasks are in flight; with none in flight it sleeps until a driver
expects one, so an idle poller costs nothing.

Which time is the completion: the poll's, not the transition row's. A task is stamped final at
the end of the first poll whose rows name it (`received_ns`, time.perf_counter_ns() as the
NOTIFY listener stamps), and its uncertainty window runs back to the start of the last poll that
did not (or to when the driver expected it): the commit that made it final became visible in
that window, whose width is the poll interval plus about two queries. tasker-core's transition
rows carry `created_at = NOW()`, the writing transaction's start and not its commit, on the
database's wall clock in the session's time zone: earlier than when anyone could see the task
final, by the length of that transaction, so it is not used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import psycopg

from instrument.workload.completion import DB_POLL, Finalization, ListenerError

_logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.001
_IDLE_WAKE_S = 0.1
"""How often an idle poller (nothing in flight) looks up to see whether it should stop."""
_RECONNECT_S = 0.5


class StateConnection(Protocol):
    """What the poller needs of its connection (a psycopg.Connection)."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...

    def close(self) -> None: ...


@dataclass
class _Watched:
    not_final_since_ns: int
    """Start of the last poll that did not see the task final (or when it was expected)."""


class InFlight:
    """The tasks being watched and the finalizations seen, without threads or a database.

    `observe` takes one poll's rows (task_uuid, state, correlation_id) of the tasks found
    final, with the poll's start and end; receipts wait for `take` and beyond `retain` the
    oldest are dropped (a task nobody waits for any more).
    """

    def __init__(self, retain: int = 10_000) -> None:
        self._watched: dict[str, _Watched] = {}
        self._receipts: OrderedDict[str, Finalization] = OrderedDict()
        self._retain = retain

    def expect(self, task_uuid: str, since_ns: int) -> None:
        if task_uuid not in self._watched and task_uuid not in self._receipts:
            self._watched[task_uuid] = _Watched(since_ns)

    def uuids(self) -> list[str]:
        return list(self._watched)

    def observe(self, polled: Sequence[str], started_ns: int, ended_ns: int,
                rows: Sequence[Sequence[Any]]) -> list[Finalization]:
        """Record one poll of the tasks `polled`; the finalizations it saw."""
        seen: list[Finalization] = []
        for task_uuid, state, correlation_id in rows:
            watched = self._watched.pop(str(task_uuid), None)
            if watched is None:
                continue
            finalization = Finalization(str(task_uuid), str(correlation_id or ""), str(state),
                                        ended_ns, DB_POLL, ended_ns - watched.not_final_since_ns)
            self._receipts[finalization.task_uuid] = finalization
            seen.append(finalization)
        for task_uuid in polled:
            watched = self._watched.get(task_uuid)
            if watched is not None:
                watched.not_final_since_ns = max(watched.not_final_since_ns, started_ns)
        while len(self._receipts) > self._retain:
            self._receipts.popitem(last=False)
        return seen

    def take(self, task_uuid: str) -> Finalization | None:
        return self._receipts.pop(task_uuid, None)

    def has(self, task_uuid: str) -> bool:
        return task_uuid in self._receipts

    def forget(self, task_uuid: str) -> None:
        self._watched.pop(task_uuid, None)


def _connect(database_url: str) -> StateConnection:
    return psycopg.connect(database_url, autocommit=True)


class DatabaseStatePoller:
    """Watches tasks' states in the database (see the module's docstring); a context manager.

    `state_sql` takes the task uuids as its one parameter (%s, a list) and returns
    (task_uuid, final state, correlation_id) for those of them that are final.
    """

    def __init__(self, database_url: str, state_sql: str,
                 interval_s: float = DEFAULT_INTERVAL_S, *,
                 clock: Callable[[], int] = time.perf_counter_ns,
                 connect: Callable[[str], StateConnection] = _connect,
                 retain: int = 10_000) -> None:
        self._database_url = database_url
        self._state_sql = state_sql
        self._interval_s = interval_s
        self._clock = clock
        self._connect = connect
        self._in_flight = InFlight(retain)
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._first_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def start(self, timeout_s: float = 10.0) -> DatabaseStatePoller:
        """Start the thread; return once its connection is open, or raise ListenerError."""
        if self._thread is not None:
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="spanbench-task-state-poller",
                                        daemon=True)
        self._thread.start()
        if not self._connected.wait(timeout_s):
            self.stop()
            raise ListenerError(
                f"could not poll task states within {timeout_s:.0f} s: "
                f"{self._first_error or 'no answer from the database'}; check DATABASE_URL")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DatabaseStatePoller:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def expect(self, task_uuid: str, since_ns: int | None = None) -> None:
        with self._changed:
            self._in_flight.expect(task_uuid, self._clock() if since_ns is None else since_ns)
            self._changed.notify_all()

    def wait(self, task_uuid: str, timeout_s: float) -> Finalization | None:
        """The task's finalization, waiting at most `timeout_s`; None (and the task no longer
        watched) if it was not seen final by then. A receipt is handed out once."""
        self.expect(task_uuid)
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight.has(task_uuid),
                                   max(timeout_s, 0.0))
            finalization = self._in_flight.take(task_uuid)
            if finalization is None:
                self._in_flight.forget(task_uuid)
            return finalization

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll_until_stopped()
            except Exception as error:  # psycopg.Error, OSError: reconnect
                if self._first_error is None:
                    self._first_error = error
                self._connected.clear()
                _logger.warning("task state poller lost its connection (%s); reconnecting",
                                error)
                self._stopping.wait(_RECONNECT_S)

    def _poll_until_stopped(self) -> None:
        conn = self._connect(self._database_url)
        try:
            self._connected.set()
            while not self._stopping.is_set():
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._stopping.is_set() or bool(self._in_flight.uuids()),
                        _IDLE_WAKE_S)
                    uuids = self._in_flight.uuids()
                if uuids:
                    started = time.monotonic()
                    self.poll_once(conn, uuids)
                    self._stopping.wait(max(self._interval_s - (time.monotonic() - started),
                                            0.0))
        finally:
            conn.close()

    def poll_once(self, conn: StateConnection, uuids: list[str]) -> list[Finalization]:
        """One query for `uuids`; the finalizations it saw are handed to waiting drivers."""
        started_ns = self._clock()
        rows = conn.execute(self._state_sql, (uuids,)).fetchall()
        ended_ns = self._clock()
        with self._changed:
            seen = self._in_flight.observe(uuids, started_ns, ended_ns, rows)
            if seen:
                self._changed.notify_all()
        return seen
