"""The runs directory every command takes: one option, resolved through the run store."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from extract.reports.verdict import EXIT_INPUT
from extract.store.runstore import RunsDirError, RunStore
from stack.settings import spanbench_home

HELP = ("Runs directory, or s3://bucket/prefix (default: SPANBENCH_RUNS_DIR, else its older "
        "name SPANBENCH_SINK_OUT, else <SPANBENCH_HOME>/runs, i.e. .spanbench/runs).")

RunsDirOption = Annotated[str | None, typer.Option("--runs-dir", help=HELP)]
"""--runs-dir, for the commands that never had --out (runs, query, trend)."""
RunsDirOutOption = Annotated[str | None, typer.Option("--runs-dir", "--out", help=HELP)]
"""--runs-dir with its older spelling --out, for the commands that had it."""


def resolve_store(runs_dir: str | os.PathLike[str] | None) -> RunStore:
    """The store the option names (RunStore.resolve under SPANBENCH_HOME); RunsDirError."""
    return RunStore.resolve(runs_dir, home=spanbench_home())


def open_store(runs_dir: str | os.PathLike[str] | None, exit_code: int = EXIT_INPUT) -> RunStore:
    """resolve_store, or the error on stderr and exit `exit_code`."""
    try:
        return resolve_store(runs_dir)
    except RunsDirError as error:
        Console(stderr=True).print(f"error: --runs-dir: {error}", highlight=False, markup=False,
                                   soft_wrap=True)
        raise typer.Exit(exit_code) from None
