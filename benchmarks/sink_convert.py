"""Throughput of the sink's pure stages, in spans per second (median of several runs).

    .venv/bin/python -m benchmarks.sink_convert [--spans N] [--runs R]

Requests are real SDK spans (TracerProvider, ~10 attributes of mixed types, events, some
links and errors) encoded by the OTLP exporter's `encode_spans` in batches of 512, as the
BatchSpanProcessor sends them. Every timing starts from the serialized requests (what the
spool holds): `decode_protobuf` + `screen` (the receive path); `to_tables` fed decoded
requests or the bytes themselves, with and without `write_part` (the converter), which reads
the spans' wire format with numpy (extract.receive.wire_spans); the same `to_tables` kept on
its protobuf path (span fields read message by message, each distinct attribute parsed by
protobuf: the converter before the wire read); and a naive converter that decodes, builds
one dict per span and lets pyarrow make the same table. The process keeps freed memory
mapped (`heap.keep_freed_memory`), as the sink does.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from extract.receive import columns
from extract.receive.columns import SPAN_KINDS, STATUS_CODES, text_of, to_tables
from extract.receive.heap import keep_freed_memory
from extract.receive.otlp_decode import UNASSIGNED, decode_protobuf, screen
from extract.store.parquet_store import SCHEMA, write_part
from spanbench.vocabulary import Attr, Suite

BATCH = 512
RUN_ID = "bench-sink-convert"
PHASES = ("claim", "execute", "submit", "discovery", "publish", "notify")


def sdk_spans(count: int) -> list[ReadableSpan]:
    """`count` finished SDK spans shaped like a driver's phases (4 per workflow trace)."""
    exporter = InMemorySpanExporter()
    resource = Resource.create({"service.name": "spanbench-driver", "host.name": "bench-1"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("spanbench.instrument", "0.1.0")
    t = time.time_ns()
    previous = None
    for i in range(count):
        if i % 4 == 0:
            root = tracer.start_span("e2e.workflow", kind=SpanKind.CLIENT, start_time=t)
            context = trace.set_span_in_context(root)
        phase = PHASES[i % len(PHASES)]
        links = [Link(previous, {"link.reason": "retry"})] if previous and i % 10 == 0 else None
        span = tracer.start_span(
            phase,
            context=context,
            kind=(SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER)[i % 3],
            links=links,
            start_time=t + 1_000,
            attributes={
                Attr.RUN_ID: RUN_ID,
                Attr.SUITE: Suite.WORKER_EXECUTION,
                Attr.SCENARIO: "noop",
                Attr.PHASE: phase,
                Attr.ITERATION: i,
                Attr.WARMUP: i < 100,
                Attr.TASK_UUID: str(uuid.uuid4()),
                Attr.MESSAGING_SYSTEM: "pgmq",
                Attr.MESSAGING_MESSAGE_ID: i * 7,
                Attr.DB_QUERY_TEXT: "SELECT * FROM pgmq.read($1, $2, $3)",
            },
        )
        span.add_event("message.claimed", {"queue": "worker_default", "attempt": 1}, t + 2_000)
        span.add_event("handler.done", {"elapsed_ms": 0.42}, t + 3_000)
        if i % 50 == 0:
            span.set_status(Status(StatusCode.ERROR, "handler raised"))
        span.end(end_time=t + 5_000 + i % 997)
        previous = span.get_span_context()
        if i % 4 == 3:
            root.end(end_time=t + 10_000)
        t += 20_000
    provider.shutdown()
    return [s for s in exporter.get_finished_spans() if s.name != "e2e.workflow"][:count]


def request_bodies(spans: list[ReadableSpan]) -> list[bytes]:
    """Serialized ExportTraceServiceRequests of BATCH spans each."""
    return [
        encode_spans(spans[i : i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)
    ]


def naive_tables(requests: Iterable[ExportTraceServiceRequest]) -> dict[str, pa.Table]:
    """The baseline: one dict per span, then pyarrow builds the table from the rows."""

    def attrs(kvs: Iterable[Any]) -> tuple[dict[str, str], dict[str, str]]:
        values, types = {}, {}
        for kv in kvs:
            text, type_name = text_of(kv.value)
            values.setdefault(kv.key, text)
            if type_name is not None:
                types.setdefault(kv.key, type_name)
        return values, types

    rows: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        for resource_spans in request.resource_spans:
            resource, resource_types = attrs(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    values, types = attrs(span.attributes)
                    events = []
                    for event in span.events:
                        event_values, event_types = attrs(event.attributes)
                        events.append(
                            {
                                "Timestamp": event.time_unix_nano,
                                "Name": event.name,
                                "Attributes": event_values,
                                "AttributeTypes": event_types,
                            }
                        )
                    links = []
                    for link in span.links:
                        link_values, link_types = attrs(link.attributes)
                        links.append(
                            {
                                "TraceId": link.trace_id.hex(),
                                "SpanId": link.span_id.hex(),
                                "TraceState": link.trace_state,
                                "Attributes": link_values,
                                "AttributeTypes": link_types,
                            }
                        )
                    run_id = values.get(Attr.RUN_ID, resource.get(Attr.RUN_ID, UNASSIGNED))
                    iteration = values.get(Attr.ITERATION)
                    warmup = values.get(Attr.WARMUP)
                    rows.setdefault(run_id, []).append(
                        {
                            "Timestamp": span.start_time_unix_nano,
                            "EndTimestamp": span.end_time_unix_nano,
                            "Duration": span.end_time_unix_nano - span.start_time_unix_nano,
                            "TraceId": span.trace_id.hex(),
                            "SpanId": span.span_id.hex(),
                            "ParentSpanId": span.parent_span_id.hex(),
                            "TraceState": span.trace_state,
                            "SpanName": span.name,
                            "SpanKind": SPAN_KINDS[span.kind],
                            "ServiceName": resource.get("service.name", ""),
                            "ResourceAttributes": resource,
                            "ResourceAttributeTypes": resource_types,
                            "ScopeName": scope_spans.scope.name,
                            "ScopeVersion": scope_spans.scope.version,
                            "SpanAttributes": values,
                            "SpanAttributeTypes": types,
                            "StatusCode": STATUS_CODES[span.status.code],
                            "StatusMessage": span.status.message,
                            "Events": events,
                            "Links": links,
                            "RunId": run_id,
                            "Suite": values.get(Attr.SUITE),
                            "Scenario": values.get(Attr.SCENARIO),
                            "Phase": values.get(Attr.PHASE),
                            "Iteration": int(iteration) if iteration is not None else None,
                            "Warmup": warmup == "true" if warmup is not None else None,
                        }
                    )
    return {run_id: pa.Table.from_pylist(r, schema=SCHEMA) for run_id, r in rows.items()}


@contextmanager
def _protobuf_path() -> Iterator[None]:
    """`to_tables` as before the wire read: every request and KeyValue parsed by protobuf."""
    saved = columns.WIRE_READ_MIN_BYTES, columns._WIRE_READ_MIN_KEY_VALUES
    columns.WIRE_READ_MIN_BYTES = columns._WIRE_READ_MIN_KEY_VALUES = math.inf  # type: ignore[misc]
    try:
        yield
    finally:
        columns.WIRE_READ_MIN_BYTES, columns._WIRE_READ_MIN_KEY_VALUES = saved  # type: ignore[misc]


def protobuf_tables(items: list[Any]) -> dict[str, pa.Table]:
    with _protobuf_path():
        return to_tables(items)


def _median_rates(
    spans: int, runs: int, steps: dict[str, Callable[[], object]]
) -> dict[str, tuple[float, float]]:
    """(spans per wall second, spans per CPU second) of each step, medians over `runs` rounds.

    Each round runs every step once in turn, spreading the rest of the machine's noise
    evenly; CPU seconds discount the time the process waited for a core (not for fsync).
    """
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            step()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: (spans / statistics.median(wall[name]), spans / statistics.median(cpu[name]))
        for name in steps
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    keep_freed_memory()

    spans = sdk_spans(args.spans)
    bodies = request_bodies(spans)
    requests = [decode_protobuf(body) for body in bodies]
    size = sum(map(len, bodies))
    print(
        f"{len(spans)} SDK spans in {len(bodies)} requests of {BATCH}, {size / len(spans):.0f} "
        f"bytes/span; per span {len(spans[0].attributes)} attributes, {len(spans[0].events)} "
        f"events, a link on 1 in 10; median of {args.runs} interleaved runs"
    )
    assert to_tables(requests)[RUN_ID].equals(naive_tables(requests)[RUN_ID])
    assert to_tables(bodies)[RUN_ID].equals(protobuf_tables(bodies)[RUN_ID])
    del spans
    gc.collect()
    gc.freeze()  # the inputs are long-lived; a sink process holds no SDK spans for GC to scan

    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp)

        def receive() -> None:
            for body in bodies:
                screen(decode_protobuf(body))

        def convert(
            tables: Callable[[], dict[str, pa.Table]], write: bool
        ) -> Callable[[], None]:
            def step() -> None:
                for run_id, table in tables().items():
                    if write:
                        write_part(runs_dir, run_id, "0", table)

            return step

        def decoded() -> list[ExportTraceServiceRequest]:
            return [decode_protobuf(body) for body in bodies]

        n = sum(len(s.spans) for r in requests for rs in r.resource_spans for s in rs.scope_spans)
        rates = _median_rates(
            n,
            args.runs,
            {
                "decode_protobuf + screen": receive,
                "decode_protobuf + to_tables": convert(lambda: to_tables(decoded()), False),
                "to_tables(bytes)": convert(lambda: to_tables(bodies), False),
                "  protobuf path (before)": convert(lambda: protobuf_tables(bodies), False),
                "to_tables(bytes) + write_part": convert(lambda: to_tables(bodies), True),
                "  protobuf path + write_part": convert(lambda: protobuf_tables(bodies), True),
                "naive: decode + rows": convert(lambda: naive_tables(decoded()), False),
                "naive + write_part": convert(lambda: naive_tables(decoded()), True),
            },
        )
    print(f"  {'':<32}{'spans/s':>10}  {'spans/CPU-s':>11}")
    for name, (rate, cpu_rate) in rates.items():
        print(f"  {name:<32}{rate:>10,.0f}  {cpu_rate:>11,.0f}")
    comparisons = {
        "protobuf path": ("  protobuf path (before)", "  protobuf path + write_part"),
        "naive": ("naive: decode + rows", "naive + write_part"),
    }
    for name, (alone, with_write) in comparisons.items():
        ratio = rates["to_tables(bytes)"][1] / rates[alone][1]
        ratio_written = rates["to_tables(bytes) + write_part"][1] / rates[with_write][1]
        print(f"  {'to_tables / ' + name:<32}{ratio:>9.2f}x  ({ratio_written:.2f}x with "
              "write_part; spans per CPU-s)")


if __name__ == "__main__":
    main()
