"""Install PGMQ and apply the versioned schema files (stack/engine/sql/NNN_name.sql).

Each file runs in its own transaction and is recorded in tasker.schema_migrations with
its checksum; an applied file whose content changed stops the migration. Concurrent
migrators serialise on an advisory lock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import psycopg
from pgmq.install import PGMQInstallError, get_embedded_sql_version, install_pgmq_from_sql
from psycopg import sql

from spanbench.security import redact_url

PgmqMode = Literal["extension", "sql"]

ADVISORY_LOCK_KEY = 0x5350414E  # "SPAN"
FILE_PATTERN = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
PGMQ_COMMENT = "pgmq {version} installed from SQL by spanbench"
PGMQ_COMMENT_PATTERN = re.compile(r"^pgmq (\S+) installed from SQL")

CREATE_LEDGER = """
CREATE SCHEMA IF NOT EXISTS tasker;
CREATE TABLE IF NOT EXISTS tasker.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class MigrationError(RuntimeError):
    """The schema could not be brought up to date."""


@dataclass(frozen=True)
class Migration:
    """One schema file."""

    version: int
    name: str
    filename: str
    sql: str
    checksum: str


@dataclass(frozen=True)
class MigrationReport:
    """What a migration run found and did."""

    pgmq_mode: PgmqMode
    pgmq_version: str
    applied: tuple[int, ...]
    current_version: int

    def to_json(self) -> dict[str, object]:
        return {
            "pgmq_mode": self.pgmq_mode,
            "pgmq_version": self.pgmq_version,
            "applied": list(self.applied),
            "current_version": self.current_version,
        }


def default_sql_dir() -> Traversable:
    """The schema files shipped in the stack package."""
    return files("stack.engine") / "sql"


def discover(sql_dir: Traversable | Path) -> list[Migration]:
    """The NNN_name.sql files of `sql_dir`, sorted by version; a misnamed .sql file is an error."""
    migrations: dict[int, Migration] = {}
    if not sql_dir.is_dir():
        raise MigrationError(f"schema directory {sql_dir} does not exist")
    for entry in sql_dir.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = FILE_PATTERN.match(entry.name)
        if match is None:
            raise MigrationError(
                f"{entry.name} in {sql_dir} is not named NNN_name.sql: "
                "rename it (e.g. 004_views.sql)"
            )
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(
                f"{entry.name} and {migrations[version].filename} share version {version}: "
                "renumber one of them"
            )
        content = entry.read_bytes()
        migrations[version] = Migration(
            version=version,
            name=match.group(2),
            filename=entry.name,
            sql=content.decode("utf-8"),
            checksum=hashlib.sha256(content).hexdigest(),
        )
    return [migrations[version] for version in sorted(migrations)]


def installed_pgmq(conn: psycopg.Connection) -> tuple[PgmqMode, str] | None:
    """How PGMQ is installed in this database and its version; None when it is not."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone()
    if row is not None:
        return "extension", str(row[0])
    if conn.execute("SELECT to_regclass('pgmq.meta')").fetchone() != (None,):
        comment = conn.execute(
            "SELECT obj_description('pgmq'::regnamespace, 'pg_namespace')"
        ).fetchone()
        match = PGMQ_COMMENT_PATTERN.match(str(comment[0] if comment else ""))
        return "sql", match.group(1) if match else "unknown"
    return None


def install_pgmq(conn: psycopg.Connection) -> tuple[PgmqMode, str]:
    """Install PGMQ once: as an extension where the server has it, else from the bundled SQL."""
    installed = installed_pgmq(conn)
    if installed is not None:
        return installed
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pgmq'"
    ).fetchone()
    if available is not None:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone()
        return "extension", str(row[0]) if row else "unknown"
    version = get_embedded_sql_version()
    with conn.transaction():
        install_pgmq_from_sql(conn=conn)
        comment_sql = sql.SQL("COMMENT ON SCHEMA pgmq IS {}")
        conn.execute(comment_sql.format(sql.Literal(PGMQ_COMMENT.format(version=version))))
    return "sql", version


def _check_applied(
    applied: dict[int, tuple[str, str]], migrations: list[Migration], sql_dir: object
) -> None:
    by_version = {migration.version: migration for migration in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has schema version {version} ({name}) that {sql_dir} lacks: "
                "it was migrated by another checkout; use a fresh database"
            )
        if migration.checksum != checksum or migration.name != name:
            raise MigrationError(
                f"{migration.filename} changed after it was applied (checksum mismatch): "
                "restore it and put the change in a new NNN_name.sql file, or use a fresh database"
            )


def migrate(database_url: str, sql_dir: Traversable | Path | None = None) -> MigrationReport:
    """Install PGMQ and apply every pending schema file of `sql_dir` (default: stack/engine/sql)."""
    directory = default_sql_dir() if sql_dir is None else sql_dir
    migrations = discover(directory)
    try:
        conn = psycopg.connect(database_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split())
        raise MigrationError(
            f"cannot connect to {redact_url(database_url)} ({reason}): fix DATABASE_URL, or "
            "unset it so that 'spanbench stack up' starts a throwaway cluster"
        ) from error
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            try:
                pgmq_mode, pgmq_version = install_pgmq(conn)
                with conn.transaction():
                    conn.execute(CREATE_LEDGER)
                rows = conn.execute(
                    "SELECT version, name, checksum FROM tasker.schema_migrations"
                ).fetchall()
            except (psycopg.Error, PGMQInstallError) as error:
                raise MigrationError(
                    f"installing PGMQ or the migration ledger failed: {error}"
                ) from error
            applied = {int(version): (name, checksum) for version, name, checksum in rows}
            _check_applied(applied, migrations, directory)
            newly = _apply_pending(conn, migrations, applied)
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    current = max([*applied, *newly], default=0)
    return MigrationReport(pgmq_mode, pgmq_version, tuple(newly), current)


def _apply_pending(
    conn: psycopg.Connection, migrations: list[Migration], applied: dict[int, tuple[str, str]]
) -> list[int]:
    newly: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO tasker.schema_migrations (version, name, checksum) "
                    "VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
        except psycopg.Error as error:
            raise MigrationError(f"{migration.filename} failed: {error}".strip()) from error
        newly.append(migration.version)
    return newly
