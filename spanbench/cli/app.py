"""The `spanbench` command: assembles the commands, each in its own module (Typer + Rich).

A new command is a `*_command.py` module here: a Typer command (or a Typer app for a group),
a thin body that calls the part, and a renderer; register it below.
"""

from __future__ import annotations

import typer

from spanbench.cli import (
    baseline_command,
    collect_command,
    compare_command,
    export_command,
    extract_command,
    import_command,
    query_command,
    report_command,
    run_command,
    runs_command,
    stack_command,
    trend_command,
)

app = typer.Typer(
    name="spanbench",
    help="Measure where the time goes in a PostgreSQL + PGMQ workflow stack.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("run")(run_command.run)
app.command("report")(report_command.report)
app.command("compare")(compare_command.compare)
app.add_typer(baseline_command.app, name="baseline")
app.command("runs")(runs_command.runs)
app.command("query")(query_command.query)
app.command("trend")(trend_command.trend)
app.add_typer(export_command.app, name="export")
app.command("import")(import_command.import_file)
app.add_typer(stack_command.app, name="stack")
app.command("collect")(collect_command.collect)
app.command("extract")(extract_command.extract_runs)
