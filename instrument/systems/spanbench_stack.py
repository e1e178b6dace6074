"""spanbench's own reference stack (stack/) as a System: the first adapter.

Its names are stated here as data, since instrument must not import stack;
tests/unit/test_systems.py checks them against stack/engine (templates, SQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import psycopg

from instrument.systems import tasker_core
from instrument.systems.base import Endpoints, TemplateRef, final_task_state_sql
from instrument.workload.tasker_client import task_request
from spanbench import phase_map
from spanbench.vocabulary import FINALIZED_CHANNEL

NAME = "spanbench"

TEMPLATES: Mapping[str, TemplateRef] = MappingProxyType({
    "linear_3": TemplateRef("linear_workflow", "linear_3"),
    "linear_4": TemplateRef("linear_workflow", "linear_4"),
    "diamond_4": TemplateRef("diamond_workflow", "diamond_4"),
    "tree_7": TemplateRef("tree_workflow", "tree_7"),
    "complex_dag_7": TemplateRef("dag_workflow", "complex_dag_7"),
    "noop": TemplateRef("single_step", "single_noop"),
    "calculation": TemplateRef("single_step", "single_square"),
    "database": TemplateRef("single_step", "single_database"),
})
"""Scenario → the stack's template (stack/engine/templates.py)."""

STEP_POWERS: Mapping[str, Mapping[str, int]] = MappingProxyType({
    "linear_3": {"linear_step_3": 8},
    "linear_4": {"linear_step_4": 16},
    "diamond_4": {"diamond_end": 16},
    "tree_7": {f"tree_leaf_{leaf}": 8 for leaf in "defg"},
    "complex_dag_7": {"dag_finalize": 64},
})
"""Scenario → the steps whose results prove the workflow ran right, each result a power of the
context's even_number (stack/engine/templates.py computes the same)."""

SQL_FUNCTIONS: Mapping[str, str] = tasker_core.SQL_FUNCTIONS
"""The stack mirrors tasker-core's readiness functions: same names, called the same way."""

FINAL_TASK_STATES = ("complete", "blocked_by_failures", "error", "cancelled",
                     "resolved_manually")
"""The task states the orchestration finalizes to (it NOTIFYs complete and
blocked_by_failures), and the states no transition leaves."""
TASK_STATE_SQL = final_task_state_sql(FINAL_TASK_STATES)

SEND_WITH_NOTIFY_SQL = ("SELECT tasker.pgmq_send_with_notify("
                        "%(queue)s, %(message)s, 0, %(headers)s)")
QUEUE_NAMESPACE_SQL = "SELECT tasker.queue_namespace(%s)"
RESULTS_QUEUE = "orchestration_step_results"
CHANNEL_PREFIX = "pgmq_message_ready."


@dataclass(frozen=True)
class SpanbenchStack:
    """The reference stack at `endpoints`."""

    endpoints: Endpoints
    name: ClassVar[str] = NAME
    finalized_channel: ClassVar[str | None] = FINALIZED_CHANNEL
    task_state_sql: ClassVar[str | None] = TASK_STATE_SQL
    sql_functions: ClassVar[Mapping[str, str]] = SQL_FUNCTIONS
    results_queue: ClassVar[str] = RESULTS_QUEUE
    send_with_notify_sql: ClassVar[str] = SEND_WITH_NOTIFY_SQL
    step_rewinds: ClassVar[bool] = True
    plants_tasks: ClassVar[bool] = True
    send_with_notify_missing: ClassVar[str | None] = None
    phases: ClassVar[Mapping[str, str]] = MappingProxyType(dict(phase_map.builtin(NAME).by_name))

    def template(self, scenario: str) -> TemplateRef | None:
        return TEMPLATES.get(scenario)

    def task_request(self, template: TemplateRef, context: Mapping[str, Any]) -> dict[str, Any]:
        return task_request(template.name, template.namespace, context, template.version)

    def expected_results(self, scenario: str,
                         context: Mapping[str, Any]) -> Mapping[str, Any] | None:
        powers = STEP_POWERS.get(scenario)
        if powers is None or "even_number" not in context:
            return None
        base = int(context["even_number"])
        return {step: base**power for step, power in powers.items()}

    def worker_queue(self, namespace: str) -> str:
        return f"worker_{namespace}_queue"

    def queue_namespace(self, conn: psycopg.Connection, queue: str) -> str:
        row = conn.execute(QUEUE_NAMESPACE_SQL, (queue,)).fetchone()
        if row is None:
            raise RuntimeError("tasker.queue_namespace returned no row")
        return str(row[0])

    def message_ready_channel(self, namespace: str) -> str:
        return CHANNEL_PREFIX + namespace
