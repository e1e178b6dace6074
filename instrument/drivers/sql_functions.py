"""sql_functions: tasker's six SQL functions, timed at dataset sizes of 1k, 5k, 10k and 100k tasks.

Which of them a system has, and the query calling each, come from its `sql_functions`; this
driver knows how to sample each function's arguments and which one must be rolled back.

For each size the dataset is bulk-seeded (setup, untimed; see `datasets`), then every function
is called with stratified samples (see `sql_samples`) in a fixed order, one `sql.<function>`
client span per call, and EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) is captured once per function
and size on the first measured sample: the plan is stored as an artifact and its buffer hit
ratio put on that sample's span. transition_task_state_atomic runs in a transaction that is
rolled back after timing (BEGIN and ROLLBACK are outside the span), so the dataset stays as
seeded. The runner hands this suite a system whose database is a scratch copy of the
deployment's (`IN_SCRATCH`), so the datasets never reach the deployment's tables; where a
database is shared anyway (a driver called directly), `datasets.shielded` keeps a live
orchestration's readiness sweep off the dataset while a size is measured, and the dataset is
deleted at the end. In the scratch copy (`ctx.database_is_scratch`) the last size is left for
the copy's drop, and a superuser loads without the foreign-key triggers (the plan is consistent
by construction).

Calls are server-side prepared statements, as tasker-core's sqlx makes them: PostgreSQL plans
the first five executions of each with their parameters and may then switch to a generic
plan, so warm-up iterations matter. Spans carry bench.dataset_size, bench.sample (the index
in the function's stratified list), tasker.template and the task or step they ran on, and the
database conventions db.system.name, db.namespace, db.operation.name, db.query.text ($n
placeholders), db.stored_procedure.name and db.response.returned_rows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from opentelemetry.trace import SpanKind

from instrument.drivers.base import DriverContext, Iteration, Need
from instrument.systems.base import System
from instrument.workload import dataset_load, datasets, sql_samples
from instrument.workload.sql_samples import Sample
from spanbench import strict_json
from spanbench.vocabulary import DB_SYSTEM_POSTGRESQL, Attr, Suite, sql_phase

_logger = logging.getLogger(__name__)

SUITE = Suite.SQL_FUNCTIONS
NEEDS = frozenset({Need.DATABASE})
IN_SCRATCH = True
"""The runner gives this suite a system whose database is a scratch copy of the deployment's
(spanbench.runner.scratch): the datasets are never loaded into the deployment's tables."""
SIZES = (1_000, 5_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
SAMPLES = 50
WARMUP = 5
SAMPLE_SEED = 5


Sampler = Callable[[psycopg.Connection, datasets.Dataset], list[Sample]]


@dataclass(frozen=True)
class SqlFunction:
    name: str
    query: str
    """With psycopg placeholders (%s)."""
    samples: Sampler
    rolled_back: bool = False

    @property
    def query_text(self) -> str:
        """The query as the server sees it: parameterised with $1, $2, ..."""
        return numbered_placeholders(self.query)


SAMPLERS: dict[str, Sampler] = {
    "get_next_ready_tasks": lambda conn, ds: sql_samples.limit_samples(),
    "get_step_readiness_status": lambda conn, ds: sql_samples.task_samples(ds, SAMPLE_SEED),
    "get_task_execution_context":
        lambda conn, ds: sql_samples.task_samples(ds, SAMPLE_SEED + 1),
    "get_step_transitive_dependencies":
        lambda conn, ds: sql_samples.step_samples(conn, ds, SAMPLE_SEED + 2),
    "transition_task_state_atomic":
        lambda conn, ds: sql_samples.transition_samples(ds, SAMPLE_SEED + 3),
    "calculate_dependency_levels":
        lambda conn, ds: sql_samples.task_samples(ds, SAMPLE_SEED + 4),
}
"""Each function's arguments, in the order they are timed."""
SCENARIOS = tuple(SAMPLERS)
ROLLED_BACK = frozenset({"transition_task_state_atomic"})
"""Functions that write: timed in a transaction rolled back afterwards."""


def functions(system: System) -> list[SqlFunction]:
    """The functions this driver times that `system` has, each with the system's query."""
    return [SqlFunction(name, system.sql_functions[name], sampler, name in ROLLED_BACK)
            for name, sampler in SAMPLERS.items() if name in system.sql_functions]


def unsupported(system: System) -> str | None:
    """Why `system` cannot run this suite (checked before any timing), or None."""
    return None if functions(system) else (f"{system.name} has none of the functions this "
                                            f"suite times ({', '.join(SAMPLERS)})")


def numbered_placeholders(query: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1`, `$2`, ..."""
    counter = iter(range(1, query.count("%s") + 1))
    return re.sub(r"%s", lambda _: f"${next(counter)}", query)


def buffer_counts(explain: Any) -> tuple[int, int, float | None]:
    """(shared hit, shared read, hit ratio) of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
    result, execution only; the ratio is None when no shared block was touched."""
    plan = explain[0]["Plan"]
    hit, read = int(plan.get("Shared Hit Blocks", 0)), int(plan.get("Shared Read Blocks", 0))
    return hit, read, (hit / (hit + read) if hit + read else None)


def run(ctx: DriverContext, *, sizes: Sequence[int] | None = None) -> None:
    """Seed, measure and drop each dataset size in turn (quick: the smallest only)."""
    chosen = sizes if sizes is not None else (QUICK_SIZES if ctx.settings.quick else SIZES)
    url = ctx.system.endpoints.database_url
    measured = functions(ctx.system)
    ctx.plan([f.name for f in measured], SAMPLES, WARMUP, repeat=len(chosen))
    scratch = ctx.database_is_scratch
    fk_checks = not (scratch and dataset_load.may_skip_fk_checks(url))
    try:
        for size in chosen:
            dataset = datasets.seed_dataset(url, size, fk_checks=fk_checks)
            last_in_scratch = scratch and size == chosen[-1]  # the copy is dropped whole
            with datasets.shielded(url, dataset, drop_after=not last_in_scratch), \
                    psycopg.connect(url, autocommit=True) as conn:
                for function in measured:
                    _measure(ctx, conn, dataset, function)
    except BaseException:
        try:
            datasets.drop_dataset(url)
        except Exception:
            _logger.exception("could not delete the %s dataset", datasets.NAMESPACE)
        raise


def _measure(ctx: DriverContext, conn: psycopg.Connection, dataset: datasets.Dataset,
             function: SqlFunction) -> None:
    samples = function.samples(conn, dataset)
    if not samples:
        raise ValueError(f"the {dataset.size}-task dataset has no sample for {function.name}")
    n_warmup = ctx.warmup(WARMUP)
    base = {Attr.DATASET_SIZE: dataset.size, Attr.DB_SYSTEM: DB_SYSTEM_POSTGRESQL,
            Attr.DB_OPERATION: "SELECT", Attr.DB_QUERY_TEXT: function.query_text,
            "db.namespace": conn.info.dbname, "db.stored_procedure.name": function.name}
    explained = False
    for iteration in ctx.iterations(function.name, SAMPLES, WARMUP, dataset.size):
        position = (iteration.index if iteration.warmup
                    else iteration.index - n_warmup) % len(samples)
        sample = samples[position]
        with ctx.guard(iteration):
            span = _timed_call(ctx, conn, function, sample, iteration,
                               {**base, **sample.attributes, Attr.SAMPLE: position})
            if not iteration.warmup and not explained:
                explained = True
                span.set_attributes(_explain(ctx, conn, function, sample, dataset.size))


def _timed_call(ctx: DriverContext, conn: psycopg.Connection, function: SqlFunction,
                sample: Sample, iteration: Iteration, attributes: dict[str, Any]) -> Any:
    cur = conn.cursor()
    phase = ctx.recorder.phase(sql_phase(function.name), parent=ctx.parent(iteration),
                               kind=SpanKind.CLIENT, attributes=attributes)
    if function.rolled_back:
        with conn.transaction(force_rollback=True), phase:
            cur.execute(function.query, sample.params, prepare=True)
            rows = cur.fetchall()
        if rows != [(True,)]:
            raise RuntimeError(f"{function.name}{sample.params[:3]} did not transition: {rows}")
    else:
        with phase:
            cur.execute(function.query, sample.params, prepare=True)
            rows = cur.fetchall()
    phase.set_attribute("db.response.returned_rows", len(rows))
    return phase


def _explain(ctx: DriverContext, conn: psycopg.Connection, function: SqlFunction,
             sample: Sample, size: int) -> dict[str, Any]:
    """Run the sample under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON); store the plan; return
    the span attributes that summarise it."""
    statement = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + function.query
    with conn.transaction(force_rollback=function.rolled_back):
        row = conn.execute(statement, sample.params).fetchone()
    assert row is not None
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    hit, read, ratio = buffer_counts(plan)
    name = f"explain/{function.name}-{size}.json"
    path = ctx.artifact_path(name)
    if path is not None:
        path.write_text(strict_json.dumps({
            "function": function.name, "dataset_size": size, "run_id": ctx.settings.run_id,
            "query": function.query_text, "params": [str(p) for p in sample.params],
            "shared_hit_blocks": hit, "shared_read_blocks": read, "buffer_hit_ratio": ratio,
            "planning_time_ms": plan[0].get("Planning Time"),
            "execution_time_ms": plan[0].get("Execution Time"), "plan": plan,
        }, indent=2))
    attributes: dict[str, Any] = {Attr.EXPLAIN_SHARED_HIT_BLOCKS: hit,
                                  Attr.EXPLAIN_SHARED_READ_BLOCKS: read}
    if ratio is not None:
        attributes[Attr.EXPLAIN_BUFFER_HIT_RATIO] = ratio
    if path is not None:
        attributes[Attr.EXPLAIN_ARTIFACT] = f"{SUITE}/{name}"
    return attributes
