"""PostgreSQL for tests: one throwaway cluster per session, fresh databases per test.

`pg_url` is the session's database (DATABASE_URL when set, else a cluster started by
stack.local.postgres in a temporary home). `fresh_db` is a new, migrated database unique to the
test, copied from a template migrated once per session. A test that uses any of these fixtures
is marked `postgres` (tests/conftest.py).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import conninfo, errors, sql

from stack.local import migrate, postgres


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (URL form kept when given as a URL)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return parts._replace(path=f"/{name}").geturl()
    return conninfo.make_conninfo(url, dbname=name)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's database server (DATABASE_URL, or a throwaway cluster)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    home = tmp_path_factory.mktemp("pg-home")
    info = postgres.ensure_started(home, relaxed=True)
    try:
        yield info.database_url
    finally:
        postgres.remove(home)


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    deadline = time.monotonic() + 10
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while True:
            try:
                conn.execute(statement)
                return with_database(admin_url, name)
            except errors.ObjectInUse:  # the template's last session is still closing
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def make_database(pg_url: str) -> Iterator[Callable[[], str]]:
    """A factory of new empty databases (unique names), dropped after the test."""
    names: list[str] = []

    def make() -> str:
        name = unique_name("spanbench_test")
        names.append(name)
        return _create_database(pg_url, name)

    yield make
    for name in names:
        _drop_database(pg_url, name)


@pytest.fixture(scope="session")
def migrated_template(pg_url: str) -> Iterator[str]:
    """Name of a database migrated once per session with stack/engine/sql, used as a template."""
    name = unique_name("spanbench_template")
    url = _create_database(pg_url, name)
    try:
        migrate.migrate(url)
        yield name
    finally:
        _drop_database(pg_url, name)


@pytest.fixture
def fresh_db(pg_url: str, migrated_template: str) -> Iterator[str]:
    """URL of a brand-new database with PGMQ and the stack schema, unique to this test."""
    name = unique_name("spanbench_test")
    url = _create_database(pg_url, name, template=migrated_template)
    yield url
    _drop_database(pg_url, name)


@pytest.fixture(scope="module")
def module_db(pg_url: str, migrated_template: str) -> Iterator[str]:
    """Like `fresh_db`, shared by the tests of one module (for a stack started once per module)."""
    name = unique_name("spanbench_module")
    url = _create_database(pg_url, name, template=migrated_template)
    yield url
    _drop_database(pg_url, name)
