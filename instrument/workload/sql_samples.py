"""Stratified samples for the SQL function benchmarks: 5–10 diverse arguments per function, drawn
from a dataset's plan across templates and states with a fixed seed, in a fixed order.

Strata are visited round-robin so that the first few samples already span every template
(and, where it applies, every state); one member of each stratum is drawn at random.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from instrument.workload.datasets import KINDS, SHAPES, Dataset, TaskPlan
from spanbench.vocabulary import Attr

POOL = 10
"""Samples per function (the seed: 5–10 diverse samples)."""
LIMITS = (1, 5, 10, 25, 50)
"""p_limit values of get_next_ready_tasks (5 is tasker's default, 50 the stack's sweep)."""
TRANSITIONS = {"pending": "initializing", "steps_in_process": "evaluating_results",
               "waiting_for_retry": "enqueuing_steps"}
"""The transition tried from each unfinished task state (rolled back after timing)."""

Stratum = tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    params: tuple[Any, ...]
    attributes: dict[str, str | int] = field(default_factory=dict)


def task_strata(kinds: Sequence[str] = KINDS) -> list[Stratum]:
    """(template, kind) strata in visiting order: each pass covers every template once, the
    kinds shifted by one per template and per pass."""
    shapes = list(SHAPES)
    return [(shape, kinds[(j + r) % len(kinds)]) for r in range(len(kinds))
            for j, shape in enumerate(shapes)]


def step_strata() -> list[Stratum]:
    """(template, step index) strata of steps with parents, deepest first, templates
    round-robin."""
    non_roots = {shape: [i for i in reversed(range(len(steps))) if steps[i].parents]
                 for shape, steps in SHAPES.items()}
    depth = max(len(v) for v in non_roots.values())
    return [(shape, str(indices[rank])) for rank in range(depth)
            for shape, indices in non_roots.items() if rank < len(indices)]


def draw(members: Mapping[Stratum, Sequence[int]], order: Sequence[Stratum], k: int,
         rng: random.Random) -> list[tuple[Stratum, int]]:
    """Up to `k` (stratum, member) pairs, distinct: strata in `order`, one random member each
    (empty strata skipped), and round again while `k` is not reached."""
    drawn = {stratum: rng.sample(list(members.get(stratum, ())),
                                 min(k, len(members.get(stratum, ()))))
             for stratum in order}
    picked: list[tuple[Stratum, int]] = []
    for rank in range(k):
        for stratum in order:
            if rank < len(drawn[stratum]) and len(picked) < k:
                picked.append((stratum, drawn[stratum][rank]))
    return picked


def by_stratum(plans: Sequence[TaskPlan]) -> dict[Stratum, list[int]]:
    """Ordinals by (template, kind)."""
    strata: dict[Stratum, list[int]] = {}
    for plan in plans:
        strata.setdefault((plan.shape, plan.kind), []).append(plan.ordinal)
    return strata


def _task_attributes(dataset: Dataset, ordinal: int) -> dict[str, str | int]:
    plan = dataset.plans[ordinal]
    return {Attr.TASK_UUID: str(dataset.task_uuid(ordinal)), Attr.TEMPLATE: plan.shape,
            Attr.TASK_STATE: plan.task_state, Attr.SAMPLE_KIND: plan.kind}


def task_samples(dataset: Dataset, seed: int, k: int = POOL) -> list[Sample]:
    """Tasks across templates and kinds, as (task_uuid,)."""
    picks = draw(by_stratum(dataset.plans), task_strata(), k, random.Random(seed))
    return [Sample((dataset.task_uuid(o),), _task_attributes(dataset, o)) for _, o in picks]


def transition_samples(dataset: Dataset, seed: int, k: int = POOL) -> list[Sample]:
    """Unfinished tasks across templates and kinds, as (task, from, to, processor, metadata)."""
    picks = draw(by_stratum(dataset.plans), task_strata(("in_progress", "pending")), k,
                 random.Random(seed))
    samples = []
    for _, ordinal in picks:
        state = dataset.plans[ordinal].task_state
        attributes = {**_task_attributes(dataset, ordinal), Attr.TO_STATE: TRANSITIONS[state]}
        samples.append(Sample((dataset.task_uuid(ordinal), state, TRANSITIONS[state], None,
                               '{"source": "spanbench"}'), attributes))
    return samples


def step_samples(conn: psycopg.Connection, dataset: Dataset, seed: int, k: int = POOL
                 ) -> list[Sample]:
    """Steps with parents, across templates and depths (any task state), as (step_uuid,)."""
    by_shape: dict[str, list[int]] = {}
    for plan in dataset.plans:
        by_shape.setdefault(plan.shape, []).append(plan.ordinal)
    order = step_strata()
    members = {stratum: by_shape.get(stratum[0], []) for stratum in order}
    samples = []
    for (shape, index), ordinal in draw(members, order, k, random.Random(seed)):
        name = SHAPES[shape][int(index)].name
        row = conn.execute(
            "SELECT ws.workflow_step_uuid FROM tasker.workflow_steps ws JOIN tasker.named_steps "
            "ns USING (named_step_uuid) WHERE ws.task_uuid = %s AND ns.name = %s",
            (dataset.task_uuid(ordinal), name)).fetchone()
        if row is None:
            raise LookupError(f"dataset task {ordinal} has no step {name}: was it reseeded?")
        samples.append(Sample((row[0],), {**_task_attributes(dataset, ordinal),
                                          Attr.STEP_UUID: str(row[0]), Attr.STEP_NAME: name}))
    return samples


def limit_samples() -> list[Sample]:
    return [Sample((limit,), {Attr.LIMIT: limit}) for limit in LIMITS]
