"""The stack's side of tracing: one phase recorder per process, flushed after each unit of work."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from instrument.recorder import PhaseRecorder
from instrument.tracing import setup_tracing, shutdown_tracing
from spanbench.vocabulary import (
    DB_SYSTEM_POSTGRESQL,
    MESSAGING_SYSTEM_PGMQ,
    Attr,
)


class Telemetry:
    """Spans of one stack process; exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

    def __init__(self, service_name: str) -> None:
        self.provider: TracerProvider | None = setup_tracing(service_name)
        self.recorder = PhaseRecorder(self.provider, scope="spanbench.stack")

    def flush(self) -> None:
        self.recorder.flush()

    def close(self) -> None:
        self.recorder.flush()
        if self.provider is not None:
            shutdown_tracing(self.provider)


def db_attributes(operation: str, query: str) -> dict[str, str]:
    """Database semantic-convention attributes of a phase that is one SQL statement."""
    return {
        Attr.DB_SYSTEM: DB_SYSTEM_POSTGRESQL,
        Attr.DB_OPERATION: operation,
        Attr.DB_QUERY_TEXT: " ".join(query.split()),
    }


def messaging_attributes(operation_type: str, queue: str) -> dict[str, str]:
    """Messaging semantic-convention attributes (send, receive, process, settle) for PGMQ."""
    return {
        Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
        Attr.MESSAGING_OPERATION_TYPE: operation_type,
        Attr.MESSAGING_DESTINATION: queue,
    }
