"""OTLP JSON lines: one ExportTraceServiceRequest per line, as the Collector's file exporter writes.

OTLP/JSON differs from protobuf's own JSON mapping in two ways, both applied here: trace and
span ids are hex (not base64), and enums are integers. Reading goes through
`otlp_decode.decode_json`, the sink's own OTLP/JSON decoder.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import IO, Any, Final

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.receive.otlp_decode import OtlpDecodeError, decode_json
from spanbench import strict_json

_ID_FIELDS: Final = ("traceId", "spanId", "parentSpanId")


def to_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The request as an OTLP/JSON document (camelCase, hex ids, integer enums)."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _ids_to_hex(span)
                for link in span.get("links", ()):
                    _ids_to_hex(link)
    return document


def _ids_to_hex(message: dict[str, Any]) -> None:
    for name in _ID_FIELDS:
        if name in message:
            message[name] = base64.b64decode(message[name]).hex()


def write_lines(requests: Iterable[ExportTraceServiceRequest], out: IO[str]) -> int:
    """Write one JSON document per line; the number of spans written."""
    spans = 0
    for request in requests:
        out.write(strict_json.dumps(to_json(request), non_finite=strict_json.as_name,
                                    separators=(",", ":"), ensure_ascii=False))
        out.write("\n")
        spans += sum(len(scope.spans) for resource in request.resource_spans
                     for scope in resource.scope_spans)
    return spans


def read_lines(lines: Iterable[str]) -> Iterator[ExportTraceServiceRequest]:
    """The requests of an OTLP JSON lines file (blank lines skipped); errors name the line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield decode_json(line.encode())
        except OtlpDecodeError as error:
            raise OtlpDecodeError(f"line {number}: {error}") from error
