"""`spanbench collect`: the OTLP sink in the foreground, writing into the run store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from extract.receive import settings as sink_settings
from extract.receive import sink
from extract.receive.receiver_grpc import BindError
from extract.receive.settings import SettingsError, SinkSettings
from extract.receive.sink import Bound, SinkError
from extract.receive.spool import SpoolError
from extract.store.runstore import RunsDirError
from spanbench.cli.common import fail
from spanbench.cli.runs_dir import resolve_store

SINK_ERRORS = (SinkError, SpoolError, SettingsError, BindError, RunsDirError)


def _sink_settings(
    listen: str | None,
    grpc: str | None,
    out: str | None,
    max_backlog_bytes: int | None,
    max_body_bytes: int | None,
    ready_file: Path | None,
    forward: list[str] | None = None,
) -> SinkSettings:
    overrides: dict[str, object] = {"runs": resolve_store(out)}
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
    typer.echo(f"sink ready: http {bound.http}  grpc {grpc}  out {bound.runs}  pid {bound.pid}")
    sys.stdout.flush()


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
        raise fail(error) from error
    raise typer.Exit(code)
