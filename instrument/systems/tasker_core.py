"""tasker-core (github.com/tasker-systems/tasker-core) as a System.

What the drivers need of a tasker-core deployment, stated as data from its migrations and
templates: its own e2e templates per scenario (the Rust worker's, or the Python worker's with
`variant="python"`), its SQL functions with their signatures, its queues, and its
`tasker.pgmq_send_with_notify(queue, message, delay)`, which NOTIFYs
`pgmq_message_ready.<namespace>` and the global `pgmq_message_ready` and takes no headers (a
message sent through it carries no trace context). tasker-core announces no finalized task, so
completion is polled from its task_transitions in the database; it has no SQL to move a step
back (no step rewinds), and spanbench plants no task in its tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import psycopg

from instrument.systems.base import (
    DEFAULT_VERSION,
    Endpoints,
    TemplateRef,
    final_task_state_sql,
)
from instrument.workload.tasker_client import task_request
from spanbench import phase_map

NAME = "tasker-core"
RUST, PYTHON = "rust", "python"

RUST_TEMPLATES: Mapping[str, TemplateRef] = MappingProxyType({
    "linear_4": TemplateRef("rust_e2e_linear", "mathematical_sequence"),
    "diamond_4": TemplateRef("rust_e2e_diamond", "diamond_pattern"),
    "complex_dag_7": TemplateRef("rust_e2e_mixed_dag", "complex_dag"),
})
"""Scenario → tasker-core's Rust e2e template of the same shape. Its
`rust_e2e_tree/hierarchical_tree` has 8 steps (tree_7 plus a 4-way convergence), so no scenario
maps to it; `--template tree_7=rust_e2e_tree/hierarchical_tree:1.0.0` chooses it anyway."""

PYTHON_TEMPLATES: Mapping[str, TemplateRef] = MappingProxyType({
    "linear_4": TemplateRef("linear_workflow_py", "mathematical_sequence_py"),
    "diamond_4": TemplateRef("diamond_workflow_py", "parallel_computation_py"),
})
"""Scenario → the template of tasker-core's Python worker (tasker-py)."""

TEMPLATES_BY_VARIANT: Mapping[str, Mapping[str, TemplateRef]] = MappingProxyType({
    RUST: RUST_TEMPLATES, PYTHON: PYTHON_TEMPLATES,
})

SQL_FUNCTIONS: Mapping[str, str] = MappingProxyType({
    "get_next_ready_tasks": "SELECT * FROM tasker.get_next_ready_tasks(%s)",
    "get_step_readiness_status": "SELECT * FROM tasker.get_step_readiness_status(%s, NULL)",
    "get_task_execution_context": "SELECT * FROM tasker.get_task_execution_context(%s)",
    "get_step_transitive_dependencies":
        "SELECT * FROM tasker.get_step_transitive_dependencies(%s)",
    "transition_task_state_atomic":
        "SELECT tasker.transition_task_state_atomic(%s, %s, %s, %s, %s::jsonb)",
    "calculate_dependency_levels": "SELECT * FROM tasker.calculate_dependency_levels(%s)",
})
"""The functions sql_functions times, as tasker-core's migrations declare them."""

FINAL_TASK_STATES = ("complete", "error", "cancelled", "resolved_manually",
                     "blocked_by_failures")
"""Task states a workflow ends in: tasker-core's terminal states, and blocked_by_failures (a
step failed for good; nothing more runs without someone's intervention), which its API's
execution_status calls final too."""
TASK_STATE_SQL = final_task_state_sql(FINAL_TASK_STATES)
"""Its tasker.task_transitions (to_state, most_recent) and tasker.tasks (correlation_id), as
its migrations declare them."""

SCHEMA = "tasker"
SEND_WITH_NOTIFY = "pgmq_send_with_notify"
QUEUE_NAMESPACE = "extract_queue_namespace"
FUNCTION_SIGNATURES: Mapping[str, str] = MappingProxyType({
    "get_next_ready_tasks": "integer",
    "get_step_readiness_status": "uuid, uuid[]",
    "get_task_execution_context": "uuid",
    "get_step_transitive_dependencies": "uuid",
    "transition_task_state_atomic": "uuid, character varying, character varying, uuid, jsonb",
    "calculate_dependency_levels": "uuid",
    SEND_WITH_NOTIFY: "text, jsonb, integer",
    QUEUE_NAMESPACE: "text",
})
"""Every function of the tasker schema the adapter calls → its argument types, as
PostgreSQL writes them (`oidvectortypes(pg_proc.proargtypes)`)."""

