"""After a run, or on demand: the deployment's record of the run's tasks, kept beside the run,
and the spans derived from it written into the run (extract/derive)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from extract.derive.record import parse
from extract.derive.run import DeriveOutcome, derive, workflows
from extract.store.runstore import RunStore
from instrument.drivers import e2e_latency, worker_execution
from instrument.systems.task_record import read_record
from spanbench import strict_json

DERIVING_SUITES = (e2e_latency.SUITE, worker_execution.SUITE)
"""The suites whose tasks get derived spans (their driver spans name the tasks they create:
queries/derive_workflows.sql)."""
RECORD_FILE = "deployment-record.json"
"""The record as read at the end of the run (artifacts/): deriving again needs no database."""


def record_path(store: RunStore, run_id: str) -> Path:
    return store.artifacts_dir(run_id) / RECORD_FILE


def _keep(store: RunStore, run_id: str, record: dict[str, Any]) -> Path:
    path = record_path(store, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(strict_json.dumps(record))
    return path


def keep_record(store: RunStore, run_id: str, database_url: str, system: str,
                since: datetime) -> Path:
    """Read the record of every task created since the run started and keep it beside the run
    (while the deployment still runs: a stack the run started is gone afterwards)."""
    return _keep(store, run_id, read_record(database_url, system, since=since))


def derive_kept(store: RunStore, run_id: str) -> DeriveOutcome:
    """Derive from the record kept beside the run."""
    return derive(store, run_id, parse(json.loads(record_path(store, run_id).read_text())))


def derive_from_database(store: RunStore, run_id: str, database_url: str, system: str
                         ) -> DeriveOutcome:
    """Derive from the deployment's database, for the run's workflows' tasks."""
    tasks = [workflow.task_uuid for workflow in workflows(store, run_id)]
    record = read_record(database_url, system, task_uuids=tasks)
    _keep(store, run_id, record)
    return derive(store, run_id, parse(record))


def describe(outcome: DeriveOutcome) -> str:
    if outcome.location is None:
        return (f"derived spans: none ({outcome.workflows} workflows, none of their tasks "
                "in the deployment's record)")
    return (f"derived spans: {outcome.spans} for {outcome.derived} of {outcome.workflows} "
            f"workflows → {outcome.location}")
