"""The `spanbench` command: wires the parts together (Typer + Rich).

Command groups each have a section below; add new ones (run, collect, extract) the same way:
a Typer app or command, a thin body that calls the part, and a renderer.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import psycopg
import typer
from rich.console import Console
from rich.table import Table

from extract.analyse.duckdb_runner import NoSpansError, open_runs
from extract.receive import settings as sink_settings
from extract.receive import sink
from extract.receive.receiver_grpc import BindError
from extract.receive.settings import SettingsError, SinkSettings
from extract.receive.sink import Bound, SinkError
from extract.receive.spool import SpoolError
from extract.store.runstore import RunsDirError, RunStore
from spanbench.cli import (
    compare_command,
    export_command,
    import_command,
    query_command,
    report_command,
    run_command,
    runs_command,
    trend_command,
)
from spanbench.cli.runs_dir import RunsDirOutOption, resolve_store
from spanbench.security import redact_url
from spanbench.settings import DATABASE_URL, STACK_HOST
from stack.local import lifecycle, migrate
from stack.local.migrate import MigrationError
from stack.local.pg_runtime import ClusterError
from stack.local.stackfile import StackFileError, StackState
from stack.local.supervisor import SupervisorError
from stack.settings import api_token, database_url, spanbench_home, stack_host

app = typer.Typer(
    name="spanbench",
    help="Measure where the time goes in a PostgreSQL + PGMQ workflow stack.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

STACK_ERRORS = (ClusterError, MigrationError, SupervisorError, StackFileError)
SINK_ERRORS = (SinkError, SpoolError, SettingsError, BindError, RunsDirError)


def _home() -> Path:
    return spanbench_home().absolute()


def _fail(error: Exception) -> typer.Exit:
    errors.print(f"[red]error:[/red] {error}", highlight=False)
    return typer.Exit(1)


def _print_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2))


# ── spanbench run ─────────────────────────────────────────────────────────────

app.command("run")(run_command.run)
app.command("report")(report_command.report)
app.command("compare")(compare_command.compare)
app.command("runs")(runs_command.runs)
app.command("query")(query_command.query)
app.command("trend")(trend_command.trend)
app.add_typer(export_command.app, name="export")
app.command("import")(import_command.import_file)


# ── spanbench stack ───────────────────────────────────────────────────────────

stack_app = typer.Typer(
    help="The reference stack: PostgreSQL + PGMQ, orchestration service, workers.",
    no_args_is_help=True,
)
app.add_typer(stack_app, name="stack")


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


@stack_app.command("up")
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
        raise _fail(error) from error
    if as_json:
        _print_json({"already_running": result.already_running, **result.state.to_json()})
    else:
        _render_stack(result.state, result.already_running)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the services and the database, and forget the stack."""
    try:
        result = lifecycle.down(_home())
    except STACK_ERRORS as error:
        raise _fail(error) from error
    stopped = ", ".join(result.stopped) or "no services"
    killed = f" (killed after timeout: {', '.join(result.killed)})" if result.killed else ""
    database = "; database stopped" if result.cluster_stopped else ""
    console.print(f"stopped {stopped}{killed}{database}", highlight=False)


@stack_app.command("migrate")
def stack_migrate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the migration report.")] = False,
) -> None:
    """Install PGMQ and apply the stack's schema to the database in DATABASE_URL, then exit.

    For deployments that run the services themselves (docker/compose.yaml): run it once
    before starting `python -m stack.engine.orchestration` and `python -m stack.engine.worker`.
    """
    url = database_url()
    if url is None:
        raise _fail(RuntimeError(f"{DATABASE_URL} is not set: point it at the database to "
                                 "migrate (or use 'spanbench stack up' for a throwaway one)"))
    try:
        report = migrate.migrate(url)
    except (MigrationError, psycopg.Error) as error:
        raise _fail(RuntimeError(f"migrating the database in {DATABASE_URL} failed: {error}")) \
            from error
    if as_json:
        _print_json(report.to_json())
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


