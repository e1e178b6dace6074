"""A span-emitting client process for sink tests: the stock SDK, BatchSpanProcessor, OTLP.

    python -m tests.sink_client ENDPOINT RUN_ID COUNT [http|grpc]

ENDPOINT is the traces URL for http, host:port for grpc. Exits 0 once every span was
handed to the exporter and the final flush succeeded, 1 otherwise.
"""

from __future__ import annotations

import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

FLUSH_TIMEOUT_MS = 60_000


def _exporter(endpoint: str, protocol: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http(endpoint=endpoint)


def main(argv: list[str]) -> int:
    endpoint, run_id, count = argv[0], argv[1], int(argv[2])
    protocol = argv[3] if len(argv) > 3 else "http"
    provider = TracerProvider(resource=Resource.create({"service.name": f"client-{run_id}"}))
    processor = BatchSpanProcessor(
        _exporter(endpoint, protocol),
        max_queue_size=count,  # never drop: every span created is exported
        max_export_batch_size=512,
        schedule_delay_millis=50,
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("tests.sink_client")
    for index in range(count):
        with tracer.start_as_current_span(
            "work", attributes={"bench.run_id": run_id, "bench.iteration": index}
        ):
            pass
    flushed = provider.force_flush(FLUSH_TIMEOUT_MS)
    provider.shutdown()
    return 0 if flushed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
