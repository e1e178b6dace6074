"""`spanbench query NAME|FILE`: a registry query or a .sql file over the `spans` view of runs."""

from __future__ import annotations

import csv
import enum
import math
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, NoReturn

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from extract.analyse.duckdb_runner import NoSpansError, open_runs
from extract.analyse.user_query import QueryInputError, QueryResult, parse_params, resolve, run
from extract.reports.verdict import EXIT_INPUT
from extract.store.history import open_history
from extract.store.run_index import latest_run
from extract.store.runstore import RunStore
from spanbench import strict_json
from spanbench.cli.phase_map_option import PhaseMapOption, read_phase_map
from spanbench.cli.runs_dir import RunsDirOption, open_store
from spanbench.phase_map import PhaseMap


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def json_value(value: Any) -> Any:
    """A DuckDB value as JSON: numbers stay numbers (NaN and ∞ become null), times ISO 8601."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return strict_json.dumps(json_value(value))
    return str(value)


def write_result(result: QueryResult, output: OutputFormat, title: str) -> None:
    """The result on stdout as a table, CSV (with a header) or a JSON array of objects."""
    if output is OutputFormat.json:
        typer.echo(strict_json.dumps([{name: json_value(value) for name, value
                                in zip(result.columns, row, strict=True)}
                               for row in result.rows], indent=2))
    elif output is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_text(value) for value in row] for row in result.rows)
        sys.stdout.flush()
    else:
        table = Table(title=title, title_justify="left")
        for name in result.columns:
            table.add_column(name, overflow="fold")
        for row in result.rows:
            table.add_row(*(_text(value) for value in row))
        Console().print(table)


def _execute(runs_dir: RunStore, name_or_file: str, run_ids: Sequence[str],
             params: Sequence[str], phase_map: PhaseMap | None = None
             ) -> tuple[QueryResult, list[str]]:
    query = resolve(name_or_file)
    values = parse_params(params)
    chosen = list(run_ids)
    if not chosen:
        latest = latest_run(runs_dir)
        if latest is None:
            raise NoSpansError(f"no run under {runs_dir} has spans: run 'spanbench run' "
                               "first, or pass --runs-dir")
        chosen = [latest]
    con = open_runs(runs_dir, chosen, phase_map=phase_map)
    try:
        open_history(runs_dir, connection=con)
        return run(con, query, values, chosen[0] if len(chosen) == 1 else None), chosen
    finally:
        con.close()


def query(
    name_or_file: Annotated[str, typer.Argument(
        metavar="NAME|FILE", help="A query of queries/ (e.g. phase_stats) or a .sql file.")],
    run_ids: Annotated[list[str] | None, typer.Option(
        "--run", help="Run to query; repeat for several "
        "(default: the newest spanbench run).")] = None,
    params: Annotated[list[str] | None, typer.Option(
        "--param", help="Named parameter key=value, bound as $key; repeat for several. "
        "$run_id defaults to the run queried when there is one.")] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table, csv or json.")] = OutputFormat.table,
    runs_dir: RunsDirOption = None,
    phase_map_file: PhaseMapOption = None,
) -> None:
    """Run a query over the `spans` view of runs (and `history`, once runs are recorded)."""
    directory = open_store(runs_dir)
    try:
        result, chosen = _execute(directory, name_or_file, run_ids or [], params or [],
                                  read_phase_map(phase_map_file))
    except (QueryInputError, NoSpansError, ValueError) as error:
        _fail(str(error))
    except duckdb.Error as error:
        _fail(f"query {name_or_file} failed: {error}")
    write_result(result, output, f"{name_or_file} over {', '.join(chosen)}")


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"error: {message}", highlight=False, markup=False,
                               soft_wrap=True)
    raise typer.Exit(EXIT_INPUT)
