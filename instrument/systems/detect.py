"""Which system a database belongs to, and which of an adapter's functions it really has.

Read from the catalogue only (nothing is written): tasker-core is migrated by sqlx, which keeps
its ledger in a `_sqlx_migrations` table; spanbench's reference stack keeps
`tasker.schema_migrations`. A function counts as present when the schema has one of that name
taking exactly the expected argument types; one with other arguments is reported with the
arguments it does take, so a suite can skip it and say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from instrument.systems import spanbench_stack, tasker_core

SQLX_LEDGER_SQL = """
SELECT n.nspname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = '_sqlx_migrations' AND c.relkind IN ('r', 'p')
ORDER BY n.nspname = 'public' DESC, n.nspname
LIMIT 1
"""
TABLE_EXISTS_SQL = "SELECT to_regclass(%s) IS NOT NULL"
FUNCTIONS_SQL = """
SELECT p.proname, oidvectortypes(p.proargtypes), pg_get_function_identity_arguments(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s AND p.proname = ANY(%s)
ORDER BY p.proname, p.oid
"""


@dataclass(frozen=True)
class Detection:
    """The system a database belongs to (None: neither's ledger is there), and why."""

    system: str | None
    evidence: str


@dataclass(frozen=True)
class FunctionCheck:
    """One function the adapter calls, as the database declares it."""

    schema: str
    name: str
    expected: str
    """The argument types the adapter calls it with (`oidvectortypes` spelling)."""
    declared: tuple[tuple[str, str], ...] = ()
    """Each function of that name in the schema: (argument types, identity arguments)."""

    @property
    def ok(self) -> bool:
        return any(types == self.expected for types, _ in self.declared)

    def describe(self) -> str:
        """`schema.name(types)`, and what is wrong when it is not there as expected."""
        wanted = f"{self.schema}.{self.name}({self.expected})"
        if self.ok:
            return wanted
        if not self.declared:
            return f"{wanted} is absent"
        others = "; ".join(f"({identity})" for _, identity in self.declared)
        return f"{wanted} is absent: the database has {self.schema}.{self.name}{others}"


def detect(conn: psycopg.Connection) -> Detection:
    """tasker-core when sqlx's ledger and the tasker schema are there; spanbench when our
    ledger is; else None."""
    row = conn.execute(SQLX_LEDGER_SQL).fetchone()
    if row is not None:
        ledger = f"{row[0]}._sqlx_migrations"
        if _exists(conn, "tasker.tasks"):
            return Detection(tasker_core.NAME, f"sqlx's ledger {ledger} and tasker.tasks")
        return Detection(None, f"{ledger} but no tasker.tasks: not a tasker-core schema")
    if _exists(conn, "tasker.schema_migrations"):
        return Detection(spanbench_stack.NAME, "spanbench's ledger tasker.schema_migrations")
    return Detection(None, "neither _sqlx_migrations nor tasker.schema_migrations")


def _exists(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute(TABLE_EXISTS_SQL, (table,)).fetchone()
    return bool(row and row[0])


def check_functions(conn: psycopg.Connection, schema: str,
                    expected: Mapping[str, str]) -> dict[str, FunctionCheck]:
    """Each function of `expected` (name → argument types) as `schema` declares it."""
    declared: dict[str, list[tuple[str, str]]] = {name: [] for name in expected}
    for name, types, identity in conn.execute(FUNCTIONS_SQL, (schema, list(expected))):
        declared[name].append((types, identity))
    return {name: FunctionCheck(schema, name, types, tuple(declared[name]))
            for name, types in expected.items()}


@dataclass(frozen=True)
class Inspection:
    """What a database is, and how it declares the functions of tasker-core's adapter."""

    detection: Detection
    functions: Mapping[str, FunctionCheck]

    @property
    def unavailable(self) -> frozenset[str]:
        """The functions absent or declared with other arguments."""
        return frozenset(name for name, check in self.functions.items() if not check.ok)


def inspect(database_url: str, connect_timeout_s: int = 10) -> Inspection:
    """Detect the system of `database_url`'s database and check tasker-core's functions there
    (read-only; raises psycopg.Error when it cannot connect)."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=connect_timeout_s) as conn:
        return Inspection(detect(conn), check_functions(conn, tasker_core.SCHEMA,
                                                        tasker_core.FUNCTION_SIGNATURES))
