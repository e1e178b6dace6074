"""Datasets for the SQL function benchmarks: a deterministic plan of tasks of mixed shapes and
states (pure), and its bulk load into a tasker database (COPY + set-based INSERT ... SELECT).

A run loads datasets into a scratch copy of the deployment's database (spanbench's schema or
tasker-core's: the loader fills the columns either requires). In a database shared with a
stack, a dataset lives next to the stack's own tasks, in a namespace of its own,
`spanbench_dataset`, which has no worker queue: the stack's readiness sweep finds its
ready tasks (that is what get_next_ready_tasks is measured on) but can never publish one of
their steps, and while a dataset is measured `shielded` keeps the sweep off it altogether.
"Fresh state" is per namespace: seeding deletes the namespace's previous tasks, and the
stack's tasks and templates are never touched. The namespace's named tasks (one per shape)
are registered here; named steps are global by name, so the rows the orchestration
registered for its templates are reused and missing ones inserted.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

import psycopg

from instrument.workload import dataset_load

NAMESPACE = "spanbench_dataset"
VERSION = "1.0.0"
DEFAULT_SEED = 20251008
WINDOW_S = 24 * 3600
"""Tasks are spread evenly over the day before seeding, oldest first."""


@dataclass(frozen=True)
class ShapeStep:
    name: str
    parents: tuple[int, ...] = ()
    """Indices of earlier steps of the same shape."""


def _chain(prefix: str, n: int) -> tuple[ShapeStep, ...]:
    return tuple(ShapeStep(f"{prefix}{i}", (i - 2,) if i > 1 else ()) for i in range(1, n + 1))


SHAPES: dict[str, tuple[ShapeStep, ...]] = {
    "linear_3": _chain("linear_step_", 3),
    "linear_4": _chain("linear_step_", 4),
    "diamond_4": (ShapeStep("diamond_start"), ShapeStep("diamond_branch_b", (0,)),
                  ShapeStep("diamond_branch_c", (0,)), ShapeStep("diamond_end", (1, 2))),
    "tree_7": (ShapeStep("tree_root"), ShapeStep("tree_branch_left", (0,)),
               ShapeStep("tree_branch_right", (0,)), ShapeStep("tree_leaf_d", (1,)),
               ShapeStep("tree_leaf_e", (1,)), ShapeStep("tree_leaf_f", (2,)),
               ShapeStep("tree_leaf_g", (2,))),
    "complex_dag_7": (ShapeStep("dag_init"), ShapeStep("dag_process_left", (0,)),
                      ShapeStep("dag_process_right", (0,)), ShapeStep("dag_validate", (1, 2)),
                      ShapeStep("dag_transform", (1,)), ShapeStep("dag_analyze", (2,)),
                      ShapeStep("dag_finalize", (3, 4, 5))),
}
"""The stack's benchmark templates (same step names and dependencies), steps in topological
order."""

KINDS = ("complete", "in_progress", "pending")
KIND_WEIGHTS = (0.45, 0.35, 0.20)
FRONTIER_STATES = ("enqueued", "in_progress", "enqueued_for_orchestration", "pending",
                   "waiting_for_retry")
FRONTIER_WEIGHTS = (0.25, 0.35, 0.05, 0.25, 0.10)
"""States of an in-progress task's steps whose parents are all complete."""

TASK_HISTORY = {
    "pending": ("pending",),
    "steps_in_process": ("pending", "initializing", "enqueuing_steps", "steps_in_process"),
    "waiting_for_retry": ("pending", "initializing", "enqueuing_steps", "steps_in_process",
                          "evaluating_results", "waiting_for_retry"),
    "complete": ("pending", "initializing", "enqueuing_steps", "steps_in_process",
                 "evaluating_results", "complete"),
}
STEP_HISTORY = {
    "pending": ("pending",),
    "enqueued": ("pending", "enqueued"),
    "in_progress": ("pending", "enqueued", "in_progress"),
    "enqueued_for_orchestration": ("pending", "enqueued", "in_progress",
                                   "enqueued_for_orchestration"),
    "complete": ("pending", "enqueued", "in_progress", "enqueued_for_orchestration", "complete"),
    "waiting_for_retry": ("pending", "enqueued", "in_progress", "enqueued_for_orchestration",
                          "error", "waiting_for_retry"),
}
"""Every transition row a task or step in a given current state has, in order."""


