"""`spanbench export jaeger|otlp`: a run's traces as a file other tools open.

jaeger: Jaeger's JSON trace format, which the Jaeger UI opens through "Search → JSON File"
with no backend. otlp: OTLP JSON lines (the Collector file exporter's format), which
`spanbench import` or any OTLP receiver takes back without loss.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated

import duckdb
import typer
from rich.console import Console

from extract.analyse.duckdb_runner import NoSpansError
from extract.export.jaeger import to_jaeger
from extract.export.otlp_json import write_lines
from extract.export.otlp_rebuild import to_requests
from extract.export.selection import Selection, SelectionError, read_traces
from extract.reports.files import LATEST
from spanbench import strict_json
from spanbench.cli.report_command import DEFAULT_OUTPUT_DIR, ReportError, newest_run
from spanbench.cli.runs_dir import RunsDirOutOption, open_store
from spanbench.security import check_file_name, contained

app = typer.Typer(help="Write a run's traces as Jaeger JSON or OTLP JSON lines.",
                  no_args_is_help=True)

RunOption = Annotated[str | None, typer.Option(
    help="Run id (default: the newest run with spans).")]
TraceOption = Annotated[str | None, typer.Option(
    "--trace", help="Only this trace (hex trace id).")]
SlowestOption = Annotated[int | None, typer.Option(
    min=1, help="Only the N traces whose root span lasted longest.")]
ScenarioOption = Annotated[str | None, typer.Option(
    help="Only traces whose root span has this bench.scenario.")]
SuiteOption = Annotated[str | None, typer.Option(
    help="With --slowest, --scenario or neither: only roots of this bench.suite.")]
WarmupOption = Annotated[bool, typer.Option(
    help="Also select warm-up iterations (excluded by default, as in the reports).")]
OutputOption = Annotated[Path | None, typer.Option(
    help="File to write ('-': stdout); default tmp/benchmarks/latest/<format>-<run>[-<selection>]"
         ".<ext>.")]


def _suffix(selection: Selection) -> str:
    if selection.trace_id is not None:
        return f"-trace-{selection.trace_id.lower()}"
    if selection.slowest is not None:
        return f"-slowest-{selection.slowest}"
    if selection.scenario is not None:
        return f"-scenario-{selection.scenario}"
    return ""


def _default_path(fmt: str, run_id: str, selection: Selection, extension: str) -> Path:
    """tmp/benchmarks/latest/<format>-<run>[-<selection>]; ValueError for a name (a scenario or
    trace id from the command line) that is not one plain file name inside that folder."""
    name = check_file_name(f"{fmt}-{run_id}{_suffix(selection)}.{extension}",
                           "export file name")
    return contained(DEFAULT_OUTPUT_DIR / LATEST, name)


def _write(path: Path, fill: Callable[[IO[str]], None]) -> None:
    """Write through `fill` to a temporary file, renamed over `path` once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            fill(out)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _export(fmt: str, extension: str, run: str | None, selection: Selection,
            output: Path | None, runs_dir_option: str | None) -> None:
    console, errors = Console(stderr=True), Console(stderr=True)
    store = open_store(runs_dir_option, exit_code=1)
    try:
        run_id = run or newest_run(store)
        path = output or _default_path(fmt, run_id, selection, extension)
        with console.status(f"reading {selection.describe()} of run {run_id}"):
            traces = read_traces(store, run_id, selection)
            requests = to_requests(traces)
    except (ReportError, SelectionError, NoSpansError, ValueError, duckdb.Error) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    spans = sum(len(trace) for trace in traces)

    def fill(out: IO[str]) -> None:
        if fmt == "jaeger":
            out.write(strict_json.dumps(to_jaeger(requests), ensure_ascii=False))
            out.write("\n")
        else:
            write_lines(requests, out)

    if output == Path("-"):
        fill(typer.get_text_stream("stdout"))
        return
    _write(path, fill)
    console.print(f"wrote {spans} spans in {len(traces)} traces of run {run_id} to {path} "
                  f"({selection.describe()})", highlight=False, markup=False, soft_wrap=True)


def _selection(trace: str | None, slowest: int | None, scenario: str | None,
               suite: str | None, include_warmup: bool) -> Selection:
    try:
        return Selection(trace_id=trace, slowest=slowest, scenario=scenario, suite=suite,
                         include_warmup=include_warmup)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("jaeger")
def jaeger(run: RunOption = None, trace: TraceOption = None, slowest: SlowestOption = None,
           scenario: ScenarioOption = None, suite: SuiteOption = None,
           include_warmup: WarmupOption = False, output: OutputOption = None,
           runs_dir: RunsDirOutOption = None) -> None:
    """Jaeger JSON: open it in the Jaeger UI (Search → JSON File), no backend needed."""
    _export("jaeger", "json", run, _selection(trace, slowest, scenario, suite, include_warmup),
            output, runs_dir)


@app.command("otlp")
def otlp(run: RunOption = None, trace: TraceOption = None, slowest: SlowestOption = None,
         scenario: ScenarioOption = None, suite: SuiteOption = None,
         include_warmup: WarmupOption = False, output: OutputOption = None,
         runs_dir: RunsDirOutOption = None) -> None:
    """OTLP JSON lines (one ExportTraceServiceRequest per trace and line), lossless."""
    _export("otlp", "jsonl", run, _selection(trace, slowest, scenario, suite, include_warmup),
            output, runs_dir)
