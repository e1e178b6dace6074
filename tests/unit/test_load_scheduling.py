"""Load scheduling: the closed loop keeps exactly N in flight; the open loop's intended starts,
lags and late starts (on a fake clock); the load profile's names and defaults."""

from __future__ import annotations

import itertools
import random
import threading

import pytest

from instrument.workload.load import (
    LATE_START_NS,
    LoadProfile,
    Start,
    arrival_offsets_ns,
    closed_loop,
    open_loop,
)
from spanbench.vocabulary import Attr, base_scenario, load_level

MS = 1_000_000


class FakeClient:
    """Stands in for the stack: counts requests in flight and remembers the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.served: list[int] = []

    def __enter__(self) -> FakeClient:
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.in_flight -= 1


@pytest.mark.parametrize("concurrency", [1, 4, 8])
def test_closed_loop_keeps_exactly_n_in_flight(concurrency: int) -> None:
    client = FakeClient()
    all_in = threading.Barrier(concurrency, timeout=5)  # passes only with N workflows at once

    def run_one(job: int, start: Start) -> None:
        with client:
            all_in.wait()
            client.served.append(job)

    closed_loop(list(range(3 * concurrency)), concurrency, run_one)
    assert client.most == concurrency
    assert sorted(client.served) == list(range(3 * concurrency))


def test_closed_loop_starts_the_next_workflow_when_one_finishes_not_per_round() -> None:
    third_started = threading.Event()
    order: list[str] = []

    def run_one(job: int, start: Start) -> None:
        assert start.intended_ns == start.actual_ns
        order.append(f"start {job}")
        if job == 0:  # held until job 2 runs: only a slot freed by job 1 can start it
            assert third_started.wait(5), "job 2 waited for job 0: the loop ran in rounds"
        if job == 2:
            third_started.set()
        order.append(f"end {job}")

    closed_loop([0, 1, 2], 2, run_one)
    assert order.index("end 1") < order.index("start 2") < order.index("end 0")


def test_closed_loop_with_fewer_jobs_than_slots_and_a_failing_job() -> None:
    client = FakeClient()

    def run_one(job: int, start: Start) -> None:
        with client:
            client.served.append(job)

    closed_loop([1, 2], 8, run_one)
    assert sorted(client.served) == [1, 2]

    def broken(job: int, start: Start) -> None:
        raise RuntimeError(f"bug in job {job}")

    with pytest.raises(RuntimeError, match="bug in job"):
        closed_loop(list(range(10)), 3, broken)


class FakeClock:
    """perf_counter_ns that moves only when told: by sleep() or by a workflow's work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 1_000 * MS
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(round(seconds * 1e9))

    def advance(self, ns: int) -> None:
        with self._lock:
            self.now += ns


def test_open_loop_on_schedule_starts_each_workflow_at_its_intended_time() -> None:
    clock = FakeClock()
    starts: list[tuple[int, Start]] = []
    offsets = arrival_offsets_ns(5, 100.0, "fixed")
    assert offsets == [0, 10 * MS, 20 * MS, 30 * MS, 40 * MS]
    begin = clock()
    open_loop(list(range(5)), offsets, 4, lambda job, start: starts.append((job, start)),
              clock=clock, sleep=clock.sleep)
    assert [job for job, _ in starts] == list(range(5))
    assert [s.intended_ns - begin for _, s in starts] == offsets
    assert all(s.lag_ns == 0 and not s.late for _, s in starts)
    assert clock.sleeps == [0.01] * 4


def test_open_loop_counts_the_queueing_of_a_saturated_stack_as_late_starts() -> None:
    """One slot, arrivals every 10 ms, each workflow 25 ms: workflow i starts at 25 i ms but was
    due at 10 i ms, so it starts 15 i ms late, and its latency counts from 10 i ms."""
    clock = FakeClock()
    starts: list[Start] = []

    def run_one(job: int, start: Start) -> None:
        starts.append(start)
        clock.advance(25 * MS)

    begin = clock()
    open_loop(list(range(5)), arrival_offsets_ns(5, 100.0, "fixed"), 1, run_one,
              clock=clock, sleep=clock.sleep)
    assert [s.intended_ns - begin for s in starts] == [0, 10 * MS, 20 * MS, 30 * MS, 40 * MS]
    assert [s.actual_ns - begin for s in starts] == [0, 25 * MS, 50 * MS, 75 * MS, 100 * MS]
    assert [s.lag_ns for s in starts] == [0, 15 * MS, 30 * MS, 45 * MS, 60 * MS]
    assert sum(s.late for s in starts) == 4
    assert clock.sleeps == []  # never ahead of schedule once behind


def test_late_means_at_least_one_millisecond_behind() -> None:
    assert not Start(0, LATE_START_NS - 1).late
    assert Start(0, LATE_START_NS).late


def test_poisson_arrivals_are_seeded_increasing_and_average_one_over_the_rate() -> None:
    offsets = arrival_offsets_ns(5000, 50.0, "poisson", random.Random(7))
    assert offsets == arrival_offsets_ns(5000, 50.0, "poisson", random.Random(7))
    assert offsets[0] == 0
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert min(gaps) >= 0
    assert 0.95 * 20 * MS < sum(gaps) / len(gaps) < 1.05 * 20 * MS
    assert len(set(gaps)) > 4000  # not a fixed interval
    with pytest.raises(ValueError, match="arrival"):
        arrival_offsets_ns(3, 1.0, "bursty")
    with pytest.raises(ValueError, match="intended starts"):
        open_loop([1, 2], [0], 1, lambda job, start: None)


def test_profile_names_levels_so_load_never_mixes_with_one_at_a_time() -> None:
    seed = LoadProfile()
    assert not seed.active and seed.scenario("linear_4") == "linear_4" and seed.baggage() == {}
    assert seed.default_counts(10, 2) == (10, 2)
    assert not LoadProfile(concurrency=1).active
    closed = LoadProfile(concurrency=8)
    assert closed.scenario("linear_4") == "linear_4@c8" and closed.in_flight == 8
    assert closed.baggage() == {Attr.CONCURRENCY: 8}
    assert closed.default_counts(10, 2) == (80, 8)
    opened = LoadProfile(rate_per_s=2.5)
    assert opened.scenario("tree_7") == "tree_7@r2.5" and opened.in_flight == 64
    assert opened.baggage() == {Attr.ARRIVAL_RATE: 2.5}
    assert opened.default_counts(10, 2) == (25, 3)
    assert LoadProfile(concurrency=4, rate_per_s=20).in_flight == 4
    assert base_scenario("linear_4@c8") == "linear_4" and load_level("linear_4@c8") == "c8"
    assert base_scenario("linear_4") == "linear_4" and load_level("linear_4") is None
    for bad in ({"concurrency": 0}, {"rate_per_s": 0.0}, {"rate_per_s": float("nan")},
                {"arrival": "bursty"}):
        with pytest.raises(ValueError):
            LoadProfile(**bad)  # type: ignore[arg-type]
