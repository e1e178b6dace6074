"""`spanbench baseline add NAME RUN...`: a baseline of several runs, so that the comparison
knows how far the same code moves from run to run (extract/analyse/baseline_compare.py)."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer
from rich.console import Console

from extract.analyse.baseline_compare import add_runs
from extract.analyse.duckdb_runner import NoSpansError
from extract.reports.verdict import EXIT_INPUT
from extract.store.baselines import baseline_runs
from spanbench.cli.report_command import baselines_dir
from spanbench.cli.runs_dir import RunsDirOutOption, open_store

app = typer.Typer(help="Keep runs as a named baseline.", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The baseline; created when it does not exist.")],
    run_ids: Annotated[list[str], typer.Argument(
        metavar="RUN...", help="Runs to add (a run it holds already is replaced).")],
    runs_dir: RunsDirOutOption = None,
) -> None:
    """Add runs to baseline NAME: its spread between runs then sets the comparison's bar."""
    store = open_store(runs_dir)
    try:
        folder = add_runs(store, baselines_dir(), name, run_ids)
    except (NoSpansError, ValueError, OSError, duckdb.Error) as error:
        Console(stderr=True).print(f"error: {error}", highlight=False, markup=False,
                                   soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    held = [str(run["run_id"]) for run in baseline_runs(folder)]
    typer.echo(f"baseline {name!r} holds {len(held)} runs: {', '.join(held)} ({folder})")
