"""`spanbench runs`: the runs of a runs directory with their metadata, oldest first."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from extract.reports.verdict import EXIT_INPUT
from extract.store.run_index import RunSummary, summarize_runs
from extract.store.runstore import RunStore
from spanbench import strict_json
from spanbench.cli.runs_dir import RunsDirOption, open_store
from spanbench.vocabulary import SUITES


def _as_json(run: RunSummary) -> dict[str, object]:
    return {"run_id": run.run_id, "started_at": run.started_at.isoformat(),
            "commit": run.commit, "suites": list(run.suites), "spans": run.spans,
            "environment": run.environment, "run_json": run.has_run_json}


NO_WRAP = ("run", "commit", "spans")


def _suites(suites: tuple[str, ...]) -> str:
    if set(suites) == set(SUITES):
        return f"all {len(SUITES)}"
    return " ".join(suites) or "-"


def _table(runs: list[RunSummary], runs_dir: RunStore) -> Table:
    table = Table(title=f"runs in {runs_dir}", title_justify="left")
    for column in ("run", "started (UTC)", "commit", "spans", "suites", "environment"):
        table.add_column(column, overflow="fold", no_wrap=column in NO_WRAP,
                         justify="right" if column == "spans" else "left")
    for run in runs:
        table.add_row(run.run_id, run.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                      (run.commit or "unknown")[:10], str(run.spans),
                      _suites(run.suites),
                      run.environment if run.has_run_json else "no run.json")
    return table


def runs(
    runs_dir: RunsDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
) -> None:
    """List the runs with spans: id, start, commit, suites, span count, environment."""
    directory = open_store(runs_dir)
    try:
        found = summarize_runs(directory)
    except (OSError, duckdb.Error) as error:
        Console(stderr=True).print(f"error: cannot read the runs in {directory}: {error}",
                                   highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    if as_json:
        typer.echo(strict_json.dumps([_as_json(run) for run in found], indent=2))
        return
    console = Console()
    if not found:
        console.print(f"no runs with spans in {directory}: run 'spanbench run' first, or pass "
                      "--runs-dir", highlight=False, markup=False)
        return
    console.print(_table(found, directory))
