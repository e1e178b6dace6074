"""OTLP trace requests to and from Jaeger's JSON trace format (the query API's, which the
Jaeger UI's "JSON File" upload opens with no backend).

The mapping is the one Jaeger's OTLP translator uses: the parent becomes the first CHILD_OF
reference and links FOLLOWS_FROM references after it; kind, status, scope and trace state
become the tags `span.kind`, `otel.status_code`, `otel.status_description`, `error`,
`otel.scope.name`, `otel.scope.version` and `w3c.tracestate`; the resource becomes the
process (`service.name` its serviceName, the other attributes its tags); events become logs
whose `event` field is the event's name. Jaeger JSON counts time in microseconds.

What does not survive Jaeger: nanoseconds below the microsecond (start, duration and event
times are truncated), link attributes and link trace state, the element types of array and
map attributes (Jaeger stores them as JSON text in a string tag), the type of a NaN or ±Infinity
double (JSON has no such number: it becomes the string tag "NaN", "Infinity" or "-Infinity",
as in OTLP/JSON), and any span attribute whose key is one of the tags above.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from extract.receive.columns import raw_value, text_of
from spanbench import strict_json
from spanbench.vocabulary import Attr

SPAN_KIND: Final = "span.kind"
STATUS_CODE: Final = "otel.status_code"
STATUS_DESCRIPTION: Final = "otel.status_description"
ERROR: Final = "error"
SCOPE_NAME: Final = "otel.scope.name"
SCOPE_VERSION: Final = "otel.scope.version"
TRACE_STATE: Final = "w3c.tracestate"
EVENT: Final = "event"
SERVICE_NAME: Final = Attr.SERVICE_NAME
NO_SERVICE_NAME: Final = "OTLPResourceNoServiceName"
"""Jaeger's serviceName for a resource without service.name."""

CHILD_OF: Final = "CHILD_OF"
FOLLOWS_FROM: Final = "FOLLOWS_FROM"
TAG_TYPES: Final = ("string", "bool", "int64", "float64", "binary")

_KIND_TAGS: Final = {
    Span.SpanKind.SPAN_KIND_INTERNAL: "internal",
    Span.SpanKind.SPAN_KIND_SERVER: "server",
    Span.SpanKind.SPAN_KIND_CLIENT: "client",
    Span.SpanKind.SPAN_KIND_PRODUCER: "producer",
    Span.SpanKind.SPAN_KIND_CONSUMER: "consumer",
}
_KINDS: Final = {tag: kind for kind, tag in _KIND_TAGS.items()}
_STATUS_TAGS: Final = {Status.StatusCode.STATUS_CODE_OK: "OK",
                       Status.StatusCode.STATUS_CODE_ERROR: "ERROR"}
_STATUSES: Final = {tag: code for code, tag in _STATUS_TAGS.items()}
_SPECIAL: Final = frozenset({SPAN_KIND, STATUS_CODE, STATUS_DESCRIPTION, SCOPE_NAME,
                             SCOPE_VERSION, TRACE_STATE})


class JaegerFormatError(ValueError):
    """The document is not Jaeger's JSON trace format; the message says where."""


# ── OTLP → Jaeger ────────────────────────────────────────────────────────────


def tag(key: str, value: AnyValue) -> dict[str, Any]:
    """An OTLP attribute as a Jaeger typed tag."""
    kind = value.WhichOneof("value")
    if kind == "bool_value":
        return {"key": key, "type": "bool", "value": value.bool_value}
    if kind == "int_value":
        return {"key": key, "type": "int64", "value": value.int_value}
    if kind == "double_value":
        if not math.isfinite(value.double_value):  # JSON has no NaN or Infinity: a string tag
            return _string_tag(key, strict_json.as_name(value.double_value))
        return {"key": key, "type": "float64", "value": value.double_value}
    if kind == "bytes_value":
        return {"key": key, "type": "binary",
                "value": base64.b64encode(value.bytes_value).decode("ascii")}
    if kind == "string_value":
        return {"key": key, "type": "string", "value": value.string_value}
    if kind in ("array_value", "kvlist_value"):
        return _string_tag(key, _json_text(value))
    return _string_tag(key, text_of(value)[0])


def _json_text(value: AnyValue) -> str:
    """An array or map as the JSON text Jaeger keeps in a string tag (strict JSON too)."""
    return strict_json.dumps(raw_value(value), non_finite=strict_json.as_name,
                             ensure_ascii=False, separators=(",", ":"))


def _string_tag(key: str, text: str) -> dict[str, Any]:
    return {"key": key, "type": "string", "value": text}


