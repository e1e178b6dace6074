"""The e2e breakdown, trace completeness and lifecycle counts: queries/e2e_*.sql, typed.

Each function runs queries/e2e_workflows.sql (table macros, temporary to the connection) and
then its own query over the connection's `spans` view; see the SQL files for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

import queries
from extract.analyse import attribution

MACROS = "e2e_workflows"


@dataclass(frozen=True)
class BreakdownRow:
    """One phase of one scenario's breakdown ('wait' for time no phase span covers)."""

    scenario: str
    phase: str
    median_ns: float
    p95_ns: float | None
    """None below 20 workflows."""
    share: float
    """Fraction of the scenario's total wall time; a scenario's shares sum to 1."""
    n_workflows: int


@dataclass(frozen=True)
class Completeness:
    """How many of a scenario's measured workflow traces hold every span their template implies."""

    scenario: str
    complete: int
    incomplete: int
    missing: dict[str, int]
    """Phase → how many workflows were short of it."""


@dataclass(frozen=True)
class LifecycleRow:
    """Per-step costs seen in a scenario's traces, beside tasker-core's published figures."""

    scenario: str
    spans_per_step: float
    messages_per_step: float
    db_operations_per_step: float | None
    """None when the traces carry no statement-level DB spans (the reference stack's do not)."""
    tasker_db_operations_per_step: int
    tasker_mq_round_trips_per_step: int
    transitions_per_step: float | None = None
    """Task and step state transitions per step, from the tasker.transitions the stack stamps."""


@dataclass(frozen=True)
class E2eAnalysis:
    """Everything the e2e queries say about one run, from one pass over its traces."""

    breakdown: list[BreakdownRow]
    completeness: list[Completeness]
    lifecycle: list[LifecycleRow]
    workflows: pa.Table | None = None
    """Per-workflow attribution, only when asked for: `workflow_breakdown_table`'s rows."""


def _run(con: duckdb.DuckDBPyConnection, name: str, run_id: str, *, macros: bool = True
         ) -> list[tuple]:
    loaded = queries.load()
    if macros:
        con.execute(loaded[MACROS].sql)
    return con.execute(loaded[name].sql, {"run_id": run_id}).fetchall()


def e2e_breakdown(con: duckdb.DuckDBPyConnection, run_id: str, *, macros: bool = True
                  ) -> list[BreakdownRow]:
    """Per scenario and phase: median, p95 and share of wall time over complete workflows."""
    return [BreakdownRow(scenario, phase, median, p95, share, n) for scenario, phase, median,
            p95, share, n in _run(con, "e2e_breakdown", run_id, macros=macros)]


def workflow_breakdowns(con: duckdb.DuckDBPyConnection, run_id: str, *, macros: bool = True
                        ) -> list[tuple[str, str, str, int]]:
    """(trace_id, scenario, phase, attributed_ns) per complete workflow; a trace's ns sum
    exactly to its e2e.workflow span's Duration."""
    return [(trace, scenario, phase, int(ns)) for trace, scenario, phase, ns
            in _run(con, "e2e_workflow_breakdown", run_id, macros=macros)]


def workflow_breakdown_table(con: duckdb.DuckDBPyConnection, run_id: str, *,
                             macros: bool = True) -> pa.Table:
    """`workflow_breakdowns` as an Arrow table (trace_id, scenario, phase, attributed_ns int64,
    in the query's order), without a Python object per value: a run has a row per workflow and
    phase, hundreds of thousands at a million spans."""
    loaded = queries.load()
    if macros:
        con.execute(loaded[MACROS].sql)
    return con.sql(loaded["e2e_workflow_breakdown"].sql,
                   params={"run_id": run_id}).to_arrow_table()


def trace_completeness(con: duckdb.DuckDBPyConnection, run_id: str, *, macros: bool = True
                       ) -> list[Completeness]:
    """Per scenario: complete and incomplete workflow traces, and which phases were missing."""
    return [Completeness(scenario, complete, incomplete, dict(missing))
            for scenario, complete, incomplete, missing
            in _run(con, "e2e_completeness", run_id, macros=macros)]


def lifecycle_counts(con: duckdb.DuckDBPyConnection, run_id: str, *, macros: bool = True
                     ) -> list[LifecycleRow]:
    """Per scenario: spans, PGMQ messages, DB operations and state transitions per step, from
    complete traces."""
    return [LifecycleRow(scenario, spans, messages, db, tasker_db, tasker_mq, transitions)
            for scenario, spans, messages, db, tasker_db, tasker_mq, transitions
            in _run(con, "e2e_lifecycle", run_id, macros=macros)]


ATTRIBUTION = "e2e_attribution"
_CACHED = (("e2e_roots", "e2e_roots_of_run"), ("e2e_walk", "e2e_walk_of_run"),
           ("e2e_status", "e2e_status_of_run"), (ATTRIBUTION, "e2e_attribution_of_run"))


def e2e_analysis(con: duckdb.DuckDBPyConnection, run_id: str, *,
                 with_workflows: bool = False) -> E2eAnalysis:
    """The breakdown, completeness and lifecycle (and, when asked, the per-workflow rows),
    walking the run's traces and attributing their time once.

    The walk, the workflows' status and the attribution are kept in temporary tables while the
    four queries run (their macros are pointed at them), then dropped and the macros restored.
    The attribution is extract.analyse.attribution's: the macro's rule, vectorised.
    """
    macros = queries.load()[MACROS].sql
    con.execute(macros)
    try:
        for macro, table in _CACHED:
            if macro == ATTRIBUTION:
                attribution.attribute(con, run_id, table)
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                            f"SELECT * FROM {macro}($run_id)", {"run_id": run_id})
            con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}(run) AS TABLE "
                        f"SELECT * FROM {table}")
        return E2eAnalysis(
            e2e_breakdown(con, run_id, macros=False),
            trace_completeness(con, run_id, macros=False),
            lifecycle_counts(con, run_id, macros=False),
            workflow_breakdown_table(con, run_id, macros=False) if with_workflows else None)
    finally:
        con.execute(macros)
        for _, table in _CACHED:
            con.execute(f"DROP TABLE IF EXISTS {table}")


DERIVED_VIEW = "bench_derived_view"
"""The variable queries/e2e_workflows.sql reads: true walks the derived spans instead of the
traced ones (the root and the driver's api.create_task are in both)."""

HAS_DERIVED_SQL = ("SELECT count(*) > 0 FROM spans "
                   "WHERE RunId = $run_id AND bench_derived(SpanAttributes)")


def has_derived(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether the run holds derived spans (bench.source = derived)."""
    row = con.execute(HAS_DERIVED_SQL, {"run_id": run_id}).fetchone()
    return bool(row and row[0])


def derived_e2e_analysis(con: duckdb.DuckDBPyConnection, run_id: str, *,
                         with_workflows: bool = False) -> E2eAnalysis:
    """`e2e_analysis` over the derived spans: the same attribution, so a workflow's derived
    phases also sum exactly to its root's Duration."""
    con.execute(f"SET VARIABLE {DERIVED_VIEW} = true")
    try:
        return e2e_analysis(con, run_id, with_workflows=with_workflows)
    finally:
        con.execute(f"RESET VARIABLE {DERIVED_VIEW}")
