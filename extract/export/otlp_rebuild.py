"""Span rows read from Parquet back into OTLP `ExportTraceServiceRequest` messages.

Everything the store keeps comes back with its type: ids, parent, name, kind, start and end
in nanoseconds, trace state, status, attributes (the *AttributeTypes maps say each value's
type), events, links with their attributes, resource attributes, scope name and version.
The store does not keep span flags, dropped-item counts, schema URLs or scope attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from extract.receive.columns import (
    SPAN_KINDS,
    STATUS_CODES,
    any_value,
    decode_value,
)

_KIND_NUMBERS: Final = {name: number for number, name in SPAN_KINDS.items()}
_STATUS_NUMBERS: Final = {name: number for number, name in STATUS_CODES.items()}


def stored_value(text: str, type_name: str | None) -> AnyValue:
    """An attribute's AnyValue from its stored text and type name (None: a string)."""
    if type_name == "strindex":
        return AnyValue(string_value_strindex=int(text))
    return any_value(decode_value(text, type_name))


def key_values(values: Mapping[str, str] | None,
               types: Mapping[str, str] | None) -> list[KeyValue]:
    """A stored attribute map and its type map as OTLP KeyValues, in stored order."""
    types = types or {}
    return [KeyValue(key=key, value=stored_value(text, types.get(key)))
            for key, text in (values or {}).items()]


def _span(row: Mapping[str, Any]) -> Span:
    kind = _KIND_NUMBERS.get(row["SpanKind"])
    code = _STATUS_NUMBERS.get(row["StatusCode"])
    if kind is None or code is None:
        raise ValueError(f"span {row['SpanId']} has SpanKind {row['SpanKind']!r} / StatusCode "
                         f"{row['StatusCode']!r}, which OTLP has no number for")
    span = Span(
        trace_id=bytes.fromhex(row["TraceId"]),
        span_id=bytes.fromhex(row["SpanId"]),
        parent_span_id=bytes.fromhex(row["ParentSpanId"] or ""),
        trace_state=row["TraceState"] or "",
        name=row["SpanName"],
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=row["start_ns"],
        end_time_unix_nano=row["end_ns"],
    )
    span.attributes.extend(key_values(row["SpanAttributes"], row["SpanAttributeTypes"]))
    span.status.code = code  # type: ignore[assignment]
    span.status.message = row["StatusMessage"] or ""
    for event in row["events"] or ():
        added = span.events.add(time_unix_nano=event["time_ns"], name=event["name"])
        added.attributes.extend(key_values(event["attributes"], event["types"]))
    for link in row["links"] or ():
        added = span.links.add(trace_id=bytes.fromhex(link["TraceId"]),
                               span_id=bytes.fromhex(link["SpanId"]),
                               trace_state=link["TraceState"] or "")
        added.attributes.extend(key_values(link["Attributes"], link["AttributeTypes"]))
    return span


def _resource_key(row: Mapping[str, Any]) -> str:
    return json.dumps([row["ResourceAttributes"], row["ResourceAttributeTypes"]], sort_keys=True)


def to_request(rows: Iterable[Mapping[str, Any]]) -> ExportTraceServiceRequest:
    """One request holding `rows`, grouped by resource, then by scope, in first-seen order."""
    request = ExportTraceServiceRequest()
    resources: dict[str, tuple[ResourceSpans, dict[tuple[str, str], ScopeSpans]]] = {}
    for row in rows:
        key = _resource_key(row)
        if key not in resources:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.extend(
                key_values(row["ResourceAttributes"], row["ResourceAttributeTypes"]))
            resources[key] = (resource_spans, {})
        resource_spans, scopes = resources[key]
        scope_key = (row["ScopeName"] or "", row["ScopeVersion"] or "")
        if scope_key not in scopes:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name, scope_spans.scope.version = scope_key
            scopes[scope_key] = scope_spans
        scopes[scope_key].spans.append(_span(row))
    return request


def to_requests(traces: Sequence[Sequence[Mapping[str, Any]]]) -> list[ExportTraceServiceRequest]:
    """One request per trace."""
    return [to_request(trace) for trace in traces]