def _span_tags(span: Span, scope_name: str, scope_version: str) -> list[dict[str, Any]]:
    tags = [tag(kv.key, kv.value) for kv in span.attributes]
    if scope_name:
        tags.append(_string_tag(SCOPE_NAME, scope_name))
    if scope_version:
        tags.append(_string_tag(SCOPE_VERSION, scope_version))
    if span.kind in _KIND_TAGS:
        tags.append(_string_tag(SPAN_KIND, _KIND_TAGS[span.kind]))
    if span.status.code in _STATUS_TAGS:
        tags.append(_string_tag(STATUS_CODE, _STATUS_TAGS[span.status.code]))
    if span.status.code == Status.StatusCode.STATUS_CODE_ERROR:
        tags = [entry for entry in tags if entry["key"] != ERROR]
        tags.append({"key": ERROR, "type": "bool", "value": True})
    if span.status.message:
        tags.append(_string_tag(STATUS_DESCRIPTION, span.status.message))
    if span.trace_state:
        tags.append(_string_tag(TRACE_STATE, span.trace_state))
    return tags


def _references(span: Span) -> list[dict[str, str]]:
    references = []
    if span.parent_span_id:
        references.append({"refType": CHILD_OF, "traceID": span.trace_id.hex(),
                           "spanID": span.parent_span_id.hex()})
    references += [{"refType": FOLLOWS_FROM, "traceID": link.trace_id.hex(),
                    "spanID": link.span_id.hex()} for link in span.links]
    return references


