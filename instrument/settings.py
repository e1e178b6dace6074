"""Settings of tracing: explicit argument, then environment variable, then default.

The variables `instrument/` reads, or relies on the OpenTelemetry SDK to read, are declared
in spanbench.settings with the meaning the OpenTelemetry specification gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector

from spanbench import settings

HTTP_PROTOBUF = "http/protobuf"
GRPC = "grpc"
PROTOCOLS = (HTTP_PROTOBUF, GRPC)
TRACES_PATH = "/v1/traces"

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
"""How long `shutdown_tracing` waits for the last spans to leave."""


@dataclass(frozen=True)
class TraceExport:
    """Where and how spans are exported."""

    endpoint: str
    """Full traces URL for http/protobuf; the receiver address for grpc."""
    protocol: str


def service_name(explicit: str | None = None) -> str | None:
    """The service name: OTEL_SERVICE_NAME, else `service.name` in OTEL_RESOURCE_ATTRIBUTES,
    else the explicit argument (None lets the SDK say `unknown_service`)."""
    from_env = OTELResourceDetector().detect().attributes.get(SERVICE_NAME)
    return str(from_env) if from_env else explicit


def trace_protocol(explicit: str | None = None) -> str:
    """The OTLP protocol: argument, then the traces variable, then the general one."""
    protocol = (
        explicit
        or settings.env(settings.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        or settings.text(settings.OTEL_EXPORTER_OTLP_PROTOCOL)
    )
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"OTLP protocol {protocol!r} is not supported: set "
            f"{settings.OTEL_EXPORTER_OTLP_PROTOCOL} to one of {', '.join(PROTOCOLS)}"
        )
    return protocol


def trace_export(endpoint: str | None = None, protocol: str | None = None) -> TraceExport | None:
    """Resolve the export target, or None when no endpoint is configured.

    `endpoint` means what OTEL_EXPORTER_OTLP_ENDPOINT means (a base URL); it wins over
    both variables. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT.
    """
    resolved_protocol = trace_protocol(protocol)
    base = endpoint or None
    if base is None:
        full = settings.env(settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
        if full is not None:
            return TraceExport(full, resolved_protocol)
        base = settings.env(settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    if base is None:
        return None
    if resolved_protocol == HTTP_PROTOBUF:
        return TraceExport(base.rstrip("/") + TRACES_PATH, resolved_protocol)
    return TraceExport(base, resolved_protocol)


def export_retry_s(explicit: float | None = None) -> float:
    """The retry budget of one span batch: argument, then SPANBENCH_EXPORT_RETRY_S, then 60."""
    if explicit is not None:
        return explicit
    value = settings.number(settings.EXPORT_RETRY_S)
    if value < 0:
        raise ValueError(f"{settings.EXPORT_RETRY_S} must be 0 or more, got {value}")
    return value


FAULT_PAUSE_MAX_S = 120.0
"""Longest a driver waits at a SPANBENCH_FAULT_PAUSE_AT pause for its resume file."""


def fault_dir() -> str | None:
    """SPANBENCH_FAULT_DIR, or None when fault hooks are off."""
    return settings.env(settings.FAULT_DIR)


def fault_pause_points() -> frozenset[str]:
    """The iterations named by SPANBENCH_FAULT_PAUSE_AT, as `suite/scenario#index`."""
    return frozenset(settings.items(settings.FAULT_PAUSE_AT))


def fault_delays(suite: str) -> dict[str, int]:
    """SPANBENCH_FAULT_DELAY's delays (ns) of `suite`'s phases; SettingsError if malformed."""
    delays = {}
    for item in settings.items(settings.FAULT_DELAY):
        where, _, nanoseconds = item.rpartition(":")
        item_suite, _, phase = where.partition("/")
        if not (item_suite and phase and nanoseconds.isdigit()):
            raise settings.SettingsError(
                f"{settings.FAULT_DELAY}: {item!r} is not suite/phase:ns (e.g. "
                "event_propagation/publish:25000)")
        if item_suite == suite:
            delays[phase] = int(nanoseconds)
    return delays


def orchestration_auth_headers() -> dict[str, str]:
    """The credential headers for the orchestration API, in tasker-core's client order."""
    token = settings.first(settings.TASKER_ORCHESTRATION_AUTH_TOKEN, settings.TASKER_AUTH_TOKEN)
    if token is not None:
        return {"Authorization": f"Bearer {token}"}
    key = settings.env(settings.TASKER_API_KEY)
    if key is not None:
        return {settings.text(settings.TASKER_API_KEY_HEADER): key}
    return {}
