"""Pure decoding and screening of OTLP trace export requests (no transport, no I/O).

`decode_protobuf` and `decode_json` turn a request body into an `ExportTraceServiceRequest`
or raise `OtlpDecodeError` (a message fit for a 400 body). `screen` drops individually
invalid spans and reports them the way OTLP's partial success wants. `decode_lazy` reads
the same bytes with span and event attributes left serialized, for the converter.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from extract.store.runstore import UNASSIGNED as UNASSIGNED
from spanbench.security import NAME_PATTERN
from spanbench.vocabulary import Attr

RUN_ID_PATTERN: Final = NAME_PATTERN
"""Run ids become directory names: match with `fullmatch` (see spanbench.security)."""

_INT64_MAX: Final = 2**63 - 1
_ZERO_TRACE_ID: Final = bytes(16)
_ZERO_SPAN_ID: Final = bytes(8)
_HEX: Final = re.compile(r"[0-9A-Fa-f]*")
# OTLP/JSON carries these ids as hex; protobuf's JSON mapping wants base64 for bytes.
_ID_FIELDS: Final = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


class OtlpDecodeError(ValueError):
    """The body is not a decodable OTLP trace export request; the message says why."""


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """Parse a binary protobuf ExportTraceServiceRequest."""
    try:
        return ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise OtlpDecodeError(
            f"body is not a protobuf ExportTraceServiceRequest ({len(body)} bytes): {error}"
        ) from error


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """Parse an OTLP/JSON ExportTraceServiceRequest (hex ids, enum names or ints)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise OtlpDecodeError(f"body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise OtlpDecodeError(
            f"body is JSON {type(document).__name__}, expected an object with 'resourceSpans'"
        )
    _hex_ids_to_base64(document)
    request = ExportTraceServiceRequest()
    try:
        return json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as error:
        raise OtlpDecodeError(
            f"body is not an OTLP/JSON ExportTraceServiceRequest: {error}"
        ) from error


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """Rewrite span, parent and link ids from OTLP/JSON hex to base64, in place.

    Parts of the wrong shape are left alone for ParseDict to reject with its own message.
    """
    for resource_spans in _dicts(_field(document, "resourceSpans", "resource_spans")):
        for scope_spans in _dicts(_field(resource_spans, "scopeSpans", "scope_spans")):
            for span in _dicts(scope_spans.get("spans")):
                _rewrite_ids(span, "span")
                for link in _dicts(span.get("links")):
                    _rewrite_ids(link, "link")


def _field(message: dict[str, Any], camel: str, snake: str) -> Any:
    return message.get(camel, message.get(snake))


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return ()


def _rewrite_ids(message: dict[str, Any], what: str) -> None:
    for name in _ID_FIELDS:
        if name not in message:
            continue
        text = message[name]
        if not isinstance(text, str) or len(text) % 2 or not _HEX.fullmatch(text):
            raise OtlpDecodeError(f"{what} {name} must be a hex string, got {text!r}")
        message[name] = base64.b64encode(bytes.fromhex(text)).decode("ascii")