@dataclass(frozen=True)
class TaskPlan:
    ordinal: int
    shape: str
    kind: str
    """complete, in_progress or pending: the stratum of the task's state."""
    task_state: str
    step_states: tuple[str, ...]
    priority: int


def _in_progress_steps(shape: Sequence[ShapeStep], rng: random.Random) -> tuple[str, ...]:
    """The first k steps (topological order, so closed under ancestors) complete; steps whose
    parents are all complete in some in-flight or ready state; the rest pending."""
    done = rng.randrange(len(shape))
    states = ["complete"] * done
    for step in shape[done:]:
        if all(parent < done for parent in step.parents):
            states.append(rng.choices(FRONTIER_STATES, FRONTIER_WEIGHTS)[0])
        else:
            states.append("pending")
    return tuple(states)


def plan_task(ordinal: int, rng: random.Random) -> TaskPlan:
    shape_name = rng.choice(tuple(SHAPES))
    shape = SHAPES[shape_name]
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    priority = 0 if rng.random() < 0.8 else rng.randint(1, 5)
    if kind == "complete":
        return TaskPlan(ordinal, shape_name, kind, "complete", ("complete",) * len(shape),
                        priority)
    if kind == "pending":
        return TaskPlan(ordinal, shape_name, kind, "pending", ("pending",) * len(shape),
                        priority)
    steps = _in_progress_steps(shape, rng)
    frontier = {s for s in steps if s not in ("complete", "pending")}
    task_state = "waiting_for_retry" if frontier == {"waiting_for_retry"} else "steps_in_process"
    return TaskPlan(ordinal, shape_name, kind, task_state, steps, priority)


def plan_dataset(size: int, seed: int = DEFAULT_SEED) -> Iterator[TaskPlan]:
    """`size` tasks, the same ones for the same (size, seed)."""
    rng = random.Random(seed)
    for ordinal in range(size):
        yield plan_task(ordinal, rng)


