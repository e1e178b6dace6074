"""How a driver sees a task finish: by LISTEN where the system announces it, else by polling.

`instrument.systems.completion.watch_completion` picks: the system's `finalized_channel`
(NOTIFY), else its `task_state_sql` read from the database (DB polling), else the API. Every
watcher hands out a `Finalization` per task through `wait(task_uuid, timeout_s)`, saying how
completion was seen (`source`) and, for polling, the window it lies in (`window_ns`). A driver
calls `expect(task_uuid, since_ns)` as soon as it knows a task, so a poller starts watching it
then rather than when the driver gets round to waiting.

LISTEN: one connection, for a whole suite, hears the finalization NOTIFYs (our stack's
orchestration sends `tasker_task_finalized` with JSON `{task_uuid, correlation_id, status}`
when it commits a task's final state). A background thread LISTENs and stamps each
notification with `time.perf_counter_ns()` the moment it arrives, so the stamp does not wait
for the driver's thread. Receipts are kept by task uuid until a driver takes them; a NOTIFY
may arrive before the driver asks, and tasks nobody asks for (an abandoned iteration) are
dropped oldest first beyond `retain`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import psycopg
from psycopg import sql

from instrument.workload.connection_thread import ConnectionThread
from instrument.workload.tasker_client import TaskerClient

_logger = logging.getLogger(__name__)

_WAKE_S = 0.1
"""How often the listener thread looks up from the socket to see whether it should stop."""

FINAL_STATES = {"all_complete": "complete", "blocked_by_failures": "blocked_by_failures"}
"""A final execution_status (GET /v1/tasks/{uuid}) → the task's final state."""

NOTIFY, DB_POLL, API_POLL = "pg_notify", "db_poll", "api_poll"
"""How completion was seen: `Finalization.source`, span attribute bench.completion_source."""


@dataclass(frozen=True)
class Finalization:
    """One finalization NOTIFY, as received."""

    task_uuid: str
    correlation_id: str
    status: str
    """tasker's final task state: complete or blocked_by_failures."""
    received_ns: int
    """time.perf_counter_ns() when the watcher saw the task final: the NOTIFY's arrival, or
    the end of the first poll that found the task in a final state."""
    source: str = NOTIFY
    """NOTIFY, DB_POLL or API_POLL."""
    window_ns: int | None = None
    """Polling: the task became final within the `window_ns` before `received_ns` (from the
    start of the last poll that did not see it final to the end of the first that did);
    None for a NOTIFY, which arrives after the commit and is stamped on arrival."""


def parse_payload(payload: str, received_ns: int) -> Finalization | None:
    """A Finalization from a NOTIFY payload; None (logged) when the payload is not one."""
    try:
        body = json.loads(payload)
        return Finalization(str(body["task_uuid"]), str(body.get("correlation_id", "")),
                            str(body["status"]), received_ns)
    except (ValueError, KeyError, TypeError):
        _logger.warning("ignoring a payload that is not a finalization: %.200r", payload)
        return None


class FinalizationListener(ConnectionThread):
    """A background LISTEN on the finalization channel; `wait(task_uuid)` hands out receipts.

    Use as a context manager, or `start()` (returns once LISTEN is active) and `stop()`.
    A dropped connection is re-established; NOTIFYs sent while it was down are lost, and the
    driver learns of those tasks only by polling.
    """

    _name = "finalization listener"

    def __init__(self, database_url: str, channel: str, retain: int = 10_000) -> None:
        super().__init__()
        self._database_url = database_url
        self._channel = channel
        self._retain = retain
        self._receipts: OrderedDict[str, Finalization] = OrderedDict()
        self._arrived = threading.Condition()
        self._doing = f"LISTEN on {channel}"

    @property
    def channel(self) -> str:
        return self._channel

    def expect(self, task_uuid: str, since_ns: int | None = None) -> None:
        """Nothing to do: every NOTIFY is kept until a driver takes it."""

    def wait(self, task_uuid: str, timeout_s: float) -> Finalization | None:
        """The task's finalization, waiting at most `timeout_s`; None if none arrived.

        A receipt is handed out once.
        """
        with self._arrived:
            self._arrived.wait_for(lambda: task_uuid in self._receipts, max(timeout_s, 0.0))
            return self._receipts.pop(task_uuid, None)

    def _keep(self, finalization: Finalization) -> None:
        with self._arrived:
            self._receipts[finalization.task_uuid] = finalization
            while len(self._receipts) > self._retain:
                self._receipts.popitem(last=False)
            self._arrived.notify_all()

    def _serve(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._ready.set()
            clock = time.perf_counter_ns
            while not self._stopping.is_set():
                for notify in conn.notifies(timeout=_WAKE_S):
                    received_ns = clock()
                    finalization = parse_payload(notify.payload, received_ns)
                    if finalization is not None:
                        self._keep(finalization)


class CompletionWatch(Protocol):
    """Hands out each task's Finalization; a context manager for the suite's duration."""

    def __enter__(self) -> CompletionWatch: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def expect(self, task_uuid: str, since_ns: int | None = None) -> None:
        """Start watching a task the driver just created; `since_ns` (perf_counter_ns, default
        now) is the earliest it could have finished."""
        ...

    def wait(self, task_uuid: str, timeout_s: float) -> Finalization | None: ...


class TaskStatePoller:
    """Completion by polling GET /v1/tasks/{uuid}, for a system whose database is not named.

    `received_ns` is the end of the GET that first saw the task final; `window_ns` reaches back
    to the start of the GET before it (or to the `wait` call): up to `interval_s` plus two
    requests late.
    """

    def __init__(self, client: TaskerClient, interval_s: float,
                 clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self._client = client
        self._interval_s = interval_s
        self._clock = clock

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def __enter__(self) -> TaskStatePoller:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        pass

    def expect(self, task_uuid: str, since_ns: int | None = None) -> None:
        """Nothing to do: the task is polled when a driver waits for it."""

    def wait(self, task_uuid: str, timeout_s: float) -> Finalization | None:
        """The task's finalization, polling for at most `timeout_s`; None if not final."""
        expires_at = time.monotonic() + max(timeout_s, 0.0)
        not_final_since = self._clock()
        while True:
            remaining = expires_at - time.monotonic()
            asked_ns = self._clock()
            task = self._client.get_task(task_uuid, timeout_s=max(remaining, 0.1))
            state = FINAL_STATES.get(str(task.get("execution_status")))
            if state is not None:
                seen_ns = self._clock()
                return Finalization(task_uuid, str(task.get("correlation_id", "")), state,
                                    seen_ns, API_POLL, seen_ns - not_final_since)
            not_final_since = asked_ns
            if remaining <= 0:
                return None
            time.sleep(min(self._interval_s, max(expires_at - time.monotonic(), 0.0)))
