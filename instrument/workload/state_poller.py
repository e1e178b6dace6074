"""Completion seen in the database, for a system that announces none: `DatabaseStatePoller`.

One background thread, on one dedicated autocommit connection (application_name
`spanbench-completion-poller`), runs the system's `task_state_sql` as a prepared statement
straight through libpq (instrument.workload.libpq_state) for every task in flight at once (one
query per poll, the uuids as an array parameter). While tasks are in flight a poll starts every
`interval_s` (DEFAULT_INTERVAL_S; 0: back to back), right after the last when a query takes
longer; with none in flight it sleeps until a driver expects one, so an idle poller sends no
query.

Which time is the completion: the poll's, not the transition row's. A task is stamped final at
the end of the first poll whose rows name it (`received_ns`, time.perf_counter_ns() as the
NOTIFY listener stamps), and its uncertainty window runs back to the start of the last poll that
did not (or to when the driver expected it): the commit that made it final became visible
between those two polls' snapshots. The window is the gap between the two polls' starts plus
one query. A server-stamped poll (`server_stamped`) also reads the database's now(), and its
start is moved to the earliest its snapshot can have been taken
(instrument.workload.server_stamps): what a query spent reaching the database beyond the
fastest recent one is cut from the window. tasker-core's transition rows carry
`created_at = NOW()`, the writing transaction's start and not its commit, on the database's
wall clock in the session's time zone: earlier than when anyone could see the task final, by
the length of that transaction, so it is not used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from instrument.workload.completion import DB_POLL, Finalization
from instrument.workload.connection_thread import ConnectionThread
from instrument.workload.libpq_state import LibpqStateConnection
from instrument.workload.server_stamps import ArrivalBound, split_stamp, stamped_sql

_logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.0
"""Back to back while tasks are in flight: the narrowest window (benchmarks/completion_window)."""
DEFAULT_SERVER_STAMPED = False
"""Off: on our stack the stamps narrowed the window by nothing measurable (a query's trip to
the database varies little), at a little more database time per poll."""
APPLICATION_NAME = "spanbench-completion-poller"
_IDLE_WAKE_S = 0.1
"""How often an idle poller (nothing in flight) looks up to see whether it should stop."""


class StateConnection(Protocol):
    """What the poller needs of its connection: a LibpqStateConnection, which prepares the
    query the first time it runs it."""

    def execute(self, query: str, params: Sequence[Sequence[str]]) -> Any: ...

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


@dataclass(frozen=True)
class PollerLoad:
    """What a poller has cost so far: queries sent, the time they took (their round trips,
    on the poller's clock), the time spent polling (tasks in flight: polls and the pauses
    between them) and the CPU time its thread used meanwhile."""

    polls: int = 0
    querying_ns: int = 0
    polling_ns: int = 0
    cpu_ns: int = 0

    def since(self, earlier: PollerLoad) -> PollerLoad:
        return PollerLoad(self.polls - earlier.polls, self.querying_ns - earlier.querying_ns,
                          self.polling_ns - earlier.polling_ns, self.cpu_ns - earlier.cpu_ns)


def _connect(database_url: str) -> StateConnection:
    return LibpqStateConnection(psycopg.connect(database_url, autocommit=True,
                                                application_name=APPLICATION_NAME))


class DatabaseStatePoller(ConnectionThread):
    """Watches tasks' states in the database (see the module's docstring); a context manager.

    `state_sql` takes the task uuids as its one parameter (%s, a list) and returns
    (task_uuid, final state, correlation_id) for those of them that are final.
    """

    _name = "task state poller"
    _doing = "poll task states"

    def __init__(self, database_url: str, state_sql: str,
                 interval_s: float = DEFAULT_INTERVAL_S, *,
                 clock: Callable[[], int] = time.perf_counter_ns,
                 connect: Callable[[str], StateConnection] = _connect,
                 retain: int = 10_000, server_stamped: bool = DEFAULT_SERVER_STAMPED) -> None:
        super().__init__()
        self._database_url = database_url
        self._state_sql = stamped_sql(state_sql) if server_stamped else state_sql
        self._arrival = ArrivalBound() if server_stamped else None
        self._interval_s = interval_s
        self._clock = clock
        self._connect = connect
        self._in_flight = InFlight(retain)
        self._changed = threading.Condition()
        self._load = PollerLoad()

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @property
    def load(self) -> PollerLoad:
        return self._load

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

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

    def _serve(self) -> None:
        conn = self._connect(self._database_url)
        try:
            self._ready.set()
            while not self._stopping.is_set():
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._stopping.is_set() or bool(self._in_flight.uuids()),
                        _IDLE_WAKE_S)
                    uuids = self._in_flight.uuids()
                if uuids:
                    started_ns, cpu_ns = self._clock(), time.thread_time_ns()
                    self.poll_once(conn, uuids)
                    if self._interval_s > 0:
                        elapsed_s = (self._clock() - started_ns) / 1e9
                        self._stopping.wait(max(self._interval_s - elapsed_s, 0.0))
                    self._count(polling_ns=self._clock() - started_ns,
                                cpu_ns=time.thread_time_ns() - cpu_ns)
        finally:
            conn.close()

    def poll_once(self, conn: StateConnection, uuids: list[str]) -> list[Finalization]:
        """One query for `uuids`; the finalizations it saw are handed to waiting drivers."""
        sent_ns = self._clock()
        rows = conn.execute(self._state_sql, (uuids,)).fetchall()
        ended_ns = self._clock()
        self._count(polls=1, querying_ns=ended_ns - sent_ns)
        started_ns = sent_ns
        if self._arrival is not None:
            stamp_ns, rows = split_stamp(rows)
            started_ns = self._arrival.earliest_ns(sent_ns, stamp_ns)
        with self._changed:
            seen = self._in_flight.observe(uuids, started_ns, ended_ns, rows)
            if seen:
                self._changed.notify_all()
        return seen

    def _count(self, polls: int = 0, querying_ns: int = 0, polling_ns: int = 0,
               cpu_ns: int = 0) -> None:
        """Only the poller's thread writes `load`; readers see one whole PollerLoad."""
        load = self._load
        self._load = PollerLoad(load.polls + polls, load.querying_ns + querying_ns,
                                load.polling_ns + polling_ns, load.cpu_ns + cpu_ns)
