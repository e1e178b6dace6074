"""Stratified samples, query text and EXPLAIN buffer counts of the sql_functions suite."""

from __future__ import annotations

import random

from instrument.drivers import sql_functions
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.workload import datasets, sql_samples
from instrument.workload.datasets import Dataset


def _dataset(size: int) -> Dataset:
    plans = list(datasets.plan_dataset(size))
    rng = random.Random(0)
    return Dataset(size, datasets.DEFAULT_SEED, {}, plans,
                   [datasets.uuid7_hex(1_700_000_000_000, rng) for _ in plans])


def test_the_first_pass_covers_every_template_and_the_kinds_rotate() -> None:
    strata = sql_samples.task_strata()
    assert len(strata) == len(set(strata)) == 15
    assert {shape for shape, _ in strata[:5]} == set(datasets.SHAPES)
    assert {kind for _, kind in strata[:5]} == set(datasets.KINDS)


def test_task_samples_are_diverse_distinct_and_deterministic() -> None:
    dataset = _dataset(2000)
    samples = sql_samples.task_samples(dataset, seed=3)
    assert samples == sql_samples.task_samples(dataset, seed=3)
    assert samples != sql_samples.task_samples(dataset, seed=4)
    assert len(samples) == sql_samples.POOL
    assert len({s.params for s in samples}) == sql_samples.POOL
    assert {s.attributes["tasker.template"] for s in samples} == set(datasets.SHAPES)
    assert {s.attributes["bench.sample.kind"] for s in samples} == set(datasets.KINDS)


def test_transition_samples_only_take_unfinished_tasks_and_a_legal_move() -> None:
    samples = sql_samples.transition_samples(_dataset(2000), seed=1)
    assert len(samples) == sql_samples.POOL
    for sample in samples:
        _, from_state, to_state, _, _ = sample.params
        assert from_state != "complete"
        assert sql_samples.TRANSITIONS[from_state] == to_state


def test_draw_skips_empty_strata_and_goes_round_again() -> None:
    members = {("a",): [1, 2, 3], ("b",): [], ("c",): [9]}
    picks = sql_samples.draw(members, [("a",), ("b",), ("c",)], 4, random.Random(0))
    assert [s for s, _ in picks] == [("a",), ("c",), ("a",), ("a",)]
    assert len({m for _, m in picks}) == 4
    assert sql_samples.draw(members, [("b",)], 3, random.Random(0)) == []


def test_step_strata_are_steps_with_parents_deepest_first() -> None:
    strata = sql_samples.step_strata()
    assert {shape for shape, _ in strata[:5]} == set(datasets.SHAPES)
    for shape, index in strata:
        assert datasets.SHAPES[shape][int(index)].parents
    assert strata[0] == ("linear_3", "2")


def test_placeholders_are_numbered_as_the_server_sees_them() -> None:
    assert sql_functions.numbered_placeholders("SELECT f(%s, %s, %s::jsonb)") == \
        "SELECT f($1, $2, $3::jsonb)"
    system = SpanbenchStack(Endpoints("http://unused", "postgresql://unused/db"))
    texts = {f.name: f.query_text for f in sql_functions.functions(system)}
    assert texts["get_step_readiness_status"] == \
        "SELECT * FROM tasker.get_step_readiness_status($1, NULL)"


def test_buffer_counts_come_from_the_top_plan_node() -> None:
    plan = [{"Plan": {"Node Type": "Limit", "Shared Hit Blocks": 30, "Shared Read Blocks": 10},
             "Planning": {"Shared Hit Blocks": 99}}]
    assert sql_functions.buffer_counts(plan) == (30, 10, 0.75)
    assert sql_functions.buffer_counts([{"Plan": {"Node Type": "Result"}}]) == (0, 0, None)
