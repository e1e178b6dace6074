"""ArrivalBound: a poll's snapshot bounded from its now() stamp, with clocks that disagree."""

from __future__ import annotations

import random

import pytest

from instrument.workload.server_stamps import (
    STAMP_RESOLUTION_NS,
    ArrivalBound,
    split_stamp,
    stamped_sql,
)

OFFSET_NS = 1_733_000_000_000_000_000 - 5_000_000_000
"""The database's wall clock minus the poller's perf_counter: large and unknown to the bound."""


def _stamp(arrived_ns: int) -> int:
    """now() as the database reports it: its clock, floored to the microsecond."""
    return (arrived_ns + OFFSET_NS) // 1_000 * 1_000


def test_a_poll_slower_to_arrive_than_the_fastest_is_moved_by_the_difference() -> None:
    bound = ArrivalBound()
    assert bound.earliest_ns(1_000_000, _stamp(1_000_000 + 80_000)) == 1_000_000
    earliest = bound.earliest_ns(2_000_000, _stamp(2_000_000 + 380_000))
    assert earliest == 2_000_000 + 300_000 - STAMP_RESOLUTION_NS


def test_the_bound_never_passes_the_true_arrival() -> None:
    bound, rng, sent_ns = ArrivalBound(span=50), random.Random(7), 0
    moved = 0
    for _ in range(2_000):
        sent_ns += rng.randrange(100_000, 600_000)
        arrived_ns = sent_ns + rng.randrange(20_000, 900_000)
        earliest = bound.earliest_ns(sent_ns, _stamp(arrived_ns))
        assert sent_ns <= earliest <= arrived_ns
        moved += earliest > sent_ns
    assert moved > 1_000  # and it does tighten most polls


def test_the_fastest_arrival_is_forgotten_after_span_polls() -> None:
    bound = ArrivalBound(span=3)
    bound.earliest_ns(0, _stamp(10_000))  # the fastest, soon out of the span
    for sent_ns in (1_000_000, 2_000_000):
        bound.earliest_ns(sent_ns, _stamp(sent_ns + 200_000))
    assert bound.earliest_ns(3_000_000, _stamp(3_200_000)) == 3_000_000  # span: 200 µs fastest
    assert bound.earliest_ns(4_000_000, _stamp(4_200_000)) == 4_000_000


def test_a_stamped_answer_splits_into_its_stamp_and_the_final_tasks() -> None:
    assert split_stamp([(1_700, None, None, None)]) == (1_700_000, [])
    stamp_ns, rows = split_stamp([(5, "t-1", "complete", "c-1"), (5, "t-2", "error", None)])
    assert stamp_ns == 5_000 and rows == [("t-1", "complete", "c-1"), ("t-2", "error", None)]
    with pytest.raises(ValueError):
        split_stamp([])


def test_the_stamped_sql_wraps_the_system_query_unchanged() -> None:
    state_sql = "SELECT a, b, c FROM t WHERE a = ANY(%s)"
    sql = stamped_sql(state_sql)
    assert f"({state_sql})" in sql and "now()" in sql and sql.count("%s") == 1
