"""`spanbench trend [SUITE[/SCENARIO]]`: each benchmark's median and p95 run by run, from the
history `spanbench run` and `spanbench report` record (extract/store/history.py), with where a
change beyond the noise threshold began."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import UTC
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from extract.analyse.trend import TrendRow, load_trend
from extract.reports.verdict import EXIT_INPUT
from extract.store.history import history_dir
from spanbench import strict_json
from spanbench.cli.query_command import json_value
from spanbench.cli.runs_dir import RunsDirOption, open_store
from spanbench.units import format_ns


class TrendFormat(enum.StrEnum):
    table = "table"
    json = "json"


def marker(row: TrendRow, newest: bool) -> str:
    """Where a change began (▲ slower, ▼ faster); the newest run off its reference, unconfirmed."""
    if row.change is None:
        return ""
    if row.change_began:
        return f"{'▲' if row.direction > 0 else '▼'} change began ({row.change:+.1%})"
    if newest and row.direction != 0:
        return f"? {row.change:+.1%}, unconfirmed until the next run"
    return ""


def benchmarks(rows: Sequence[TrendRow]) -> list[list[TrendRow]]:
    """The rows split per benchmark (they come ordered by benchmark, then start time)."""
    groups: list[list[TrendRow]] = []
    for row in rows:
        if groups and (groups[-1][0].suite, groups[-1][0].scenario, groups[-1][0].phase) == (
                row.suite, row.scenario, row.phase):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def trend_table(runs: Sequence[TrendRow]) -> Table:
    """One benchmark's runs, oldest first."""
    first = runs[0]
    table = Table(title=f"{first.suite}/{first.scenario} {first.phase}", title_justify="left")
    for column in ("date (UTC)", "commit", "n", "median", "p95", "vs ref", "bar", "change"):
        table.add_column(column, overflow="fold", no_wrap=column != "change",
                         justify="right" if column in ("n", "median", "p95", "vs ref", "bar")
                         else "left")
    for index, row in enumerate(runs):
        table.add_row(
            row.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            (row.git_commit or "unknown")[:10], str(row.n),
            format_ns(row.median_ns), format_ns(row.p95_ns),
            "" if row.change is None else f"{row.change:+.1%}",
            f"{row.threshold:.1%}",
            marker(row, newest=index == len(runs) - 1))
    return table


def trend(
    benchmark: Annotated[str | None, typer.Argument(
        metavar="[SUITE[/SCENARIO]]", help="Only this suite, or one scenario of it.")] = None,
    runs_dir: RunsDirOption = None,
    output: Annotated[TrendFormat, typer.Option(
        "--format", help="table or json.")] = TrendFormat.table,
) -> None:
    """Each benchmark's median and p95 by date and commit; marks where a change began.

    A change began at a run whose median is beyond its bar from the median of the 5 runs before
    it on the same host, when the next run confirms it. The bar is 3 × the spread of the 20 runs
    before it (from 3 on), never below the noise floor (5%, sql_functions 15%).
    """
    suite, _, scenario = (benchmark or "").partition("/")
    directory = open_store(runs_dir)
    errors = Console(stderr=True)
    try:
        rows = load_trend(directory, suite or None, scenario or None)
    except (OSError, duckdb.Error) as error:
        errors.print(f"error: cannot read the history in {history_dir(directory)}: {error}",
                     highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    if not rows:
        what = f" of {benchmark}" if benchmark else ""
        errors.print(f"error: no history{what} in {history_dir(directory)}: 'spanbench run' and "
                     "'spanbench report --run ID' record a run's statistics there",
                     highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT)
    if output is TrendFormat.json:
        documents = [json_value(dataclasses.asdict(row)) for row in rows]
        typer.echo(strict_json.dumps(documents, indent=2))
        return
    console = Console()
    for runs in benchmarks(rows):
        console.print(trend_table(runs))
