"""A query a person names (a queries/ registry name or a .sql file), run over the `spans` view
with DuckDB named parameters only: values are bound, never written into the SQL text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

import queries

PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RUN_ID_PARAM = "run_id"
"""Filled with the run queried when there is exactly one and the query asks for it."""


class QueryInputError(ValueError):
    """The query, its parameters or its file cannot be used; the message says what to do."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def resolve(name_or_file: str) -> queries.Query:
    """An existing file or a *.sql path is read; anything else is looked up in the registry."""
    path = Path(name_or_file)
    if path.is_file() or name_or_file.endswith(".sql"):
        try:
            return queries.Query(path.stem, path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as error:
            raise QueryInputError(f"cannot read query file {path}: {error}") from None
    registry = queries.load()
    if name_or_file not in registry:
        raise QueryInputError(f"no query named {name_or_file!r} (known: "
                              f"{', '.join(sorted(registry))}); or pass a .sql file")
    return registry[name_or_file]


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """`key=value` strings → {key: value}; the value is text, which DuckDB casts where used."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not PARAM_NAME.match(key):
            raise QueryInputError(f"--param {pair!r} is not key=value with key a name "
                                  "(letters, digits, _)")
        if key in params:
            raise QueryInputError(f"--param {key} is given twice")
        params[key] = value
    return params


def run(con: duckdb.DuckDBPyConnection, query: queries.Query, params: Mapping[str, str],
        run_id: str | None = None) -> QueryResult:
    """Every statement of `query` in order; the result is the last one's.

    `run_id` (the run queried, when there is one) fills $run_id where it is not given.
    """
    try:
        statements = con.extract_statements(query.sql)
    except duckdb.Error as error:
        raise QueryInputError(f"{query.source} does not parse: {error}") from None
    if not statements:
        raise QueryInputError(f"{query.source} holds no SQL statement")
    wanted = set().union(*(statement.named_parameters for statement in statements))
    positional = sorted(name for name in wanted if not PARAM_NAME.match(name))
    if positional:
        raise QueryInputError(f"{query.source} uses positional parameters "
                              f"({', '.join('$' + p for p in positional)}): name them ($name)")
    given = dict(params)
    if RUN_ID_PARAM in wanted and RUN_ID_PARAM not in given and run_id is not None:
        given[RUN_ID_PARAM] = run_id
    missing = sorted(wanted - set(given))
    if missing:
        hint = " (several runs are queried: say which)" if RUN_ID_PARAM in missing else ""
        raise QueryInputError(f"{query.source} needs " + ", ".join(
            f"--param {name}=…" for name in missing) + hint)
    unused = sorted(set(params) - wanted)
    if unused:
        raise QueryInputError(f"{query.source} has no parameter {', '.join(unused)} (its "
                              f"parameters: {', '.join(sorted(wanted)) or 'none'})")
    result = None
    for statement in statements:
        values = {name: given[name] for name in statement.named_parameters}
        result = con.execute(statement, values)
    assert result is not None
    columns = tuple(column[0] for column in result.description or ())
    return QueryResult(columns, result.fetchall() if columns else [])
