"""Settings of tracing: explicit argument, then environment variable, then default.

Every environment variable that `instrument/` reads, or relies on the OpenTelemetry
SDK to read, is named once here. The variables keep the meaning the OpenTelemetry
specification gives them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""Value of the `service.name` resource attribute. When set it wins over the name a
process passes to `setup_tracing` (which is only the default), as OpenTelemetry's
convention lets an operator rename a service without touching code."""

OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Extra resource attributes, `key=value,key=value` (values percent-encoded).
Read by the SDK's `Resource.create`; a `service.name` here also wins over the default."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Base URL of the OTLP receiver, e.g. `http://127.0.0.1:4318`. For http/protobuf the
signal path `/v1/traces` is appended. Unset (with the variable below): nothing is exported."""

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
"""Full URL of the traces endpoint, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT."""

OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""`http/protobuf` (default) or `grpc`."""

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
"""Protocol for traces only; wins over OTEL_EXPORTER_OTLP_PROTOCOL."""

OTEL_TRACES_SAMPLER = "OTEL_TRACES_SAMPLER"
"""Sampler of root spans, read by the SDK's TracerProvider. Default `parentbased_always_on`.
Phases with a parent follow the parent's sampled flag whatever this says."""

OTEL_TRACES_SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
"""Argument of the sampler (e.g. the ratio of `traceidratio`), read by the SDK."""

OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""`true` turns the SDK into a no-op, read by the SDK; phases then time but export nothing."""

OTEL_BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"
"""Milliseconds between two exports of the batch span processor (SDK default 5000)."""

OTEL_BSP_MAX_QUEUE_SIZE = "OTEL_BSP_MAX_QUEUE_SIZE"
"""Spans the batch span processor holds before dropping (SDK default 2048)."""

OTEL_BSP_MAX_EXPORT_BATCH_SIZE = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
"""Spans per export request (SDK default 512)."""

# The OTLP exporters also read OTEL_EXPORTER_OTLP_[TRACES_]{HEADERS,TIMEOUT,COMPRESSION,
# CERTIFICATE,CLIENT_KEY,CLIENT_CERTIFICATE,INSECURE} themselves, as the specification says.

TASKER_ORCHESTRATION_AUTH_TOKEN = "TASKER_ORCHESTRATION_AUTH_TOKEN"
"""Bearer token the drivers send to the orchestration API (tasker-core's client variable,
first in its order)."""

TASKER_AUTH_TOKEN = "TASKER_AUTH_TOKEN"
"""Bearer token for tasker's APIs; used when TASKER_ORCHESTRATION_AUTH_TOKEN is unset."""

TASKER_API_KEY = "TASKER_API_KEY"
"""API key, sent in the TASKER_API_KEY_HEADER header when neither token above is set."""

TASKER_API_KEY_HEADER = "TASKER_API_KEY_HEADER"
"""Header carrying TASKER_API_KEY. Default: X-API-Key (the contract's api_key_auth)."""

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


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def service_name(explicit: str | None = None) -> str | None:
    """The service name: OTEL_SERVICE_NAME, else `service.name` in OTEL_RESOURCE_ATTRIBUTES,
    else the explicit argument (None lets the SDK say `unknown_service`)."""
    from_env = OTELResourceDetector().detect().attributes.get(SERVICE_NAME)
    return str(from_env) if from_env else explicit


def trace_protocol(explicit: str | None = None) -> str:
    """The OTLP protocol: argument, then the traces variable, then the general one."""
    protocol = (
        explicit
        or _env(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        or _env(OTEL_EXPORTER_OTLP_PROTOCOL)
        or HTTP_PROTOBUF
    )
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"OTLP protocol {protocol!r} is not supported: set {OTEL_EXPORTER_OTLP_PROTOCOL} "
            f"to one of {', '.join(PROTOCOLS)}"
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
        full = _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
        if full is not None:
            return TraceExport(full, resolved_protocol)
        base = _env(OTEL_EXPORTER_OTLP_ENDPOINT)
    if base is None:
        return None
    if resolved_protocol == HTTP_PROTOBUF:
        return TraceExport(base.rstrip("/") + TRACES_PATH, resolved_protocol)
    return TraceExport(base, resolved_protocol)

SPANBENCH_EXPORT_RETRY_S = "SPANBENCH_EXPORT_RETRY_S"
"""Seconds a span batch the exporter could not deliver (receiver down, 503) is retried
before it is dropped and counted as such. Default 60. The stock OTLP exporter's own retries
(within OTEL_EXPORTER_OTLP_TIMEOUT) run inside each attempt."""

DEFAULT_EXPORT_RETRY_S = 60.0


def export_retry_s(explicit: float | None = None) -> float:
    """The retry budget of one span batch: argument, then SPANBENCH_EXPORT_RETRY_S, then 60."""
    if explicit is not None:
        return explicit
    raw = _env(SPANBENCH_EXPORT_RETRY_S)
    if raw is None:
        return DEFAULT_EXPORT_RETRY_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{SPANBENCH_EXPORT_RETRY_S}={raw!r} is not a number of seconds") \
            from None
    if value < 0:
        raise ValueError(f"{SPANBENCH_EXPORT_RETRY_S} must be 0 or more, got {value}")
    return value

SPANBENCH_FAULT_DIR = "SPANBENCH_FAULT_DIR"
"""Test-only: the directory through which a fault test and a run meet (the drivers' pauses
below; the stack's stall hook, see stack.settings). Unset: no fault hook is active."""

SPANBENCH_FAULT_PAUSE_AT = "SPANBENCH_FAULT_PAUSE_AT"
"""Test-only: iterations `suite/scenario#index,...` before which a driver pauses, outside
any timed region: it writes <SPANBENCH_FAULT_DIR>/<suite>.<scenario>.<index>.paused and waits
(at most FAULT_PAUSE_MAX_S) for <suite>.<scenario>.<index>.resume. A fault test injects its
fault while the run waits at a known point."""

FAULT_PAUSE_MAX_S = 120.0


def fault_dir() -> str | None:
    """SPANBENCH_FAULT_DIR, or None when fault hooks are off."""
    return _env(SPANBENCH_FAULT_DIR)


def fault_pause_points() -> frozenset[str]:
    """The iterations named by SPANBENCH_FAULT_PAUSE_AT, as `suite/scenario#index`."""
    raw = _env(SPANBENCH_FAULT_PAUSE_AT) or ""
    return frozenset(point.strip() for point in raw.split(",") if point.strip())


def orchestration_auth_headers() -> dict[str, str]:
    """The credential headers for the orchestration API, in tasker-core's client order."""
    token = _env(TASKER_ORCHESTRATION_AUTH_TOKEN) or _env(TASKER_AUTH_TOKEN)
    if token is not None:
        return {"Authorization": f"Bearer {token}"}
    key = _env(TASKER_API_KEY)
    if key is not None:
        return {_env(TASKER_API_KEY_HEADER) or "X-API-Key": key}
    return {}