SEND_WITH_NOTIFY_SQL = f"SELECT {SCHEMA}.{SEND_WITH_NOTIFY}(%(queue)s, %(message)s, 0)"
QUEUE_NAMESPACE_SQL = f"SELECT {SCHEMA}.{QUEUE_NAMESPACE}(%s)"
RESULTS_QUEUE = "orchestration_step_results"
CHANNEL_PREFIX = "pgmq_message_ready."
GLOBAL_CHANNEL = "pgmq_message_ready"
"""pgmq_send_with_notify NOTIFYs this channel too, for every namespace."""

PHASES: Mapping[str, str] = MappingProxyType(dict(phase_map.builtin(NAME).by_name))
"""tasker-core's span names → the phase each one is, from its built-in phase map
(spanbench/phase_maps/tasker-core.toml, where each rule gives its evidence)."""


class TemplateOptionError(ValueError):
    """A --template value that is not SCENARIO=namespace/name[:version]."""


def parse_template_option(text: str) -> tuple[str, TemplateRef]:
    """`SCENARIO=namespace/name:version` (version optional, default 1.0.0) as (scenario, ref)."""
    usage = (f"--template {text!r}: expected SCENARIO=namespace/name:version, e.g. "
             "linear_4=rust_e2e_linear/mathematical_sequence:1.0.0")
    scenario, equals, template = (part.strip() for part in text.partition("="))
    if not equals or not scenario or not template:
        raise TemplateOptionError(usage)
    path, colon, version = (part.strip() for part in template.partition(":"))
    namespace, slash, name = (part.strip() for part in path.partition("/"))
    if not slash or not namespace or not name or "/" in name or (colon and not version):
        raise TemplateOptionError(usage)
    return scenario, TemplateRef(namespace, name, version if colon else DEFAULT_VERSION)


def template_overrides(options: Iterable[str]) -> dict[str, TemplateRef]:
    """Every --template value parsed; a scenario given twice is an error."""
    overrides: dict[str, TemplateRef] = {}
    for text in options:
        scenario, ref = parse_template_option(text)
        if scenario in overrides:
            raise TemplateOptionError(f"--template names scenario {scenario!r} twice")
        overrides[scenario] = ref
    return overrides


@dataclass(frozen=True)
class TaskerCore:
    """A tasker-core deployment at `endpoints`.

    `variant`: whose e2e templates the scenarios run (RUST or PYTHON); `templates`: per-scenario
    overrides on top of them. `unavailable`: the functions of FUNCTION_SIGNATURES the deployment
    lacks or declares with other arguments → what is wrong (instrument.systems.detect); those of
    SQL_FUNCTIONS are not timed, and without its send with notify no suite sends.
    """

    endpoints: Endpoints
    variant: str = RUST
    templates: Mapping[str, TemplateRef] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)
    name: ClassVar[str] = NAME
    finalized_channel: ClassVar[str | None] = None
    task_state_sql: ClassVar[str | None] = TASK_STATE_SQL
    results_queue: ClassVar[str] = RESULTS_QUEUE
    send_with_notify_sql: ClassVar[str] = SEND_WITH_NOTIFY_SQL
    step_rewinds: ClassVar[bool] = False
    plants_tasks: ClassVar[bool] = False
    phases: ClassVar[Mapping[str, str]] = PHASES

    def __post_init__(self) -> None:
        if self.variant not in TEMPLATES_BY_VARIANT:
            raise ValueError(f"unknown tasker-core variant {self.variant!r}: "
                             f"choose {' or '.join(TEMPLATES_BY_VARIANT)}")

    @property
    def sql_functions(self) -> Mapping[str, str]:
        return {name: query for name, query in SQL_FUNCTIONS.items()
                if name not in self.unavailable}

    @property
    def send_with_notify_missing(self) -> str | None:
        problems = [self.unavailable[name] for name in (SEND_WITH_NOTIFY, QUEUE_NAMESPACE)
                    if name in self.unavailable]
        return "; ".join(problems) or None

    def template(self, scenario: str) -> TemplateRef | None:
        return self.templates.get(scenario, TEMPLATES_BY_VARIANT[self.variant].get(scenario))

    def task_request(self, template: TemplateRef, context: Mapping[str, Any]) -> dict[str, Any]:
        return task_request(template.name, template.namespace, context, template.version)

    def expected_results(self, scenario: str,
                         context: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """None: its templates' step results are not checked (a workflow must end complete)."""
        return None

    def worker_queue(self, namespace: str) -> str:
        return f"worker_{namespace}_queue"

    def queue_namespace(self, conn: psycopg.Connection, queue: str) -> str:
        row = conn.execute(QUEUE_NAMESPACE_SQL, (queue,)).fetchone()
        if row is None or row[0] is None:
            raise RuntimeError(f"{SCHEMA}.{QUEUE_NAMESPACE} returned no namespace for {queue}")
        return str(row[0])

    def message_ready_channel(self, namespace: str) -> str:
        return CHANNEL_PREFIX + namespace
