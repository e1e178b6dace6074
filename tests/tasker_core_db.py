"""A database built from tasker-core's real migrations, as a tasker-core deployment has it.

The migrations are tasker-core's own files, read from `<repo>/../shared/contracts/tasker-core/
migrations` (never copied into the project); without that folder the tests that use these
fixtures skip and say why. They are applied in file-name order, each in its own transaction
and recorded in `_sqlx_migrations` as sqlx records them. They were written for PostgreSQL
17/18 with the PGMQ extension, so first:

- `public.uuidv7()` is defined (PostgreSQL 18 has it built in): a UUIDv7 with the 48-bit
  millisecond timestamp, version 7, the RFC 9562 variant and random bits for the rest;
- PGMQ is installed as stack/local/migrate.py installs it for the reference stack (the server's
  extension, else the `pgmq` wheel's SQL), and the migration's
  `CREATE EXTENSION IF NOT EXISTS pgmq CASCADE` line is skipped;
- the database's search path is `tasker, public` (tasker-core's functions use unqualified
  names), set on the template and again on every copy, since CREATE DATABASE ... TEMPLATE does
  not copy a database's settings.

`tasker_core_template` is migrated once per session; `tasker_core_db` is a copy unique to the
test. Both request `pg_url`, so their tests are marked `postgres` (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from stack.local import migrate
from tests.contracts import TASKER_CORE
from tests.postgres_db import _create_database, _drop_database, unique_name

CONTRACTS = TASKER_CORE
MIGRATIONS = CONTRACTS / "migrations"
TEMPLATES = CONTRACTS / "templates"

SEARCH_PATH = "tasker, public"
SKIPPED_LINE = re.compile(r"^\s*CREATE EXTENSION IF NOT EXISTS pgmq\b[^;]*;\s*$",
                          re.IGNORECASE | re.MULTILINE)

UUIDV7_SQL = """
CREATE OR REPLACE FUNCTION public.uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    WITH raw AS (
        SELECT overlay(uuid_send(gen_random_uuid())
                       PLACING substring(int8send(
                           floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                       FROM 1 FOR 6) AS b
    )
    SELECT encode(set_byte(set_byte(b, 6, (get_byte(b, 6) & 15) | 112),
                           8, (get_byte(b, 8) & 63) | 128), 'hex')::uuid
    FROM raw
$$
"""
"""Bytes 0-5: Unix time in ms, big-endian; byte 6's high nibble 0111 (version 7); byte 8's
two high bits 10 (variant); the other 74 bits from gen_random_uuid()."""

SQLX_LEDGER = """
CREATE TABLE IF NOT EXISTS public._sqlx_migrations (
    version bigint PRIMARY KEY,
    description text NOT NULL,
    installed_on timestamptz NOT NULL DEFAULT now(),
    success boolean NOT NULL,
    checksum bytea NOT NULL,
    execution_time bigint NOT NULL
)
"""
"""sqlx's migration ledger, as `sqlx migrate run` creates it."""


@dataclass(frozen=True)
class TaskerCoreMigration:
    """One of tasker-core's migration files."""

    version: int
    description: str
    path: Path

    @property
    def sql(self) -> str:
        """The file as applied here: its `CREATE EXTENSION ... pgmq` line left out."""
        return SKIPPED_LINE.sub("", self.path.read_text())


def migrations(folder: Path = MIGRATIONS) -> list[TaskerCoreMigration]:
    """The `<version>_<description>.sql` files of `folder`, in file-name order."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        version, _, description = path.stem.partition("_")
        found.append(TaskerCoreMigration(int(version), description.replace("_", " "), path))
    return found


def set_search_path(admin_url: str, database: str) -> None:
    """The database's default search path: tasker-core's schema first."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = " + SEARCH_PATH)
                     .format(sql.Identifier(database)))


def build_tasker_core(url: str, folder: Path = MIGRATIONS) -> None:
    """Define uuidv7(), install PGMQ, then apply and record every migration of `folder`."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(UUIDV7_SQL)
        migrate.install_pgmq(conn)
        with conn.transaction():
            conn.execute(SQLX_LEDGER)
        for migration in migrations(folder):
            started = time.perf_counter_ns()
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO public._sqlx_migrations "
                    "(version, description, success, checksum, execution_time) "
                    "VALUES (%s, %s, true, %s, %s)",
                    (migration.version, migration.description,
                     hashlib.sha384(migration.path.read_bytes()).digest(),
                     time.perf_counter_ns() - started))


@pytest.fixture(scope="session")
def tasker_core_template(pg_url: str) -> Iterator[str]:
    """Name of a database built once per session from tasker-core's migrations."""
    if not MIGRATIONS.is_dir():
        pytest.skip(f"tasker-core's migrations are not at {MIGRATIONS} (the shared contracts "
                    "folder beside the repository)")
    name = unique_name("tasker_core_template")
    url = _create_database(pg_url, name)
    try:
        set_search_path(pg_url, name)
        build_tasker_core(url)
        yield name
    finally:
        _drop_database(pg_url, name)


@pytest.fixture
def tasker_core_db(pg_url: str, tasker_core_template: str) -> Iterator[str]:
    """URL of a new database with tasker-core's schema, unique to this test."""
    name = unique_name("tasker_core_test")
    url = _create_database(pg_url, name, template=tasker_core_template)
    set_search_path(pg_url, name)
    yield url
    _drop_database(pg_url, name)
