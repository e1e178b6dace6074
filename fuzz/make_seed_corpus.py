"""Write the seed corpus of the OTLP decoder fuzz target from real encoded requests.

The requests are what the OpenTelemetry SDK's own OTLP encoder produces for spans like
spanbench's (bench.* attributes, events, links, statuses, every kind of attribute value),
in protobuf and in OTLP/JSON, plus a few screened-out shapes (zero ids, reversed times).

    .venv/bin/python fuzz/make_seed_corpus.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from extract.export.otlp_json import to_json
from fuzz.otlp_decode_fuzz import CORPUS
from spanbench.vocabulary import Attr, Suite

T0 = 1_764_000_000_000_000_000


def sdk_spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "spanbench-seed", "n": 1}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("spanbench.seed", "1.0")
    root = tracer.start_span("e2e.workflow", kind=SpanKind.CLIENT, start_time=T0, attributes={
        Attr.RUN_ID: "seed-run", Attr.SUITE: Suite.E2E_LATENCY, Attr.SCENARIO: "linear_3",
        Attr.PHASE: "e2e.workflow", Attr.ITERATION: 3, Attr.WARMUP: False,
    })
    context = trace.set_span_in_context(root)
    linked = SpanContext(0xABC, 0xDEF, is_remote=True)
    for index, kind in enumerate((SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER)):
        span = tracer.start_span(f"phase{index}", context=context, kind=kind,
                                 links=[Link(linked, {"w": index})], start_time=T0 + index,
                                 attributes={Attr.RUN_ID: "seed-run", "f": 0.25,
                                             "b": True, "a": (1, 2), "s": ("x", "y")})
        span.add_event("ev", {"x": index, "bytes": b"\x00\x01"}, timestamp=T0 + index + 1)
        span.set_status(Status(StatusCode.ERROR, "bad") if index else Status(StatusCode.OK))
        span.end(end_time=T0 + 10 * (index + 1))
    root.end(end_time=T0 + 100)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def otlp_json(request: ExportTraceServiceRequest) -> bytes:
    return json.dumps(to_json(request)).encode()


def seeds() -> list[bytes]:
    spans = sdk_spans()
    whole = encode_spans(spans)
    single = encode_spans(spans[:1])
    odd = encode_spans(spans[1:2])
    odd_span = odd.resource_spans[0].scope_spans[0].spans[0]
    odd_span.trace_id = bytes(16)
    odd_span.end_time_unix_nano = 1
    out = []
    for request in (whole, single, odd, ExportTraceServiceRequest()):
        out += [request.SerializeToString(), otlp_json(request)]
    return out


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for seed in seeds():
        (CORPUS / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{len(list(CORPUS.iterdir()))} files in {CORPUS}")


if __name__ == "__main__":
    main()