def _logs(span: Span) -> list[dict[str, Any]]:
    logs = []
    for event in span.events:
        fields = [tag(kv.key, kv.value) for kv in event.attributes]
        if not any(field["key"] == EVENT for field in fields):
            fields.insert(0, _string_tag(EVENT, event.name))
        logs.append({"timestamp": event.time_unix_nano // 1000, "fields": fields})
    return logs


def _process(attributes: Sequence[KeyValue]) -> dict[str, Any]:
    service = NO_SERVICE_NAME
    tags = []
    for kv in attributes:
        if kv.key == SERVICE_NAME and kv.value.WhichOneof("value") == "string_value":
            service = kv.value.string_value
        else:
            tags.append(tag(kv.key, kv.value))
    return {"serviceName": service, "tags": tags}


class _Trace:
    """One Jaeger trace being filled: its spans and its processes (p1, p2, ... per resource)."""

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.spans: list[dict[str, Any]] = []
        self.processes: dict[str, dict[str, Any]] = {}
        self._process_ids: dict[str, str] = {}

    def process_id(self, process: dict[str, Any]) -> str:
        key = repr(process)
        if key not in self._process_ids:
            process_id = f"p{len(self._process_ids) + 1}"
            self._process_ids[key] = process_id
            self.processes[process_id] = process
        return self._process_ids[key]

    def document(self) -> dict[str, Any]:
        return {"traceID": self.trace_id, "spans": self.spans, "processes": self.processes,
                "warnings": None}


def to_jaeger(requests: Iterable[ExportTraceServiceRequest]) -> dict[str, Any]:
    """The spans of `requests` as a Jaeger JSON document, one trace per trace id, in order."""
    traces: dict[str, _Trace] = {}
    for request in requests:
        for resource_spans in request.resource_spans:
            process = _process(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope
                for span in scope_spans.spans:
                    trace_id = span.trace_id.hex()
                    trace = traces.get(trace_id) or traces.setdefault(trace_id, _Trace(trace_id))
                    start = span.start_time_unix_nano
                    trace.spans.append({
                        "traceID": trace_id,
                        "spanID": span.span_id.hex(),
                        "operationName": span.name,
                        "references": _references(span),
                        "startTime": start // 1000,
                        "duration": (span.end_time_unix_nano - start) // 1000,
                        "tags": _span_tags(span, scope.name, scope.version),
                        "logs": _logs(span),
                        "processID": trace.process_id(process),
                        "warnings": None,
                    })
    return {"data": [trace.document() for trace in traces.values()],
            "total": 0, "limit": 0, "offset": 0, "errors": None}


# ── Jaeger → OTLP ────────────────────────────────────────────────────────────


def tag_value(entry: Mapping[str, Any], where: str) -> AnyValue:
    """A Jaeger typed tag's value as an OTLP AnyValue (no type: a string, as Jaeger reads it)."""
    kind = entry.get("type", "string")
    value = entry.get("value")
    try:
        if kind == "string":
            return AnyValue(string_value="" if value is None else str(value))
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError("not a JSON boolean")
            return AnyValue(bool_value=value)
        if kind == "int64":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise TypeError("not an integer")
            return AnyValue(int_value=int(value))
        if kind == "float64":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise TypeError("not a number")
            return AnyValue(double_value=float(value))
        if kind == "binary":
            return AnyValue(bytes_value=base64.b64decode(str(value), validate=True))
    except (TypeError, ValueError) as error:
        raise JaegerFormatError(f"{where}: tag {entry.get('key')!r} of type {kind} has value "
                                f"{value!r}: {error}") from error
    raise JaegerFormatError(f"{where}: tag {entry.get('key')!r} has type {kind!r}, not one of "
                            f"{', '.join(TAG_TYPES)}")


def _id(text: Any, width: int, where: str) -> bytes:
    if not isinstance(text, str) or not text or len(text) > width:
        raise JaegerFormatError(f"{where}: {text!r} is not a hex id of up to {width} digits")
    try:
        return bytes.fromhex(text.rjust(width, "0"))
    except ValueError as error:
        raise JaegerFormatError(f"{where}: {text!r} is not a hex id") from error


def _key_values(entries: Iterable[Mapping[str, Any]], where: str) -> list[KeyValue]:
    return [KeyValue(key=str(entry.get("key")), value=tag_value(entry, where))
            for entry in entries or ()]


def _resource(process: Mapping[str, Any], where: str) -> list[KeyValue]:
    attributes = []
    service = process.get("serviceName")
    if service and service != NO_SERVICE_NAME:
        attributes.append(KeyValue(key=SERVICE_NAME, value=AnyValue(string_value=service)))
    return attributes + _key_values(process.get("tags") or (), where)


def _otlp_span(entry: Mapping[str, Any], where: str) -> tuple[Span, tuple[str, str]]:
    """The span and its (scope name, scope version)."""
    trace_id = _id(entry.get("traceID"), 32, f"{where} traceID")
    start, duration = entry.get("startTime"), entry.get("duration")
    if not isinstance(start, int) or not isinstance(duration, int) or start < 0 or duration < 0:
        raise JaegerFormatError(f"{where}: startTime and duration must be non-negative integer "
                                f"microseconds, got {start!r} and {duration!r}")
    span = Span(trace_id=trace_id, span_id=_id(entry.get("spanID"), 16, f"{where} spanID"),
                name=str(entry.get("operationName", "")),
                start_time_unix_nano=start * 1000,
                end_time_unix_nano=(start + duration) * 1000)
    scope = ["", ""]
    has_error_tag = False
    for kv in _key_values(entry.get("tags") or (), where):
        text = kv.value.string_value
        if kv.key == SPAN_KIND and text in _KINDS:
            span.kind = _KINDS[text]
        elif kv.key == STATUS_CODE and text in _STATUSES:
            span.status.code = _STATUSES[text]
        elif kv.key == STATUS_DESCRIPTION:
            span.status.message = text
        elif kv.key == SCOPE_NAME:
            scope[0] = text
        elif kv.key == SCOPE_VERSION:
            scope[1] = text
        elif kv.key == TRACE_STATE:
            span.trace_state = text
        else:
            if kv.key == ERROR:
                has_error_tag = True
            span.attributes.append(kv)
    if has_error_tag and span.status.code == Status.StatusCode.STATUS_CODE_ERROR:
        kept = [kv for kv in span.attributes if kv.key != ERROR]  # Jaeger's marker, not ours
        del span.attributes[:]
        span.attributes.extend(kept)
    for number, reference in enumerate(entry.get("references") or ()):
        at = f"{where} reference {number}"
        ref_trace = _id(reference.get("traceID"), 32, at)
        ref_span = _id(reference.get("spanID"), 16, at)
        if reference.get("refType") == CHILD_OF and not span.parent_span_id:
            span.parent_span_id = ref_span
        else:
            span.links.add(trace_id=ref_trace, span_id=ref_span)
    for number, log in enumerate(entry.get("logs") or ()):
        event = span.events.add(time_unix_nano=int(log.get("timestamp", 0)) * 1000)
        for kv in _key_values(log.get("fields") or (), f"{where} log {number}"):
            if kv.key == EVENT and not event.name:
                event.name = kv.value.string_value
            else:
                event.attributes.append(kv)
    return span, (scope[0], scope[1])


def from_jaeger(document: Any) -> list[ExportTraceServiceRequest]:
    """One OTLP request per trace of a Jaeger JSON document (`{"data": [...]}` or one trace)."""
    if isinstance(document, dict) and "data" in document:
        traces = document["data"]
    elif isinstance(document, dict) and "spans" in document:
        traces = [document]
    else:
        raise JaegerFormatError("not a Jaeger JSON document: expected an object with 'data' "
                                "(a list of traces) or a single trace with 'spans'")
    if not isinstance(traces, list):
        raise JaegerFormatError("'data' must be a list of traces")
    return [_trace_request(trace, f"trace {index}") for index, trace in enumerate(traces)]


def _trace_request(trace: Any, where: str) -> ExportTraceServiceRequest:
    if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
        raise JaegerFormatError(f"{where}: a trace must be an object with a 'spans' list")
    processes = trace.get("processes") or {}
    request = ExportTraceServiceRequest()
    resources: dict[str, tuple[ResourceSpans, dict[tuple[str, str], ScopeSpans]]] = {}
    for index, entry in enumerate(trace["spans"]):
        at = f"{where} span {index}"
        if not isinstance(entry, dict):
            raise JaegerFormatError(f"{at}: a span must be an object")
        process_id = entry.get("processID")
        process = entry.get("process") or processes.get(process_id)
        if not isinstance(process, dict):
            raise JaegerFormatError(f"{at}: processID {process_id!r} is not in 'processes'")
        key = repr(process)
        if key not in resources:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.extend(_resource(process, f"{at} process"))
            resources[key] = (resource_spans, {})
        resource_spans, scopes = resources[key]
        span, scope_key = _otlp_span(entry, at)
        if scope_key not in scopes:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name, scope_spans.scope.version = scope_key
            scopes[scope_key] = scope_spans
        scopes[scope_key].spans.append(span)
    return request
