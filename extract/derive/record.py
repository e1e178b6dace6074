"""A deployment's record of its tasks, as the runner hands it over: plain JSON-able data.

The shape (what `instrument/systems/task_record.py` reads from the database):
`{"system": str, "stamp": str, "tasks": [{"task_uuid", "correlation_id", "created_ns",
"transitions": [[to_state, at_ns, sort_key], …], "steps": [{"step_uuid", "name",
"transitions": [[to_state, at_ns, sort_key], …], "results_sent_ns": [ns, …]}, …]}, …]}`,
times in integer ns since the epoch; `results_sent_ns` (optional) holds when each result
message for the step was sent, from the results queue's records. `stamp` names what the
transitions' times are (`clock_timestamp` or `now`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Transition:
    """One state change: the state entered, when (ns since the epoch), its order."""

    to_state: str
    at_ns: int
    sort_key: int


@dataclass(frozen=True)
class StepRecord:
    step_uuid: str
    name: str
    transitions: tuple[Transition, ...]
    results_sent_ns: tuple[int, ...] = ()
    """When each result message for the step was sent (its queue's enqueued_at)."""


@dataclass(frozen=True)
class TaskRecord:
    task_uuid: str
    correlation_id: str
    created_ns: int
    """The task row's own creation time (its transaction's start in both systems)."""
    transitions: tuple[Transition, ...]
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class DeploymentRecord:
    system: str
    stamp: str
    tasks: tuple[TaskRecord, ...]


def _transitions(rows: Sequence[Sequence[Any]]) -> tuple[Transition, ...]:
    return tuple(sorted((Transition(str(state), int(at), int(key)) for state, at, key in rows),
                        key=lambda t: (t.sort_key, t.at_ns)))


def parse(document: Mapping[str, Any]) -> DeploymentRecord:
    """The record from its JSON form; KeyError/ValueError on a malformed one."""
    return DeploymentRecord(
        system=str(document["system"]),
        stamp=str(document["stamp"]),
        tasks=tuple(TaskRecord(
            task_uuid=str(task["task_uuid"]),
            correlation_id=str(task["correlation_id"]),
            created_ns=int(task["created_ns"]),
            transitions=_transitions(task["transitions"]),
            steps=tuple(StepRecord(str(step["step_uuid"]), str(step["name"]),
                                   _transitions(step["transitions"]),
                                   tuple(sorted(int(ns) for ns
                                                in step.get("results_sent_ns", ()))))
                        for step in task["steps"]),
        ) for task in document["tasks"]))
