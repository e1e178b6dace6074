"""Task templates of the reference stack: the workflows the seed benchmarks, with real math.

Every template starts from the task context's ``even_number`` and squares its way down the DAG,
so the final result is known in closed form and checked at the end of a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_VERSION = "1.0.0"
IdentityStrategy = Literal["strict", "caller_provided", "always_unique"]
"""How a template's tasks are told apart (tasker-core's named_tasks.identity_strategy): see
stack.engine.orchestration.identity."""


@dataclass(frozen=True)
class StepTemplate:
    """One step of a template: its handler and the steps it waits for."""

    name: str
    handler: str
    depends_on: tuple[str, ...] = ()
    max_attempts: int = 3
    retryable: bool = True
    handler_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskTemplate:
    """A named workflow: steps in an order where every parent precedes its children."""

    namespace: str
    name: str
    steps: tuple[StepTemplate, ...]
    version: str = DEFAULT_VERSION
    description: str = ""
    identity_strategy: IdentityStrategy = "strict"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            unknown = [parent for parent in step.depends_on if parent not in seen]
            if unknown:
                raise ValueError(
                    f"template {self.name}: step {step.name} depends on {unknown}, "
                    "which are not defined before it"
                )
            if step.name in seen:
                raise ValueError(f"template {self.name}: step {step.name} is defined twice")
            seen.add(step.name)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.name, self.version)

    def as_configuration(self) -> dict[str, Any]:
        """The JSON stored in named_tasks.configuration."""
        return {
            "steps": [
                {
                    "name": step.name,
                    "handler": step.handler,
                    "depends_on": list(step.depends_on),
                    "max_attempts": step.max_attempts,
                    "retryable": step.retryable,
                    "handler_config": step.handler_config,
                }
                for step in self.steps
            ]
        }


def _step(name: str, handler: str, *parents: str, **options: Any) -> StepTemplate:
    return StepTemplate(name=name, handler=handler, depends_on=parents, **options)


def linear(steps: int) -> TaskTemplate:
    chain = [_step("linear_step_1", "square")]
    chain += [
        _step(f"linear_step_{i}", "square", f"linear_step_{i - 1}") for i in range(2, steps + 1)
    ]
    return TaskTemplate("linear_workflow", f"linear_{steps}", tuple(chain),
                        description=f"{steps} steps in sequence, each squaring its parent")


def chain(steps: int) -> TaskTemplate:
    """chain_N: N noop steps in sequence, for step-enqueueing benchmarks (result = even_number)."""
    if not 1 <= steps <= 500:
        raise ValueError(f"chain_{steps}: a chain has 1 to 500 steps")
    links = [_step("chain_step_1", "noop")]
    links += [_step(f"chain_step_{i}", "noop", f"chain_step_{i - 1}") for i in range(2, steps + 1)]
    return TaskTemplate("chain_workflow", f"chain_{steps}", tuple(links),
                        description=f"{steps} noop steps in sequence")


def fanout(leaves: int) -> TaskTemplate:
    """fanout_N: a root whose result makes N noop leaves ready at once (step enqueueing)."""
    if not 1 <= leaves <= 500:
        raise ValueError(f"fanout_{leaves}: a fan-out has 1 to 500 leaves")
    steps = [_step("fanout_root", "noop")]
    steps += [_step(f"fanout_leaf_{i}", "noop", "fanout_root") for i in range(1, leaves + 1)]
    return TaskTemplate("chain_workflow", f"fanout_{leaves}", tuple(steps),
                        description=f"root → {leaves} leaves ready together")


DIAMOND_4 = TaskTemplate(
    "diamond_workflow",
    "diamond_4",
    (
        _step("diamond_start", "square"),
        _step("diamond_branch_b", "square", "diamond_start"),
        _step("diamond_branch_c", "square", "diamond_start"),
        _step("diamond_end", "multiply_and_square", "diamond_branch_b", "diamond_branch_c"),
    ),
    description="start → b, c in parallel → end",
)

_TREE_7_STEPS = (
    _step("tree_root", "square"),
    _step("tree_branch_left", "square", "tree_root"),
    _step("tree_branch_right", "square", "tree_root"),
    _step("tree_leaf_d", "square", "tree_branch_left"),
    _step("tree_leaf_e", "square", "tree_branch_left"),
    _step("tree_leaf_f", "square", "tree_branch_right"),
    _step("tree_leaf_g", "square", "tree_branch_right"),
)

TREE_7 = TaskTemplate("tree_workflow", "tree_7", _TREE_7_STEPS,
                      description="root → 2 branches → 4 leaves")

TREE_8 = TaskTemplate(
    "tree_workflow",
    "tree_8",
    (*_TREE_7_STEPS,
     _step("tree_final_convergence", "multiply_all_and_square",
           "tree_leaf_d", "tree_leaf_e", "tree_leaf_f", "tree_leaf_g")),
    description="tree_7 plus a 4-way convergence step",
)

COMPLEX_DAG_7 = TaskTemplate(
    "dag_workflow",
    "complex_dag_7",
    (
        _step("dag_init", "square"),
        _step("dag_process_left", "square", "dag_init"),
        _step("dag_process_right", "square", "dag_init"),
        _step("dag_validate", "multiply_and_square", "dag_process_left", "dag_process_right"),
        _step("dag_transform", "square", "dag_process_left"),
        _step("dag_analyze", "square", "dag_process_right"),
        _step("dag_finalize", "multiply_all_and_square",
              "dag_validate", "dag_transform", "dag_analyze"),
    ),
    description="init → left, right; validate(left, right), transform(left), analyze(right) → "
    "finalize(all three)",
)

SINGLE_STEP = tuple(
    TaskTemplate("single_step", f"single_{handler}", (_step(f"single_{handler}", handler),),
                 description=f"one {handler} step")
    for handler in ("noop", "square", "database", "sleep_ms")
)

FAILING = TaskTemplate(
    "test_errors",
    "failing_step",
    (
        _step("failing_first", "square"),
        _step("failing_always", "error", "failing_first", max_attempts=3),
        _step("failing_never_reached", "square", "failing_always"),
    ),
    description="a step that always raises: the task ends blocked_by_failures",
)

BUILTIN_TEMPLATES: tuple[TaskTemplate, ...] = (
    linear(3), linear(4), DIAMOND_4, TREE_7, TREE_8, COMPLEX_DAG_7, chain(3), chain(10),
    chain(50), fanout(3), fanout(10), fanout(50), *SINGLE_STEP, FAILING,
)

_SIZED_NAME = re.compile(r"^(chain|fanout)_(\d+)$")
_SIZED = {"chain": chain, "fanout": fanout}


class TemplateNotFound(LookupError):
    """No template under that namespace, name and version."""


def find_template(namespace: str, name: str, version: str,
                  templates: Iterable[TaskTemplate] = BUILTIN_TEMPLATES) -> TaskTemplate:
    """The template for a TaskRequest; chain_N and fanout_N exist for any N from 1 to 500."""
    for template in templates:
        if template.key == (namespace, name, version):
            return template
    match = _SIZED_NAME.match(name)
    if match and namespace == "chain_workflow" and version == DEFAULT_VERSION:
        return _SIZED[match.group(1)](int(match.group(2)))
    raise TemplateNotFound(f"no template {namespace}/{name}/{version}")


def expected_results(template: TaskTemplate, even_number: int) -> dict[str, int]:
    """The result each step must produce, computed without the stack (the math check)."""
    results: dict[str, int] = {}
    for step in template.steps:
        inputs = [results[parent] for parent in step.depends_on] or [even_number]
        product = 1
        for value in inputs:
            product *= value
        if step.handler == "noop":
            results[step.name] = inputs[0]
        elif step.handler in ("square", "multiply_and_square", "multiply_all_and_square"):
            results[step.name] = product * product
    return results