def uuid7_hex(unix_ms: int, rng: random.Random) -> str:
    """A UUID v7 (48-bit milliseconds, version 7, RFC 4122 variant) as 32 hex digits."""
    rand = rng.getrandbits(74)
    value = ((unix_ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64
             | 0b10 << 62 | rand & (2**62 - 1))
    return f"{value:032x}"


@dataclass
class Dataset:
    """A seeded dataset: what each ordinal is, for stratified sampling, and its uuids."""

    size: int
    seed: int
    named_tasks: dict[str, UUID]
    plans: list[TaskPlan]
    task_uuids: list[str]
    """32-hex-digit uuid of each ordinal's task."""
    counts: dict[str, int] = field(default_factory=dict)
    """Rows written per table."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: delete_previous, plan, copy, one per table, load (wall time of the
    parallel slices), total; vacuum_analyze once `shielded` has settled the tables."""
    fk_checks: bool = True

    def task_uuid(self, ordinal: int) -> UUID:
        return UUID(self.task_uuids[ordinal])


def seed_dataset(database_url: str, size: int, seed: int = DEFAULT_SEED, workers: int = 2,
                 fk_checks: bool = True) -> Dataset:
    """Replace the namespace's dataset with `size` freshly planned tasks (see `shielded` for
    the VACUUM ANALYZE that settles it).

    The load is split by ordinal into `workers` slices loaded side by side, each in its own
    transaction. With `fk_checks` False it runs with session_replication_role = replica
    (superuser only): the plan is consistent by construction, and the foreign-key triggers
    are a third of a load's cost. tasker-core's step-result audit trigger is off during the
    load (see dataset_load.AUDIT_TRIGGER), so its audit table holds no rows of the dataset.
    """
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        named_tasks, named_steps = dataset_load.register_shapes(
            conn, NAMESPACE, VERSION,
            {name: configuration(shape) for name, shape in SHAPES.items()})
        dataset_load.delete_namespace_tasks(conn, list(named_tasks.values()), fk_checks)
    seconds: dict[str, float] = {"delete_previous": time.perf_counter() - started}
    plans = list(plan_dataset(size, seed))
    start_ms = int(time.time() * 1000) - WINDOW_S * 1000
    created = [start_ms + ordinal * WINDOW_S * 1000 // max(size, 1) for ordinal in range(size)]
    uuid_rng = random.Random(seed + 1)
    task_uuids = [uuid7_hex(ms, uuid_rng) for ms in created]
    seconds["plan"] = time.perf_counter() - started - sum(seconds.values())
    bounds = [size * i // workers for i in range(workers + 1)]
    slices = [dataset_load.Slice(_task_rows(plans[a:b], task_uuids, created),
                                 _step_rows(plans[a:b], created, random.Random(seed + 2 + a)))
              for a, b in itertools.pairwise(bounds) if b > a]
    with dataset_load.audit_trigger_off(database_url):
        counts, load_seconds = dataset_load.load(
            database_url, slices, dataset_load.Lookups(named_tasks, named_steps, _layout(),
                                                       TASK_HISTORY, STEP_HISTORY), fk_checks)
    seconds.update(load_seconds)
    seconds["total"] = time.perf_counter() - started
    return Dataset(size, seed, named_tasks, plans, task_uuids, counts, seconds, fk_checks)


def _task_rows(plans: Sequence[TaskPlan], uuids: Sequence[str], created: Sequence[int]
               ) -> Iterator[str]:
    for p in plans:
        yield (f"{p.ordinal}\t{uuids[p.ordinal]}\t{p.shape}\t{p.task_state}\t"
               f"{created[p.ordinal]}\t{p.priority}\n")


def _step_rows(plans: Sequence[TaskPlan], created: Sequence[int], rng: random.Random
               ) -> Iterator[str]:
    for p in plans:
        ms = created[p.ordinal]
        for index, state in enumerate(p.step_states):
            yield f"{p.ordinal}\t{index}\t{uuid7_hex(ms, rng)}\t{state}\n"


def drop_dataset(database_url: str, fk_checks: bool = True) -> int:
    """Delete every task of the namespace (the named tasks stay); returns how many."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        named = dataset_load.namespace_named_tasks(conn, NAMESPACE)
        return dataset_load.delete_namespace_tasks(conn, list(named.values()), fk_checks)


@contextmanager
def shielded(database_url: str, dataset: Dataset, drop_after: bool = True) -> Iterator[int]:
    """The dataset ready to measure: its unfinished tasks locked FOR NO KEY UPDATE from a
    connection of its own, then the tables settled by VACUUM (ANALYZE); yields the number of
    tasks locked. With `drop_after`, a body that ends normally is followed by deleting the
    dataset under the same locks.

    The locks make a live orchestration's readiness sweep, which locks a task FOR UPDATE SKIP
    LOCKED before enqueueing its steps, pass the dataset by; reads, and the KEY SHARE locks of
    foreign keys, are not blocked. Between the load's commit and the locks, a sweep may try a
    dataset task: publishing to the namespace's queue, which does not exist, fails and rolls
    its transaction back (the orchestration logs a warning).
    """
    named = list(dataset.named_tasks.values())
    with psycopg.connect(database_url) as guard:
        cur = guard.execute(
            "SELECT count(*) FROM (SELECT 1 FROM tasker.tasks WHERE named_task_uuid = ANY(%s) "
            "AND NOT complete FOR NO KEY UPDATE) locked", (named,))
        row = cur.fetchone()
        dataset.seconds["vacuum_analyze"] = dataset_load.settle(database_url)
        yield 0 if row is None else int(row[0])
        if drop_after:
            dataset_load.delete_namespace_tasks(guard, named, dataset.fk_checks)
            guard.commit()


def configuration(shape: Sequence[ShapeStep]) -> dict[str, object]:
    """named_tasks.configuration of a dataset shape (the stack's layout, without handlers)."""
    return {"steps": [{"name": s.name, "depends_on": [shape[p].name for p in s.parents]}
                      for s in shape], "spanbench_dataset": True}


def _layout() -> dataset_load.Layout:
    return dataset_load.Layout(
        steps={name: tuple(s.name for s in shape) for name, shape in SHAPES.items()},
        edges={name: tuple((p, i) for i, s in enumerate(shape) for p in s.parents)
               for name, shape in SHAPES.items()})
