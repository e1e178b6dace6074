"""`spanbench compare BASE CURRENT`: the baseline comparison (docs/formats.md); each side a
baseline name or a run id."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console

from extract.analyse.baseline_compare import compare_baselines, save_baseline
from extract.analyse.duckdb_runner import NoSpansError
from extract.reports.baseline_table import baseline_markdown
from extract.reports.gather import run_history_spreads
from extract.reports.verdict import EXIT_FAILED, EXIT_INPUT, EXIT_OK
from extract.store.baselines import baseline_runs, load_metadata
from extract.store.runstore import RunStore
from spanbench.cli.report_command import ReportError, baselines_dir
from spanbench.cli.runs_dir import RunsDirOutOption, open_store
from spanbench.security import check_name


def _kind(name: str, runs_dir: RunStore) -> str:
    try:
        check_name(name, "baseline name or run id")
    except ValueError as error:
        raise ReportError(str(error)) from None
    if (baselines_dir() / name).is_dir():
        return "baseline"
    if name in runs_dir.run_ids():
        return "run"
    raise ReportError(f"{name!r} is neither a baseline under {baselines_dir()} nor a run with "
                      f"spans under {runs_dir}")


def _first_run(runs_dir: RunStore, current: str, folder: Path) -> str | None:
    """The run whose history on its host calibrates the bar: CURRENT when it is a run, else
    the oldest of the baseline's runs still in the runs directory (None: none is)."""
    if _kind(current, runs_dir) == "run":
        return current
    present = set(runs_dir.run_ids())
    runs = [entry for entry in baseline_runs(folder) if entry.get("run_id") in present]
    return min(runs, key=lambda entry: entry.get("date") or "")["run_id"] if runs else None


def label(folder: Path) -> str:
    """`<name> (<date>, <commit>)` from a baseline's metadata, as the comparison heads its table."""
    meta = load_metadata(folder)
    date = str(meta.get("date") or "")[:10] or "undated"
    commit = str(meta.get("commit") or "unknown")[:12]
    return f"{meta.get('name', folder.name)} ({date}, {commit})"


def comparisons(runs_dir: RunStore, base: str, current: str) -> tuple[list[Any], str, str]:
    """CURRENT against BASE and both sides' labels; a run is read as a throwaway baseline."""
    if base == current:
        raise ReportError("BASE and CURRENT are the same: name two baselines or runs")
    with tempfile.TemporaryDirectory(prefix="spanbench-compare-") as scratch:
        folders = []
        for name in (base, current):
            if _kind(name, runs_dir) == "baseline":
                folders.append(baselines_dir() / name)
            else:
                folders.append(save_baseline(runs_dir, Path(scratch), name, name))
        first = _first_run(runs_dir, current, folders[1])
        history = {} if first is None else run_history_spreads(runs_dir, first)
        rows = compare_baselines(folders[0], folders[1], history=history)
        return rows, label(folders[0]), label(folders[1])


def compare(
    base: Annotated[str, typer.Argument(help="Baseline name or run id to compare against.")],
    current: Annotated[str, typer.Argument(help="Baseline name or run id being judged.")],
    runs_dir: RunsDirOutOption = None,
) -> None:
    """Print the baseline comparison (markdown); exit 1 when a benchmark regressed."""
    errors = Console(stderr=True)
    store = open_store(runs_dir)
    try:
        rows, base_label, current_label = comparisons(store, base, current)
    except (ReportError, NoSpansError, ValueError, OSError, duckdb.Error) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    typer.echo(baseline_markdown(rows, base_label, current_label), nl=False)
    regressed = [row for row in rows if row.status == "Regressed"]
    for row in regressed:
        errors.print(f"REGRESSED {row.suite}/{row.scenario} {row.phase} "
                     f"{row.change:+.1%}", highlight=False, markup=False)
    raise typer.Exit(EXIT_FAILED if regressed else EXIT_OK)
