"""DatabaseStatePoller and its InFlight bookkeeping, with a fake clock and connection."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

from instrument.workload.completion import DB_POLL
from instrument.workload.server_stamps import STAMP_RESOLUTION_NS, stamped_sql
from instrument.workload.state_poller import DatabaseStatePoller, InFlight

SQL = "SELECT task_uuid, state, correlation_id FROM states WHERE task_uuid = ANY(%s)"


class FakeCursor:
    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[str, str, str]]:
        return self._rows


class FakeConnection:
    """Answers the state query from `final` (uuid → state), recording each poll's uuids; the
    stamped query also gets `stamps_us` in turn (the database's now(), microseconds), then
    stamps a microsecond apart."""

    def __init__(self, stamps_us: Sequence[int] = ()) -> None:
        self.final: dict[str, str] = {}
        self.polls: list[list[str]] = []
        self.stamped: list[bool] = []
        self.closed = False
        self._stamps_us = list(stamps_us)
        self._lock = threading.Lock()

    def execute(self, query: str, params: Sequence[Sequence[str]]) -> FakeCursor:
        [uuids] = params
        with self._lock:
            self.polls.append(list(uuids))
            rows: list[tuple[Any, ...]] = [
                (u, self.final[u], f"c-{u}") for u in uuids if u in self.final]
            self.stamped.append(query == stamped_sql(SQL))
            if query == stamped_sql(SQL):
                stamp = self._stamps_us.pop(0) if self._stamps_us else len(self.polls)
                return FakeCursor([(stamp, *row) for row in rows] or [(stamp, None, None, None)])
            assert query == SQL
            return FakeCursor(rows)

    def close(self) -> None:
        self.closed = True


def test_a_task_seen_final_is_stamped_at_the_end_of_the_poll_that_saw_it() -> None:
    tasks = InFlight()
    tasks.expect("t-1", since_ns=100)
    assert tasks.observe(["t-1"], 1_000, 1_300, []) == []
    assert tasks.observe(["t-1"], 2_000, 2_250, []) == []
    [seen] = tasks.observe(["t-1"], 3_000, 3_200, [("t-1", "complete", "c-1")])
    assert (seen.task_uuid, seen.status, seen.correlation_id) == ("t-1", "complete", "c-1")
    assert (seen.received_ns, seen.source) == (3_200, DB_POLL)
    assert seen.window_ns == 3_200 - 2_000  # back to the start of the last poll not seeing it
    assert tasks.uuids() == [] and tasks.take("t-1") == seen and tasks.take("t-1") is None


def test_a_task_final_at_its_first_poll_has_a_window_back_to_its_expectation() -> None:
    tasks = InFlight()
    tasks.expect("t-1", since_ns=500)
    [seen] = tasks.observe(["t-1"], 1_000, 1_100, [("t-1", "error", None)])
    assert (seen.window_ns, seen.correlation_id) == (600, "")


def test_a_task_expected_during_a_poll_keeps_its_own_lower_bound() -> None:
    tasks = InFlight()
    tasks.expect("late", since_ns=1_050)
    tasks.observe(["other"], 1_000, 1_100, [])
    [seen] = tasks.observe(["late"], 2_000, 2_100, [("late", "complete", "c")])
    assert seen.window_ns == 2_100 - 1_050


def test_rows_of_tasks_not_watched_are_ignored_and_receipts_are_bounded() -> None:
    tasks = InFlight(retain=2)
    assert tasks.observe([], 0, 1, [("stranger", "complete", "c")]) == []
    for n in range(3):
        tasks.expect(f"t-{n}", 0)
    tasks.observe(["t-0", "t-1", "t-2"], 10, 20,
                  [(f"t-{n}", "complete", "c") for n in range(3)])
    assert tasks.take("t-0") is None and tasks.take("t-2") is not None


def test_one_query_per_poll_for_every_task_in_flight() -> None:
    conn = FakeConnection()
    clock = itertools.count(0, 1_000)
    poller = DatabaseStatePoller("postgresql://fake", SQL, 0.0005, clock=lambda: next(clock),
                                 connect=lambda url: conn)
    with poller:
        poller.expect("a")
        poller.expect("b")
        conn.final["a"] = "complete"
        first = poller.wait("a", 5.0)
        conn.final["b"] = "blocked_by_failures"
        second = poller.wait("b", 5.0)
    assert first is not None and second is not None
    assert (first.status, second.status) == ("complete", "blocked_by_failures")
    assert all(len(set(poll)) == len(poll) for poll in conn.polls)
    assert ["a", "b"] in conn.polls  # both tasks in one query
    assert first.window_ns is not None and first.window_ns > 0
    assert conn.closed


def test_an_idle_poller_does_not_query() -> None:
    conn = FakeConnection()
    poller = DatabaseStatePoller("postgresql://fake", SQL, 0.0005, connect=lambda url: conn)
    with poller:
        threading.Event().wait(0.05)
    assert conn.polls == []


def test_a_task_never_final_gives_none_and_is_no_longer_polled() -> None:
    conn = FakeConnection()
    poller = DatabaseStatePoller("postgresql://fake", SQL, 0.0005, connect=lambda url: conn)
    with poller:
        assert poller.wait("stuck", 0.02) is None
        polls = len(conn.polls)
        threading.Event().wait(0.03)
        assert polls > 0 and len(conn.polls) <= polls + 1  # one may have been under way


def test_polls_run_back_to_back_and_unstamped_by_default() -> None:
    conn = FakeConnection()
    poller = DatabaseStatePoller("postgresql://fake", SQL, connect=lambda url: conn)
    assert poller.interval_s == 0
    poller.expect("t-1")
    poller.poll_once(conn, ["t-1"])
    assert conn.stamped == [False]


def test_a_stamped_poll_that_reached_the_database_late_narrows_the_window() -> None:
    """Polls sent at 1 ms and 2 ms reach the database 100 µs and 400 µs later (its clock is
    far off ours): the task, final at the third poll, could not have become final before
    the second poll's snapshot, at least 300 µs after it was sent."""
    offset_us = 1_700_000_000_000_000
    conn = FakeConnection(stamps_us=[offset_us + 1_100, offset_us + 2_400, offset_us + 3_100])
    clock = iter([0, 1_000_000, 1_500_000, 2_000_000, 2_600_000, 3_000_000, 3_200_000])
    poller = DatabaseStatePoller("postgresql://fake", SQL, clock=lambda: next(clock),
                                 connect=lambda url: conn, server_stamped=True)
    poller.expect("t-1")
    assert poller.poll_once(conn, ["t-1"]) == []
    assert poller.poll_once(conn, ["t-1"]) == []
    conn.final["t-1"] = "complete"
    [seen] = poller.poll_once(conn, ["t-1"])
    assert seen.received_ns == 3_200_000
    assert seen.window_ns == 3_200_000 - (2_000_000 + 300_000 - STAMP_RESOLUTION_NS)
    assert poller.load.polls == 3 and poller.load.querying_ns == 500_000 + 600_000 + 200_000


def test_an_unstamped_poll_window_runs_from_the_last_unfinished_poll_sent() -> None:
    conn = FakeConnection()
    clock = iter([0, 1_000_000, 1_500_000, 2_000_000, 2_600_000])
    poller = DatabaseStatePoller("postgresql://fake", SQL, clock=lambda: next(clock),
                                 connect=lambda url: conn, server_stamped=False)
    poller.expect("t-1")
    poller.poll_once(conn, ["t-1"])
    conn.final["t-1"] = "complete"
    [seen] = poller.poll_once(conn, ["t-1"])
    assert seen.window_ns == 2_600_000 - 1_000_000
