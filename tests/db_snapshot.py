"""Before/after pictures of a database a run must leave as it was, and the scratch databases
left on its server."""

from __future__ import annotations

from typing import Any

import psycopg

from spanbench.runner import scratch

SCHEMAS = ("tasker", "pgmq", "public")
TABLE_COUNTS_SQL = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) ORDER BY 1
"""
FUNCTIONS_SQL = """
SELECT format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       pg_get_functiondef(p.oid) FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%s) AND p.prokind IN ('f', 'p') ORDER BY 1
"""


def snapshot(url: str) -> dict[str, Any]:
    """Every table's row count and every function's definition in the deployment's schemas."""
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(TABLE_COUNTS_SQL, (list(SCHEMAS),))]
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                  for table in tables}
        functions = dict(conn.execute(FUNCTIONS_SQL, (list(SCHEMAS),)).fetchall())
    return {"rows": counts, "functions": functions}


def scratch_databases(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            (scratch.PREFIX,))]
