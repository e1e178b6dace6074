"""The SQL side of dataset seeding: register a namespace's shapes, bulk-load a planned dataset,
delete it again. Plans arrive as tab-separated COPY rows; everything else is set-based SQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layout:
    """Step names (topological order) and edges (from index, to index) of every shape."""

    steps: Mapping[str, tuple[str, ...]]
    edges: Mapping[str, tuple[tuple[int, int], ...]]


def register_shapes(conn: psycopg.Connection, namespace: str, version: str,
                    configurations: Mapping[str, Mapping[str, object]]
                    ) -> tuple[dict[str, UUID], dict[str, UUID]]:
    """Upsert the namespace and one named task per shape; insert the named steps that do not
    exist yet. Returns the named task uuids by shape and the named step uuids by name."""
    with conn.transaction():
        conn.execute("INSERT INTO tasker.task_namespaces (name, description, created_at, "
                     "updated_at) VALUES (%s, %s, now(), now()) ON CONFLICT (name) DO NOTHING",
                     (namespace, "spanbench SQL datasets"))
        named_tasks: dict[str, UUID] = {}
        for shape, config in configurations.items():
            row = conn.execute(
                """INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version,
                       description, configuration, created_at, updated_at)
                   SELECT task_namespace_uuid, %s, %s, 'spanbench dataset shape', %s, now(),
                       now()
                   FROM tasker.task_namespaces WHERE name = %s
                   ON CONFLICT (task_namespace_uuid, name, version)
                   DO UPDATE SET configuration = EXCLUDED.configuration
                   RETURNING named_task_uuid""",
                (shape, version, Jsonb(dict(config)), namespace)).fetchone()
            assert row is not None
            named_tasks[shape] = row[0]
        names = sorted({str(step["name"]) for config in configurations.values()
                        for step in config["steps"]})  # type: ignore[attr-defined]
        conn.execute("INSERT INTO tasker.named_steps (name, created_at, updated_at) "
                     "SELECT unnest(%s::text[]), now(), now() ON CONFLICT (name) DO NOTHING",
                     (names,))
        rows = conn.execute("SELECT name, named_step_uuid FROM tasker.named_steps "
                            "WHERE name = ANY(%s)", (names,)).fetchall()
    return named_tasks, {name: uuid for name, uuid in rows}


def namespace_named_tasks(conn: psycopg.Connection, namespace: str) -> dict[str, UUID]:
    rows = conn.execute(
        "SELECT nt.name, nt.named_task_uuid FROM tasker.named_tasks nt JOIN "
        "tasker.task_namespaces tn USING (task_namespace_uuid) WHERE tn.name = %s",
        (namespace,)).fetchall()
    return {name: uuid for name, uuid in rows}


_OF_DATASET = ("JOIN tasker.tasks t ON t.task_uuid = ws.task_uuid "
               "WHERE t.named_task_uuid = ANY(%(named)s)")
AUDIT_TABLE = "tasker.workflow_step_result_audit"
"""tasker-core's audit of step results (written by a trigger on step transitions); spanbench's
schema has none."""
DELETE_AUDIT_SQL = (f"DELETE FROM {AUDIT_TABLE} x USING tasker.tasks t "
                    "WHERE t.task_uuid = x.task_uuid AND t.named_task_uuid = ANY(%(named)s)")
AUDIT_TRIGGER = ("tasker", "workflow_step_transitions", "trg_step_result_audit")
"""tasker-core's trigger filling AUDIT_TABLE: per step transition into a result state it runs
three `BEGIN ... EXCEPTION` blocks, i.e. three subtransactions per row. A set-based load of a
100k-task dataset inserts ~1.8M step transitions in one statement, ~600k of them audited, and
the load turns superlinear (10k tasks: 24 s with it, 14 s without; 100k: over 9 minutes with
it, 129 s without). It only writes the audit table, which no function the suite times reads,
so it is switched off while a dataset loads (`audit_trigger_off`)."""
DELETE_SQL = (
    "SELECT count(*) FROM (SELECT 1 FROM tasker.tasks WHERE named_task_uuid = ANY(%(named)s) "
    "FOR UPDATE) locked",
    "DELETE FROM tasker.workflow_step_transitions x USING tasker.workflow_steps ws "
    + _OF_DATASET + " AND x.workflow_step_uuid = ws.workflow_step_uuid",
    "DELETE FROM tasker.workflow_step_edges x USING tasker.workflow_steps ws "
    + _OF_DATASET + " AND x.from_step_uuid = ws.workflow_step_uuid",
    "DELETE FROM tasker.workflow_steps x USING tasker.tasks t "
    "WHERE t.task_uuid = x.task_uuid AND t.named_task_uuid = ANY(%(named)s)",
    "DELETE FROM tasker.task_transitions x USING tasker.tasks t "
    "WHERE t.task_uuid = x.task_uuid AND t.named_task_uuid = ANY(%(named)s)",
    "DELETE FROM tasker.tasks WHERE named_task_uuid = ANY(%(named)s)",
)
"""The tasks locked first, as the orchestration locks a task before its steps (no deadlock
with a sweep); then children first, so the cascades find nothing left to do."""


def delete_namespace_tasks(conn: psycopg.Connection, named_task_uuids: list[UUID],
                           fk_checks: bool = True) -> int:
    """Delete every task of these named tasks with its steps, edges and transitions."""
    if not named_task_uuids:
        return 0
    with conn.transaction():
        if not fk_checks:
            conn.execute("SET LOCAL session_replication_role = replica")
        deleted = 0
        audited = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (AUDIT_TABLE,)).fetchone()
        statements = DELETE_SQL[:1] + ((DELETE_AUDIT_SQL,) if audited and audited[0] else ()) \
            + DELETE_SQL[1:]
        for statement in statements:
            deleted = conn.execute(statement, {"named": named_task_uuids}).rowcount
    return deleted


def may_skip_fk_checks(database_url: str) -> bool:
    """Whether the role may load with session_replication_role = replica (a superuser)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('is_superuser') = 'on'").fetchone()
    return bool(row and row[0])


