"""The task state query run straight through libpq: `LibpqStateConnection`.

psycopg's `Connection.execute` spends about 100 µs of the caller's CPU per query (a cursor,
parameter adaptation, row making) against some 25 µs through the connection's own libpq
handle (`PGconn.exec_prepared`), and its round trip is 2.5 times as long (measured on a shared
2-core machine: 150 µs against 60 µs). A poller that runs back to back pays that on every
query, in the window it reports and on a machine the deployment shares. Here the query is
prepared once per connection and run with its one parameter, the task uuids, as a text array
literal; the answer's text values are decoded to str (SQL NULL stays None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq


def libpq_sql(query: str) -> bytes:
    """`query` with its one psycopg placeholder (%s) as libpq's $1."""
    if query.count("%s") != 1:
        raise ValueError(f"a task state query takes exactly one %s parameter: {query!r}")
    return query.replace("%s", "$1").encode()


def array_literal(values: Sequence[str]) -> bytes:
    """A PostgreSQL array literal of uuids (nothing in a uuid needs quoting)."""
    for value in values:
        if not all(c.isalnum() or c == "-" for c in value):
            raise ValueError(f"not a uuid: {value!r}")
    return ("{" + ",".join(values) + "}").encode()


class Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


class LibpqStateConnection:
    """A `StateConnection` (instrument.workload.state_poller) over a psycopg connection's
    libpq handle: `execute(query, (uuids,))` prepares `query` the first time."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._statements: dict[str, bytes] = {}

    def execute(self, query: str, params: Sequence[Sequence[str]]) -> Rows:
        [uuids] = params
        pgconn = self._conn.pgconn
        result = pgconn.exec_prepared(self._statement(query), [array_literal(uuids)])
        _check(result, pq.ExecStatus.TUPLES_OK)
        return Rows([tuple(_text(result.get_value(row, column))
                           for column in range(result.nfields))
                     for row in range(result.ntuples)])

    def close(self) -> None:
        self._conn.close()

    def _statement(self, query: str) -> bytes:
        name = self._statements.get(query)
        if name is None:
            name = f"spanbench_state_{len(self._statements)}".encode()
            _check(self._conn.pgconn.prepare(name, libpq_sql(query)), pq.ExecStatus.COMMAND_OK)
            self._statements[query] = name
        return name


def _check(result: pq.abc.PGresult, expected: pq.ExecStatus) -> None:
    if result.status != expected:
        message = (result.error_message or b"").decode(errors="replace").strip()
        raise psycopg.OperationalError(message or f"libpq answered {result.status!r}")


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()