def _lazy_request_class(package: str, as_bytes: tuple[tuple[str, str], ...]) -> type[Message]:
    """ExportTraceServiceRequest's wire format with the (message, field) pairs of `as_bytes`
    kept as bytes, in its own proto package.

    The same bytes parse into it; each such field's element is then its serialized message.
    """
    pool = descriptor_pool.Default()
    name = f"spanbench/{package}.proto"
    try:
        pool.FindFileByName(name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto()
        trace_pb2.DESCRIPTOR.CopyToProto(proto)
        proto.name, proto.package = name, package
        original = f".{trace_pb2.DESCRIPTOR.package}."
        messages = list(proto.message_type)
        messages += [nested for message in proto.message_type for nested in message.nested_type]
        for message in messages:
            for field in message.field:
                if field.type_name.startswith(original):
                    field.type_name = field.type_name.replace(original, f".{package}.")
                if (message.name, field.name) in as_bytes:
                    field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                    field.ClearField("type_name")
        request = proto.message_type.add(name="ExportTraceServiceRequest")
        request.field.add(
            name="resource_spans",
            number=1,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
            type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
            type_name=f".{package}.ResourceSpans",
        )
        pool.Add(proto)
    descriptor = pool.FindMessageTypeByName(f"{package}.ExportTraceServiceRequest")
    return message_factory.GetMessageClass(descriptor)


# Span and event attributes as serialized KeyValues: a converter looks most of them up in
# a cache instead of walking them field by field (most attributes repeat across spans).
_LazyRequest: Final = _lazy_request_class(
    "spanbench.lazy.v1", (("Span", "attributes"), ("Event", "attributes"))
)
# Whole spans as serialized Spans, for a reader of many spans at once (extract.receive.wire).
_SpanBytesRequest: Final = _lazy_request_class(
    "spanbench.span_bytes.v1", (("ScopeSpans", "spans"),)
)


def decode_lazy(body: bytes | bytearray | memoryview | ExportTraceServiceRequest) -> Message:
    """The request with each span's and event's attributes left as serialized KeyValues.

    Everything else (resources, scopes, links, status, ...) reads as in the real message.
    """
    return _parse_as(_LazyRequest, body)


def decode_span_bytes(body: bytes | bytearray | memoryview | ExportTraceServiceRequest) -> Message:
    """The request with each scope's spans left as serialized Spans (resources, scopes read)."""
    return _parse_as(_SpanBytesRequest, body)


def _parse_as(message_class: Any,
              body: bytes | bytearray | memoryview | ExportTraceServiceRequest) -> Message:
    """`body` (or the request, serialized) parsed as `message_class`; OtlpDecodeError if not
    a request."""
    if isinstance(body, ExportTraceServiceRequest):
        body = body.SerializeToString()
    try:
        return message_class.FromString(body)
    except DecodeError as error:
        raise OtlpDecodeError(
            f"body is not a protobuf ExportTraceServiceRequest ({len(body)} bytes): {error}"
        ) from error


def run_id_of(
    span_attributes: Iterable[KeyValue], resource_attributes: Iterable[KeyValue]
) -> str | None:
    """`bench.run_id` from the span's attributes, else the resource's; None if absent.

    The first occurrence wins. A non-string value reads as '' (never a valid run id).
    """
    for attributes in (span_attributes, resource_attributes):
        for kv in attributes:
            if kv.key == Attr.RUN_ID:
                return kv.value.string_value
    return None


@dataclass(frozen=True)
class Screened:
    """A request with its invalid spans removed, and what was removed."""

    request: ExportTraceServiceRequest
    accepted_spans: int
    rejected_spans: int
    error_message: str  # '' when none rejected
    services: Mapping[str, int] = field(default_factory=dict)
    """Accepted spans per resource `service.name` ('' for a resource without one)."""


def _run_id_problem(run_id: str) -> str:
    return (
        f"bench.run_id {run_id!r} is not a valid run id (a string matching "
        f"{RUN_ID_PATTERN.pattern})"
    )


def screen(request: ExportTraceServiceRequest) -> Screened:
    """Drop individually invalid spans; the input request is left unchanged."""
    rejected: list[tuple[int, int, int]] = []
    reasons: dict[str, int] = {}
    accepted = 0
    has_empty = False
    valid_run_ids: set[str] = set()
    services: dict[str, int] = {}
    run_key = Attr.RUN_ID
    for ri, resource_spans in enumerate(request.resource_spans):
        resource_run_id = run_id_of((), resource_spans.resource.attributes)
        accepted_before = accepted
        scopes = resource_spans.scope_spans
        if not scopes:
            has_empty = True
        for si, scope_spans in enumerate(scopes):
            spans = scope_spans.spans
            if not spans:
                has_empty = True
            for index, span in enumerate(spans):
                problem = None
                trace_id = span.trace_id
                span_id = span.span_id
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
                    problem = "trace_id is not 16 bytes or is all zero"
                elif len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
                    problem = "span_id is not 8 bytes or is all zero"
                elif len(span.parent_span_id) not in (0, 8):
                    problem = "parent_span_id is neither empty nor 8 bytes"
                elif end < start:
                    problem = "end_time_unix_nano is before start_time_unix_nano"
                elif end > _INT64_MAX:
                    problem = "end_time_unix_nano is beyond int64 nanoseconds (year 2262)"
                else:
                    run_id = resource_run_id
                    for kv in span.attributes:
                        if kv.key == run_key:
                            run_id = kv.value.string_value
                            break
                    if run_id is not None and run_id not in valid_run_ids:
                        if RUN_ID_PATTERN.fullmatch(run_id):
                            valid_run_ids.add(run_id)
                        else:
                            problem = _run_id_problem(run_id)
                    if problem is None:
                        for event in span.events:
                            if event.time_unix_nano > _INT64_MAX:
                                problem = "an event's time_unix_nano is beyond int64 nanoseconds"
                                break
                if problem is None:
                    accepted += 1
                else:
                    rejected.append((ri, si, index))
                    reasons[problem] = reasons.get(problem, 0) + 1
        if accepted > accepted_before:
            service = service_name_of(resource_spans.resource.attributes)
            services[service] = services.get(service, 0) + accepted - accepted_before
    if not rejected and not has_empty:
        return Screened(request, accepted, 0, "", services)
    return Screened(_without(request, rejected), accepted, len(rejected), _summary(reasons),
                    services)


def service_name_of(resource_attributes: Iterable[KeyValue]) -> str:
    """A resource's `service.name` ('' when it has none)."""
    for kv in resource_attributes:
        if kv.key == Attr.SERVICE_NAME:
            return kv.value.string_value
    return ""


def _summary(reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    total = sum(reasons.values())
    parts = "; ".join(f"{reason} ({count})" for reason, count in reasons.items())
    return f"{total} span{'s' if total != 1 else ''} rejected: {parts}"


def _without(
    request: ExportTraceServiceRequest, rejected: list[tuple[int, int, int]]
) -> ExportTraceServiceRequest:
    """A copy of `request` without the spans at `rejected` and without empty containers."""
    copy = ExportTraceServiceRequest()
    copy.CopyFrom(request)
    for ri, si, index in reversed(rejected):
        del copy.resource_spans[ri].scope_spans[si].spans[index]
    resources = copy.resource_spans
    for ri in reversed(range(len(resources))):
        scopes = resources[ri].scope_spans
        for si in reversed(range(len(scopes))):
            if not scopes[si].spans:
                del scopes[si]
        if not scopes:
            del resources[ri]
    return copy
