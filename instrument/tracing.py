"""Tracing setup: an SDK TracerProvider that ships spans over OTLP, or None.

Telemetry trouble never fails the host: a bad configuration is logged and tracing is
off; export failures are logged by the SDK's span processor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from instrument import settings
from instrument.delivery import DeliveringExporter, ExportCounts

_logger = logging.getLogger(__name__)


def setup_tracing(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    counts: ExportCounts | None = None,
    instance_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """Build a TracerProvider exporting through a BatchSpanProcessor and an OTLP exporter.

    `service_name` is the default name: OTEL_SERVICE_NAME (or `service.name` in
    OTEL_RESOURCE_ATTRIBUTES) wins when set. `endpoint` and `protocol`, when given, win
    over the OTEL_EXPORTER_OTLP_* variables (see `instrument.settings`); so do `headers`
    (e.g. a sink's `authorization`) over OTEL_EXPORTER_OTLP_HEADERS. The sampler is
    the SDK's choice from OTEL_TRACES_SAMPLER, `parentbased_always_on` by default.

    Returns None, creating no exporter and no thread, when no endpoint is configured or
    the configuration is unusable (the reason is logged). Export goes through a
    `DeliveringExporter`, which retries a failed batch for SPANBENCH_EXPORT_RETRY_S and adds
    what it delivered or dropped to `counts`. `instance_id` becomes the resource's
    `service.instance.id`, so one process's spans can be told from another's. The provider
    is not installed globally: call `opentelemetry.trace.set_tracer_provider` if other
    libraries need it.
    """
    try:
        export = settings.trace_export(endpoint, protocol)
        if export is None:
            _logger.debug("no OTLP endpoint configured: spans are not exported")
            return None
        name = settings.service_name(service_name)
        identity = {SERVICE_NAME: name} if name else {}
        if instance_id:
            identity[SERVICE_INSTANCE_ID] = instance_id
        resource = Resource.create(identity)
        provider = TracerProvider(resource=resource)
        exporter = DeliveringExporter(_exporter(export, headers), counts,
                                      settings.export_retry_s())
        provider.add_span_processor(BatchSpanProcessor(exporter))
    except Exception:
        _logger.exception("tracing is off: could not set up the OTLP span export")
        return None
    _logger.debug("exporting spans over %s to %s", export.protocol, export.endpoint)
    return provider


def _exporter(export: settings.TraceExport,
              headers: Mapping[str, str] | None = None) -> SpanExporter:
    if export.protocol == settings.GRPC:
        # Imported here: grpc is heavy and most runs use http/protobuf.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        grpc_headers = None if headers is None else {k.lower(): v for k, v in headers.items()}
        return GrpcSpanExporter(endpoint=export.endpoint, headers=grpc_headers)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=export.endpoint,
                            headers=None if headers is None else dict(headers))


def shutdown_tracing(
    provider: TracerProvider | None,
    timeout_s: float = settings.DEFAULT_SHUTDOWN_TIMEOUT_S,
) -> bool:
    """Flush and shut down `provider`, waiting at most `timeout_s`.

    Returns True when everything finished in time. The SDK's flush does not honour its
    timeout, so the work runs in a daemon thread that is abandoned after the deadline.
    """
    if provider is None:
        return True
    done = threading.Event()

    def _flush_and_shutdown() -> None:
        try:
            provider.force_flush(int(timeout_s * 1000))
            provider.shutdown()
        except Exception:
            _logger.exception("tracing shutdown failed; some spans may be lost")
        finally:
            done.set()

    threading.Thread(
        target=_flush_and_shutdown, name="spanbench-tracing-shutdown", daemon=True
    ).start()
    if done.wait(timeout_s):
        return True
    _logger.warning("tracing shutdown took longer than %.1f s; unsent spans are lost", timeout_s)
    return False
