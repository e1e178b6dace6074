"""The dataset plan: deterministic, consistent with the DAGs, mixed in shapes and states."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from uuid import UUID

from instrument.workload import dataset_load, datasets

ACTIVE = {"enqueued", "in_progress", "enqueued_for_orchestration", "waiting_for_retry"}


def test_the_same_size_and_seed_give_the_same_plan() -> None:
    assert list(datasets.plan_dataset(500, 7)) == list(datasets.plan_dataset(500, 7))
    assert list(datasets.plan_dataset(500, 7)) != list(datasets.plan_dataset(500, 8))


def test_step_states_respect_the_dependencies() -> None:
    for plan in datasets.plan_dataset(3000):
        shape = datasets.SHAPES[plan.shape]
        assert len(plan.step_states) == len(shape)
        for step, state in zip(shape, plan.step_states, strict=True):
            parents_done = all(plan.step_states[p] == "complete" for p in step.parents)
            if state in ACTIVE or state == "complete":
                assert parents_done, plan
        if plan.kind == "complete":
            assert set(plan.step_states) == {"complete"} and plan.task_state == "complete"
        elif plan.kind == "pending":
            assert set(plan.step_states) == {"pending"} and plan.task_state == "pending"
        else:
            assert set(plan.step_states) != {"complete"}
            assert plan.task_state in ("steps_in_process", "waiting_for_retry")


def test_every_shape_and_kind_and_step_state_occurs() -> None:
    plans = list(datasets.plan_dataset(5000))
    assert {(p.shape, p.kind) for p in plans} == {
        (shape, kind) for shape in datasets.SHAPES for kind in datasets.KINDS}
    kinds = Counter(p.kind for p in plans)
    assert 0.40 < kinds["complete"] / 5000 < 0.50
    states = {s for p in plans for s in p.step_states}
    assert states == set(datasets.STEP_HISTORY)
    assert {p.task_state for p in plans} == set(datasets.TASK_HISTORY)


def test_100k_tasks_make_about_half_a_million_steps() -> None:
    steps = sum(len(p.step_states) for p in datasets.plan_dataset(100_000))
    assert 480_000 < steps < 520_000


def test_uuid7_layout() -> None:
    value = UUID(datasets.uuid7_hex(1_700_000_000_123, random.Random(1)))
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert value.int >> 80 == 1_700_000_000_123


def test_histories_end_in_the_current_state_and_chain() -> None:
    rows = dataset_load._history_rows("step", datasets.STEP_HISTORY)
    for state, history in datasets.STEP_HISTORY.items():
        mine = [r for r in rows if r[1] == state]
        assert [r[4] for r in mine] == list(history)
        assert [r[5] for r in mine] == [False] * (len(history) - 1) + [True]
        assert mine[0][3] is None
        assert all(b[3] == a[4] for a, b in itertools.pairwise(mine))


def test_the_layout_lists_every_edge_of_the_shapes() -> None:
    layout = datasets._layout()
    assert layout.edges["diamond_4"] == ((0, 1), (0, 2), (1, 3), (2, 3))
    assert len(layout.edges["complex_dag_7"]) == 9
    assert layout.steps["linear_4"] == tuple(f"linear_step_{i}" for i in range(1, 5))
