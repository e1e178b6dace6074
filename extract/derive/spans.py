"""Derived spans as the store keeps every span: OTLP spans turned into the store's Parquet rows
by the receiver's own conversion (extract.receive.columns), so nothing tells them apart but
their bench.source."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from extract.derive.phases import DerivedSpan
from extract.receive.columns import as_key_values, decode_value, to_tables
from spanbench.vocabulary import BAGGAGE_KEYS, Attr, Source

SCOPE = "spanbench.derive"


@dataclass(frozen=True)
class Workflow:
    """The driver's workflow span of one task: where its derived spans attach."""

    trace_id: str
    span_id: str
    task_uuid: str
    correlation_id: str | None
    attributes: Mapping[str, Any]
    """The root's typed attributes; the run's bench.* values among them are copied."""
    post_span_id: str | None = None
    post_start_ns: int | None = None
    post_end_ns: int | None = None

    def parent_of(self, span: DerivedSpan) -> str:
        """The driver's api.create_task when the span lies inside it (so the derived breakdown
        nests as the traced one does), else the workflow root."""
        if (self.post_span_id is not None and self.post_start_ns is not None
                and self.post_end_ns is not None
                and self.post_start_ns <= span.start_ns and span.end_ns <= self.post_end_ns):
            return self.post_span_id
        return self.span_id


def typed_attributes(values: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    """A stored attribute map back to typed values (the store's AsString text + type map)."""
    return {key: decode_value(text, types.get(key)) for key, text in values.items()}


def span_id(trace_id: str, key: str) -> str:
    """A stable id per (trace, derived phase): deriving again rewrites the same spans."""
    return hashlib.sha256(f"{trace_id}/{key}".encode()).hexdigest()[:16]


def _attributes(values: Mapping[str, Any]) -> list[KeyValue]:
    return as_key_values({key: value for key, value in values.items() if value is not None})


def _span(workflow: Workflow, derived: DerivedSpan, ids: Mapping[str, str]) -> Span:
    run_values = {key: workflow.attributes[key] for key in BAGGAGE_KEYS
                  if key in workflow.attributes}
    parent = ids[derived.parent_key] if derived.parent_key else workflow.parent_of(derived)
    return Span(
        trace_id=bytes.fromhex(workflow.trace_id),
        span_id=bytes.fromhex(ids[derived.key]),
        parent_span_id=bytes.fromhex(parent),
        name=derived.phase,
        kind=Span.SpanKind.SPAN_KIND_INTERNAL,
        start_time_unix_nano=derived.start_ns,
        end_time_unix_nano=derived.end_ns,
        attributes=_attributes({
            **run_values,
            Attr.PHASE: derived.phase,
            Attr.SOURCE: Source.DERIVED,
            Attr.DERIVED_FROM: derived.bounds,
            Attr.TASK_UUID: workflow.task_uuid,
            Attr.CORRELATION_ID: workflow.correlation_id,
            Attr.STEP_UUID: derived.step_uuid,
            Attr.STEP_NAME: derived.step_name,
        }),
    )


def request(per_workflow: Sequence[tuple[Workflow, Sequence[DerivedSpan]]], system: str
            ) -> ExportTraceServiceRequest:
    """One OTLP request holding every derived span, its resource naming the system."""
    message = ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _attributes({Attr.SERVICE_NAME: f"{system}.derived"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE
    for workflow, derived in per_workflow:
        ids = {span.key: span_id(workflow.trace_id, span.key) for span in derived}
        scope_spans.spans.extend(_span(workflow, span, ids) for span in derived)
    return message


def tables(per_workflow: Sequence[tuple[Workflow, Sequence[DerivedSpan]]], system: str
           ) -> dict[str, pa.Table]:
    """Run id → the derived spans' rows in the store's schema."""
    return to_tables([request(per_workflow, system)])