@stack_app.command("status")
def stack_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Health of every service and of the database; exit 1 unless all are healthy."""
    try:
        report = lifecycle.status(_home())
    except STACK_ERRORS as error:
        if as_json:
            _print_json({"healthy": False, "error": str(error)})
            raise typer.Exit(1) from error
        raise _fail(error) from error
    if as_json:
        _print_json(report)
    else:
        _render_status(report)
    if not report["healthy"]:
        raise typer.Exit(1)


# ── spanbench collect ─────────────────────────────────────────────────────────


def _sink_settings(
    listen: str | None,
    grpc: str | None,
    out: str | None,
    max_backlog_bytes: int | None,
    max_body_bytes: int | None,
    ready_file: Path | None,
    forward: list[str] | None = None,
) -> SinkSettings:
    store: RunStore = resolve_store(out)
    overrides: dict[str, object] = {"out": store.staging_dir, "store": store.s3}
    if forward:
        overrides["forward"] = tuple(forward)
    if listen is not None:
        overrides["http"] = sink_settings.parse_address(listen, "--listen")
    if grpc is not None:
        overrides["grpc"] = None if grpc == "off" else sink_settings.parse_address(grpc, "--grpc")
    if max_backlog_bytes is not None:
        overrides["max_backlog_bytes"] = max_backlog_bytes
    if max_body_bytes is not None:
        overrides["max_body_bytes"] = max_body_bytes
    if ready_file is not None:
        overrides["ready_file"] = ready_file.absolute()
    return SinkSettings.from_env(**overrides)


def _announce(bound: Bound) -> None:
    grpc = bound.grpc or "off"
    typer.echo(f"sink ready: http {bound.http}  grpc {grpc}  out {bound.out}  pid {bound.pid}")
    sys.stdout.flush()


@app.command("collect")
def collect(
    listen: Annotated[
        str | None,
        typer.Option(help="OTLP/HTTP host:port (default 127.0.0.1:4318; port 0: any free port)."),
    ] = None,
    grpc: Annotated[
        str | None, typer.Option(help="OTLP/gRPC host:port or 'off' (default 127.0.0.1:4317).")
    ] = None,
    out: Annotated[
        str | None, typer.Option(
            "--runs-dir", "--out", help="Runs directory (default: SPANBENCH_RUNS_DIR, else "
            ".spanbench/runs), or s3://bucket/prefix (AWS_ENDPOINT_URL_S3, AWS_* credentials).")
    ] = None,
    max_backlog_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="Bytes in flight + not yet in Parquet; past it: 503 "
                     "/ UNAVAILABLE (default 256 MiB)."),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="Largest request, before and after inflating (default 32 MiB)."),
    ] = None,
    ready_file: Annotated[
        Path | None, typer.Option(help="Write the bound addresses here (JSON) once serving.")
    ] = None,
    forward: Annotated[
        list[str] | None,
        typer.Option(help="Also send every acknowledged request to this OTLP/HTTP endpoint "
                     "(e.g. Jaeger's http://localhost:4318), asynchronously; repeatable."),
    ] = None,
) -> None:
    """Run the OTLP sink in the foreground: spans → <runs-dir>/<run_id>/spans/*.parquet.

    Defaults come from SPANBENCH_SINK_* variables (see spanbench/settings.py): 127.0.0.1 only.

    SPANBENCH_SINK_TOKEN set: an export without 'Authorization: Bearer <token>' gets 401.

    SIGTERM or Ctrl-C: stop accepting, convert everything received, exit 0.
    """
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        settings = _sink_settings(listen, grpc, out, max_backlog_bytes, max_body_bytes, ready_file,
                                  forward)
        code = sink.run(settings, _announce)
    except SINK_ERRORS as error:
        raise _fail(error) from error
    raise typer.Exit(code)


# ── spanbench extract ─────────────────────────────────────────────────────────

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


@app.command("extract")
def extract_runs(
    run_ids: Annotated[list[str], typer.Argument(metavar="RUN_ID...", help="Runs to open.")],
    out: RunsDirOutOption = None,
    sql: Annotated[
        str | None, typer.Option(help="Query over the `spans` view (default: a run summary).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
) -> None:
    """Open runs in DuckDB as the `spans` view and print a query's result."""
    try:
        connection = open_runs(resolve_store(out), run_ids)
    except (NoSpansError, ValueError, OSError, duckdb.Error) as error:
        raise _fail(error) from error
    try:
        result = connection.execute(sql or RUN_SUMMARY_SQL)
        columns = [column[0] for column in result.description or ()]
        rows = result.fetchall()
    except duckdb.Error as error:
        raise _fail(f"query over the `spans` view failed: {error}") from error
    finally:
        connection.close()
    if as_json:
        _print_json([{name: _cell(value) for name, value in zip(columns, row, strict=True)}
                     for row in rows])
        return
    table = Table(title=", ".join(run_ids), title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