TEMP_TABLES_SQL = """
CREATE TEMP TABLE ds_task (ordinal int, task_uuid uuid, shape text, task_state text,
                           created_ms bigint, priority int) ON COMMIT DROP;
CREATE TEMP TABLE ds_step (ordinal int, step_index int, step_uuid uuid, state text) ON COMMIT DROP;
CREATE TEMP TABLE ds_named_task (shape text, named_task_uuid uuid) ON COMMIT DROP;
CREATE TEMP TABLE ds_shape_step (shape text, step_index int, named_step_uuid uuid) ON COMMIT DROP;
CREATE TEMP TABLE ds_shape_edge (shape text, from_index int, to_index int) ON COMMIT DROP;
CREATE TEMP TABLE ds_history (kind text, state text, seq int, from_state text, to_state text,
                              last boolean) ON COMMIT DROP;
"""

_AT = "to_timestamp(d.created_ms / 1000.0)"


def _edges_sql(with_updated_at: bool) -> str:
    updated = (", updated_at", f", {_AT}") if with_updated_at else ("", "")
    return f"""
INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid, name, created_at{updated[0]})
SELECT f.step_uuid, t.step_uuid, 'provides', {_AT}{updated[1]}
FROM ds_task d JOIN ds_shape_edge e ON e.shape = d.shape
JOIN ds_step f ON f.ordinal = d.ordinal AND f.step_index = e.from_index
JOIN ds_step t ON t.ordinal = d.ordinal AND t.step_index = e.to_index"""


