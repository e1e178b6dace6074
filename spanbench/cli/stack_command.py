"""`spanbench stack up|down|migrate|status`: the reference stack on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.table import Table

from spanbench.cli.common import console, errors, fail, print_json
from spanbench.security import redact_url
from spanbench.settings import DATABASE_URL, STACK_HOST
from stack.local import lifecycle, migrate
from stack.local.migrate import MigrationError
from stack.local.pg_runtime import ClusterError
from stack.local.stackfile import StackFileError, StackState
from stack.local.supervisor import SupervisorError
from stack.settings import api_token, database_url, spanbench_home, stack_host

app = typer.Typer(
    help="The reference stack: PostgreSQL + PGMQ, orchestration service, workers.",
    no_args_is_help=True,
)

STACK_ERRORS = (ClusterError, MigrationError, SupervisorError, StackFileError)


def _home() -> Path:
    return spanbench_home().absolute()


def _render_stack(state: StackState, already_running: bool) -> None:
    title = "stack already up" if already_running else "stack up"
    table = Table(title=title, title_justify="left")
    for column in ("service", "url", "pid"):
        table.add_column(column, overflow="fold")
    for name, service in state.services.items():
        table.add_row(name, service.url, str(service.pid))
    console.print(table)
    log_dirs = sorted({str(service.log_file.parent) for service in state.services.values()})
    console.print(f"logs      {', '.join(log_dirs)}/<service>.log", highlight=False)
    settings = state.server_settings
    durability = ", ".join(
        f"{key}={settings[key]}"
        for key in ("fsync", "synchronous_commit", "full_page_writes")
        if key in settings
    )
    console.print(f"database  {redact_url(state.database_url)} (full URL: stack status --json)",
                  highlight=False)
    console.print(
        f"postgres  {settings.get('server_version', '?')}  {durability}", highlight=False
    )
    console.print(
        f"pgmq      {state.pgmq['version']} ({state.pgmq['mode']}), "
        f"schema version {state.schema_version}",
        highlight=False,
    )


@app.command("up")
def stack_up(
    orchestrators: Annotated[int, typer.Option(min=1, help="Orchestration processes.")] = 1,
    workers: Annotated[int, typer.Option(min=0, help="Worker processes.")] = 2,
    relaxed: Annotated[
        bool, typer.Option(help="fsync, synchronous_commit and full_page_writes off.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print stack.json.")] = False,
    host: Annotated[str | None, typer.Option(
        help="Address the services listen on (default 127.0.0.1, or SPANBENCH_STACK_HOST); "
             "0.0.0.0 exposes them: set SPANBENCH_STACK_TOKEN too.")] = None,
    orchestration_module: Annotated[str, typer.Option(hidden=True)] = (
        lifecycle.ORCHESTRATION_MODULE
    ),
    worker_module: Annotated[str, typer.Option(hidden=True)] = lifecycle.WORKER_MODULE,
) -> None:
    """Start (or reuse) the database, migrate it, start the services."""
    options = lifecycle.StackOptions(
        orchestrators=orchestrators,
        workers=workers,
        relaxed=relaxed,
        orchestration_module=orchestration_module,
        worker_module=worker_module,
        environment={STACK_HOST: host} if host else {},
    )
    chosen_host = stack_host(host)
    if chosen_host not in ("127.0.0.1", "::1", "localhost") and api_token() is None:
        errors.print(f"[yellow]warning:[/yellow] the services listen on {chosen_host} with an "
                     "open API: set SPANBENCH_STACK_TOKEN to require a token", highlight=False)
    try:
        result = lifecycle.up(_home(), options)
    except STACK_ERRORS as error:
        raise fail(error) from error
    if as_json:
        print_json({"already_running": result.already_running, **result.state.to_json()})
    else:
        _render_stack(result.state, result.already_running)


@app.command("down")
def stack_down() -> None:
    """Stop the services and the database, and forget the stack."""
    try:
        result = lifecycle.down(_home())
    except STACK_ERRORS as error:
        raise fail(error) from error
    stopped = ", ".join(result.stopped) or "no services"
    killed = f" (killed after timeout: {', '.join(result.killed)})" if result.killed else ""
    database = "; database stopped" if result.cluster_stopped else ""
    console.print(f"stopped {stopped}{killed}{database}", highlight=False)


@app.command("migrate")
def stack_migrate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the migration report.")] = False,
) -> None:
    """Install PGMQ and apply the stack's schema to the database in DATABASE_URL, then exit.

    For deployments that run the services themselves (docker/compose.yaml): run it once
    before starting `python -m stack.engine.orchestration` and `python -m stack.engine.worker`.
    """
    url = database_url()
    if url is None:
        raise fail(RuntimeError(f"{DATABASE_URL} is not set: point it at the database to "
                                 "migrate (or use 'spanbench stack up' for a throwaway one)"))
    try:
        report = migrate.migrate(url)
    except (MigrationError, psycopg.Error) as error:
        raise fail(RuntimeError(f"migrating the database in {DATABASE_URL} failed: {error}")) \
            from error
    if as_json:
        print_json(report.to_json())
        return
    applied = ", ".join(f"{n:03d}" for n in report.applied) or "none (already current)"
    console.print(f"pgmq {report.pgmq_version} ({report.pgmq_mode}); schema version "
                  f"{report.current_version}; applied now: {applied}", highlight=False)


def _render_status(report: dict[str, object]) -> None:
    health = report["health"]
    assert isinstance(health, dict)
    table = Table(title="stack status", title_justify="left")
    for column in ("service", "url", "pid", "health"):
        table.add_column(column, overflow="fold")
    for name, entry in health["services"].items():
        verdict = "[green]healthy[/green]" if entry["healthy"] else (
            f"[red]{entry['status_code'] or entry['error']}[/red]"
        )
        table.add_row(name, entry["url"], str(entry["pid"]), verdict)
    database = health["database"]
    db_verdict = "[green]reachable[/green]" if database["reachable"] else (
        f"[red]{database['error']}[/red]"
    )
    table.add_row("database", str(report["database_url"]), "", db_verdict)
    console.print(table)


@app.command("status")
def stack_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Health of every service and of the database; exit 1 unless all are healthy."""
    try:
        report = lifecycle.status(_home())
    except STACK_ERRORS as error:
        if as_json:
            print_json({"healthy": False, "error": str(error)})
            raise typer.Exit(1) from error
        raise fail(error) from error
    if as_json:
        print_json(report)
    else:
        _render_status(report)
    if not report["healthy"]:
        raise typer.Exit(1)
