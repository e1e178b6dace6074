"""Derive a run's spans: its workflows from the store, the deployment's record of their tasks,
the phases that record bounds, written into the run as part `derived`."""

from __future__ import annotations

from dataclasses import dataclass

import queries
from extract.analyse.duckdb_runner import open_runs
from extract.derive.phases import derive_task
from extract.derive.record import DeploymentRecord
from extract.derive.spans import Workflow, tables, typed_attributes
from extract.store.runstore import RunStore

PART = "derived"
"""The run's part file of derived spans (part-derived.parquet); deriving again replaces it."""


@dataclass(frozen=True)
class DeriveOutcome:
    workflows: int
    """Driver spans of the run that name a task (e2e.workflow, worker.task)."""
    derived: int
    """Of those, how many the record holds (their spans were written)."""
    spans: int
    location: str | None
    """Where the part was written (None: nothing to write)."""


def workflows(store: RunStore, run_id: str) -> list[Workflow]:
    """The run's workflow roots with their task uuids (queries/derive_workflows.sql)."""
    con = open_runs(store, [run_id])
    try:
        rows = con.execute(queries.load()["derive_workflows"].sql, {"run_id": run_id}).fetchall()
    finally:
        con.close()
    return [Workflow(trace_id, span_id, task_uuid, correlation_id,
                     typed_attributes(attributes, attribute_types or {}),
                     post_span_id, post_start_ns, post_end_ns)
            for (trace_id, span_id, task_uuid, correlation_id, attributes, attribute_types,
                 _root_start, _root_end, post_span_id, post_start_ns, post_end_ns) in rows]


def derive(store: RunStore, run_id: str, record: DeploymentRecord) -> DeriveOutcome:
    """Write the derived spans of every workflow of the run whose task the record holds."""
    found = workflows(store, run_id)
    tasks = {task.task_uuid: task for task in record.tasks}
    per_workflow = [(workflow, derive_task(tasks[workflow.task_uuid])) for workflow in found
                    if workflow.task_uuid in tasks]
    per_workflow = [(workflow, spans) for workflow, spans in per_workflow if spans]
    count = sum(len(spans) for _, spans in per_workflow)
    if not count:
        return DeriveOutcome(len(found), 0, 0, None)
    table = tables(per_workflow, record.system)[run_id]
    location = store.write_part(run_id, PART, table)
    return DeriveOutcome(len(found), len(per_workflow), count, location)