INSERT_SQL: dict[str, str] = {
    "tasks": f"""
INSERT INTO tasker.tasks (task_uuid, named_task_uuid, complete, requested_at, completed_at,
    initiator, source_system, reason, tags, context, identity_hash, priority, correlation_id,
    created_at, updated_at)
SELECT d.task_uuid, n.named_task_uuid, d.task_state = 'complete', {_AT},
       CASE WHEN d.task_state = 'complete' THEN {_AT} + interval '2 s' END,
       'spanbench', 'spanbench', 'dataset', '["spanbench_dataset"]',
       jsonb_build_object('even_number', 6, 'ordinal', d.ordinal),
       'spanbench-dataset-' || d.task_uuid, d.priority, gen_random_uuid(), {_AT}, {_AT}
FROM ds_task d JOIN ds_named_task n USING (shape)""",
    "workflow_steps": f"""
INSERT INTO tasker.workflow_steps (workflow_step_uuid, task_uuid, named_step_uuid, retryable,
    max_attempts, in_process, processed, processed_at, attempts, last_attempted_at, results,
    created_at, updated_at)
SELECT s.step_uuid, d.task_uuid, ss.named_step_uuid, true, 3,
       s.state IN ('in_progress', 'enqueued_for_orchestration'), s.state = 'complete',
       CASE WHEN s.state = 'complete' THEN {_AT} + interval '1 s' END,
       CASE WHEN s.state IN ('pending', 'enqueued') THEN 0 ELSE 1 END,
       CASE WHEN s.state NOT IN ('pending', 'enqueued') THEN {_AT} + interval '500 ms' END,
       CASE WHEN s.state = 'complete' THEN '{{"result": 36}}'::jsonb END, {_AT}, {_AT}
FROM ds_step s JOIN ds_task d USING (ordinal)
JOIN ds_shape_step ss ON ss.shape = d.shape AND ss.step_index = s.step_index""",
    "workflow_step_edges": _edges_sql(with_updated_at=False),
    "workflow_step_transitions": f"""
INSERT INTO tasker.workflow_step_transitions (workflow_step_uuid, from_state, to_state,
    sort_key, most_recent, created_at, updated_at)
SELECT s.step_uuid, h.from_state, h.to_state, h.seq, h.last,
       {_AT} + h.seq * interval '100 ms', {_AT} + h.seq * interval '100 ms'
FROM ds_step s JOIN ds_task d USING (ordinal)
JOIN ds_history h ON h.kind = 'step' AND h.state = s.state""",
    "task_transitions": f"""
INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, sort_key, most_recent,
    created_at, updated_at)
SELECT d.task_uuid, h.from_state, h.to_state, h.seq, h.last,
       {_AT} + h.seq * interval '100 ms', {_AT} + h.seq * interval '100 ms'
FROM ds_task d JOIN ds_history h ON h.kind = 'task' AND h.state = d.task_state""",
}
"""In the order of the foreign keys."""
EDGES_WITH_UPDATED_AT = _edges_sql(with_updated_at=True)
"""The edges of a schema whose edges have an updated_at without a default (tasker-core's)."""

VACUUM_SQL = ("VACUUM (ANALYZE) tasker.tasks, tasker.workflow_steps, tasker.workflow_step_edges, "
              "tasker.workflow_step_transitions, tasker.task_transitions")
"""Planner statistics, the visibility map and hint bits as a settled database has them."""


def _copy(conn: psycopg.Connection, statement: str, rows: Iterable[str]) -> None:
    with conn.cursor().copy(statement) as copy:
        buffer: list[str] = []
        size = 0
        for row in rows:
            buffer.append(row)
            size += len(row)
            if size >= COPY_CHUNK:
                copy.write("".join(buffer))
                buffer, size = [], 0
        if buffer:
            copy.write("".join(buffer))


def _history_rows(kind: str, histories: Mapping[str, tuple[str, ...]]
                  ) -> list[tuple[str, str, int, str | None, str, bool]]:
    return [(kind, state, seq, history[seq - 2] if seq > 1 else None, to_state,
             seq == len(history))
            for state, history in histories.items()
            for seq, to_state in enumerate(history, start=1)]


@dataclass(frozen=True)
class Slice:
    """COPY rows of part of a dataset. Task rows: ordinal, uuid, shape, task state, created
    (Unix ms), priority; step rows: ordinal, step index, uuid, state."""

    task_rows: Iterable[str]
    step_rows: Iterable[str]


