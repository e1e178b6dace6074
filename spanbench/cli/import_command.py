"""`spanbench import FILE`: send exported traces (OTLP JSON lines or Jaeger JSON) to an OTLP
receiver, or convert a Jaeger JSON file to OTLP JSON lines."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console

from extract.export.jaeger import JaegerFormatError, from_jaeger
from extract.export.otlp_json import read_lines, write_lines
from extract.receive.otlp_decode import OtlpDecodeError, decode_json
from extract.receive.otlp_post import PostError, post_requests
from spanbench import settings

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


class Format(StrEnum):
    auto = "auto"
    jaeger = "jaeger"
    otlp = "otlp"


def detect(text: str) -> Format:
    """jaeger for a Jaeger JSON document, otlp for OTLP JSON (one document or JSON lines)."""
    try:
        document = json.loads(text)
    except ValueError:
        return Format.otlp  # several lines: JSON lines
    if isinstance(document, dict) and ("data" in document or "spans" in document):
        return Format.jaeger
    return Format.otlp


def load(path: Path, fmt: Format = Format.auto) -> list[ExportTraceServiceRequest]:
    """The OTLP requests a file holds; JaegerFormatError / OtlpDecodeError name the problem."""
    text = path.read_text(encoding="utf-8")
    if fmt is Format.auto:
        fmt = detect(text)
    if fmt is Format.jaeger:
        return from_jaeger(json.loads(text))
    if text.lstrip().startswith("{") and "\n" not in text.strip():
        return [decode_json(text.encode())]
    return list(read_lines(text.splitlines()))


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="An OTLP JSON (lines) or Jaeger JSON file.")],
    endpoint: Annotated[str | None, typer.Option(
        help="OTLP/HTTP base URL (default $OTEL_EXPORTER_OTLP_ENDPOINT, else "
             f"{DEFAULT_ENDPOINT}).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="The file's format.")] = Format.auto,
    to_otlp: Annotated[Path | None, typer.Option(
        help="Write OTLP JSON lines here instead of sending.")] = None,
) -> None:
    """Send a file's spans to an OTLP receiver (a running 'spanbench collect', a Collector,
    Jaeger), or with --to-otlp convert it to OTLP JSON lines.

    Requests carry OTEL_EXPORTER_OTLP_HEADERS (e.g. authorization=Bearer%20<sink token>)."""
    console = Console(stderr=True)
    try:
        requests = load(file, fmt)
    except (JaegerFormatError, OtlpDecodeError, ValueError) as error:
        console.print(f"error: {file}: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if to_otlp is not None:
        with to_otlp.open("w", encoding="utf-8") as out:
            spans = write_lines(requests, out)
        console.print(f"wrote {spans} spans to {to_otlp}", highlight=False, markup=False)
        return
    target = endpoint or settings.env(settings.OTEL_EXPORTER_OTLP_ENDPOINT) or DEFAULT_ENDPOINT
    try:
        result = post_requests(target, requests, headers=settings.otlp_headers())
    except PostError as error:
        console.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    rejected = f", {result.rejected_spans} rejected" if result.rejected_spans else ""
    console.print(f"sent {result.spans} spans in {result.requests} requests to {target}"
                  f"{rejected}", highlight=False, markup=False)
    if result.rejected_spans:
        raise typer.Exit(1)
