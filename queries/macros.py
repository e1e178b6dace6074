"""The scalar macros the queries use for spanbench's names, built from spanbench.vocabulary.

Query files never spell an attribute key, a phase or suite name, a load-level or dataset-size
separator, or the per-call rule themselves: they call these macros, which every connection
spanbench opens defines once (`define`). In the DuckDB CLI, `.read` the output of
`python -m queries.macros` first.

Names: `phase().e2e_workflow`, `suite().e2e_latency`, `attr().worker_id` — one struct per
vocabulary class, a field per constant (its name in lower case), plus `phase().wait`
(WAIT_PHASE). DuckDB folds them to the literal before planning: the same filters reach the
Parquet scan as when the name is typed. Three structs rather than a macro per name: they
are defined several times faster, and every connection defines them.

The per-call sample rule: a span covering `bench.batch_size` calls (1 when absent or not a
number) counts as that many calls of Duration / batch_size each.
"""

from __future__ import annotations

import duckdb

from spanbench.vocabulary import (
    DATASET_SIZE_SEPARATOR,
    LEGACY_DATASET_SIZE,
    LOAD_LEVEL_SEPARATOR,
    STACK_PHASES,
    WAIT_PHASE,
    Attr,
    Phase,
    Source,
    Suite,
)


def _text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def constants(kind: type) -> dict[str, str]:
    """A vocabulary class's names by field: Phase.E2E_WORKFLOW → e2e_workflow: 'e2e.workflow'."""
    return {name.lower(): value for name, value in vars(kind).items()
            if name.isupper() and isinstance(value, str)}


def _struct(fields: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_text(field)}: {_text(value)}"
                           for field, value in fields.items()) + "}"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_text(value) for value in values) + "]"


LIFECYCLE_PHASES: tuple[str, ...] = (Phase.API_CREATE_TASK, *STACK_PHASES, Phase.E2E_WORKFLOW)
"""The phase spans of a workflow trace: its root, api.create_task and the stack's phases."""

_LEGACY_TO_TODAY = r"\1" + DATASET_SIZE_SEPARATOR + r"\2"

MACROS: dict[str, str] = {
    "phase()": _struct(constants(Phase) | {WAIT_PHASE: WAIT_PHASE}),
    "suite()": _struct(constants(Suite)),
    "attr()": _struct(constants(Attr)),
    "source()": _struct(constants(Source)),
    "lifecycle_phases()": _list(LIFECYCLE_PHASES),
    "bench_batch_size(attributes)":
        f"coalesce(TRY_CAST(attributes[{_text(Attr.BATCH_SIZE)}] AS BIGINT), 1)",
    "bench_per_call_ns(duration, attributes)": "duration / bench_batch_size(attributes)",
    "bench_dataset_size(attributes)": f"attributes[{_text(Attr.DATASET_SIZE)}]",
    "bench_derived(attributes)":
        f"coalesce(attributes[{_text(Attr.SOURCE)}] = {_text(Source.DERIVED)}, false)",
    "bench_stack_traced(attributes)": f"attributes[{_text(Attr.STACK_TRACED)}] = 'true'",
    "bench_tax_control(attributes)":
        f"coalesce(attributes[{_text(Attr.STACK_TRACED)}] = 'false', false)",
    "bench_concurrency(attributes)":
        f"TRY_CAST(attributes[{_text(Attr.CONCURRENCY)}] AS BIGINT)",
    "bench_arrival_rate(attributes)":
        f"TRY_CAST(attributes[{_text(Attr.ARRIVAL_RATE)}] AS DOUBLE)",
    "bench_start_lag_ns(attributes)": f"TRY_CAST(attributes[{_text(Attr.START_LAG)}] AS BIGINT)",
    "bench_load_base(scenario)": f"split_part(scenario, {_text(LOAD_LEVEL_SEPARATOR)}, 1)",
    "bench_scenario_base(scenario)":
        f"split_part(bench_load_base(scenario), {_text(DATASET_SIZE_SEPARATOR)}, 1)",
    "bench_history_scenario(scenario)":
        f"regexp_replace(scenario, {_text('^' + LEGACY_DATASET_SIZE + '$')}, "
        f"{_text(_LEGACY_TO_TODAY)})",
}
"""Signature → body. lifecycle_phases: LIFECYCLE_PHASES, a list. bench_load_base: the scenario
without its load level (`linear_4@c8` → `linear_4`); bench_scenario_base: without load level
and dataset size; bench_history_scenario: a history row's scenario in today's spelling
(`name@1000` → `name+1000`)."""

SQL: str = "".join(f"CREATE OR REPLACE TEMP MACRO {signature} AS {body};\n"
                   for signature, body in MACROS.items())


def define(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The connection, with every macro defined (temporary to it)."""
    connection.execute(SQL)
    return connection


if __name__ == "__main__":
    print(SQL, end="")