@dataclass(frozen=True)
class Lookups:
    """What turns planned rows into tasker rows: named task and step uuids, shapes, histories."""

    named_tasks: Mapping[str, UUID]
    named_steps: Mapping[str, UUID]
    layout: Layout
    task_history: Mapping[str, tuple[str, ...]]
    step_history: Mapping[str, tuple[str, ...]]


def _fill_lookups(conn: psycopg.Connection, lookups: Lookups) -> None:
    cur = conn.cursor()
    cur.executemany("INSERT INTO ds_named_task VALUES (%s, %s)",
                    list(lookups.named_tasks.items()))
    cur.executemany("INSERT INTO ds_shape_step VALUES (%s, %s, %s)",
                    [(shape, index, lookups.named_steps[name])
                     for shape, names in lookups.layout.steps.items()
                     for index, name in enumerate(names)])
    cur.executemany("INSERT INTO ds_shape_edge VALUES (%s, %s, %s)",
                    [(shape, f, t) for shape, edges in lookups.layout.edges.items()
                     for f, t in edges])
    cur.executemany("INSERT INTO ds_history VALUES (%s, %s, %s, %s, %s, %s)",
                    _history_rows("task", lookups.task_history)
                    + _history_rows("step", lookups.step_history))


def insert_statements(conn: psycopg.Connection) -> dict[str, str]:
    """INSERT_SQL as the database's tables take it (edges with or without updated_at)."""
    row = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                       "'tasker' AND table_name = 'workflow_step_edges' AND column_name = "
                       "'updated_at'").fetchone()
    if row is not None and row[0]:
        return {**INSERT_SQL, "workflow_step_edges": EDGES_WITH_UPDATED_AT}
    return dict(INSERT_SQL)


def _load_slice(database_url: str, part: Slice, lookups: Lookups, fk_checks: bool
                ) -> tuple[dict[str, int], dict[str, float]]:
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        seconds[name] = now - mark
        mark = now

    with psycopg.connect(database_url) as conn, conn.transaction():
        if not fk_checks:
            conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(TEMP_TABLES_SQL)
        _copy(conn, "COPY ds_task FROM STDIN", part.task_rows)
        _copy(conn, "COPY ds_step FROM STDIN", part.step_rows)
        _fill_lookups(conn, lookups)
        conn.execute("ANALYZE ds_task, ds_step")
        lap("copy")
        for table, statement in insert_statements(conn).items():
            counts[table] = conn.execute(statement).rowcount
            lap(table)
    return counts, seconds


@contextmanager
def audit_trigger_off(database_url: str) -> Iterator[bool]:
    """AUDIT_TRIGGER disabled for the block when the database has it enabled, and enabled again
    after; yields whether it was switched off. ALTER TABLE needs the table's owner: a run loads
    datasets only in its scratch copy, which it owns."""
    schema, table, trigger = AUDIT_TRIGGER
    target = sql.Identifier(schema, table)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = "
                           "to_regclass(%s) AND tgname = %s AND tgenabled <> 'D')",
                           (f"{schema}.{table}", trigger)).fetchone()
        enabled = bool(row and row[0])
        if enabled:
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                target, sql.Identifier(trigger)))
        try:
            yield enabled
        finally:
            if enabled:
                conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(
                    target, sql.Identifier(trigger)))


def load(database_url: str, slices: Sequence[Slice], lookups: Lookups, fk_checks: bool = True
         ) -> tuple[dict[str, int], dict[str, float]]:
    """Load every slice on a connection of its own, side by side, each in one transaction.
    Returns the rows inserted per table and the seconds per phase (the slowest slice's)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(len(slices), 1)) as pool:
        results = list(pool.map(lambda part: _load_slice(database_url, part, lookups,
                                                         fk_checks), slices))
    counts = {table: sum(c.get(table, 0) for c, _ in results) for table in INSERT_SQL}
    seconds = {phase: max(s[phase] for _, s in results) for phase in results[0][1]} \
        if results else {}
    seconds["load"] = time.perf_counter() - started
    return counts, seconds


def settle(database_url: str) -> float:
    """VACUUM (ANALYZE) the tables; returns the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(VACUUM_SQL)
    return time.perf_counter() - started
