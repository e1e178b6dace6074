"""`spanbench extract RUN_ID...`: runs opened in DuckDB as the `spans` view, one query."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer
from rich.table import Table

from extract.analyse.duckdb_runner import NoSpansError, open_runs
from spanbench.cli.common import console, fail, print_json
from spanbench.cli.runs_dir import RunsDirOutOption, resolve_store

RUN_SUMMARY_SQL = """
SELECT coalesce(RunId, 'unassigned') AS run_id,
       count(*) AS spans,
       count(DISTINCT TraceId) AS traces,
       string_agg(DISTINCT SpanName, ', ' ORDER BY SpanName) AS span_names,
       round(epoch(max(EndTimestamp)) - epoch(min(Timestamp)), 3) AS wall_s
FROM spans
GROUP BY ALL
ORDER BY run_id
"""


def _cell(value: object) -> object:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def extract_runs(
    run_ids: Annotated[list[str], typer.Argument(metavar="RUN_ID...", help="Runs to open.")],
    out: RunsDirOutOption = None,
    sql: Annotated[
        str | None, typer.Option(help="Query over the `spans` view (default: a run summary).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
) -> None:
    """Open runs in DuckDB as the `spans` view and print a query's result."""
    try:
        connection = open_runs(resolve_store(out), run_ids)
    except (NoSpansError, ValueError, OSError, duckdb.Error) as error:
        raise fail(error) from error
    try:
        result = connection.execute(sql or RUN_SUMMARY_SQL)
        columns = [column[0] for column in result.description or ()]
        rows = result.fetchall()
    except duckdb.Error as error:
        raise fail(f"query over the `spans` view failed: {error}") from error
    finally:
        connection.close()
    if as_json:
        print_json([{name: _cell(value) for name, value in zip(columns, row, strict=True)}
                     for row in rows])
        return
    table = Table(title=", ".join(run_ids), title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
