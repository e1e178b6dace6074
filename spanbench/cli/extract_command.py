"""`spanbench extract RUN_ID...`: runs opened in DuckDB as the `spans` view, one query."""

from __future__ import annotations

from typing import Annotated

import duckdb
import psycopg
import typer
from rich.table import Table

from extract.analyse.duckdb_runner import NoSpansError, open_runs
from extract.store.runstore import RunStore
from spanbench import settings
from spanbench.cli.common import console, fail, print_json
from spanbench.cli.phase_map_option import PhaseMapOption, read_phase_map
from spanbench.cli.runs_dir import RunsDirOutOption, resolve_store
from spanbench.runner import derivation

DERIVE = "derive"
"""`spanbench extract derive --run ID`: the first argument names the action, not a run."""

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
    run: Annotated[list[str] | None, typer.Option(
        "--run", help="With `derive`: the run whose spans to derive from the deployment's "
                      "record (DATABASE_URL, else the record kept beside the run).")] = None,
    phase_map_file: PhaseMapOption = None,
) -> None:
    """Open runs in DuckDB as the `spans` view and print a query's result; `extract derive
    --run ID` writes a run's derived spans."""
    if run_ids == [DERIVE]:
        derive_runs(resolve_store(out), run or [])
        return
    try:
        connection = open_runs(resolve_store(out), run_ids,
                               phase_map=read_phase_map(phase_map_file))
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


def derive_runs(store: RunStore, run_ids: list[str]) -> None:
    """Derive each run's spans: from DATABASE_URL's database when named, else from the record
    kept beside the run at its end."""
    if not run_ids:
        raise fail("extract derive needs --run ID")
    database_url = settings.env(settings.DATABASE_URL)
    for run_id in run_ids:
        try:
            if database_url is not None:
                config = store.record(run_id).config
                system = (config.system if config is not None else None) or "spanbench"
                outcome = derivation.derive_from_database(store, run_id, database_url, system)
            elif derivation.record_path(store, run_id).is_file():
                outcome = derivation.derive_kept(store, run_id)
            else:
                raise fail(f"run {run_id}: no database named (DATABASE_URL) and no record kept "
                           f"beside the run ({derivation.record_path(store, run_id)})")
        except (NoSpansError, ValueError, OSError, duckdb.Error, psycopg.Error) as error:
            raise fail(f"run {run_id}: {error}") from error
        console.print(f"{run_id}: {derivation.describe(outcome)}", highlight=False)
