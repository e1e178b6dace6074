"""The stack's side of tracing: one phase recorder per process, flushed after each unit of work."""

from __future__ import annotations

import json
import os
import uuid

from opentelemetry.sdk.trace import TracerProvider

from instrument import settings as tracing_settings
from instrument.delivery import ExportCounts
from instrument.recorder import PhaseRecorder
from instrument.tracing import setup_tracing, shutdown_tracing
from spanbench import settings
from spanbench.vocabulary import (
    DB_SYSTEM_POSTGRESQL,
    MESSAGING_SYSTEM_PGMQ,
    Attr,
    Source,
)

SHUTDOWN_TIMEOUT_S = 8.0
"""How long a stopping process waits for its last spans to leave (the supervisor kills at 10)."""


class Telemetry:
    """Spans of one stack process; exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

    def __init__(self, service_name: str) -> None:
        self.service_name = tracing_settings.service_name(service_name) or service_name
        self.instance_id = uuid.uuid4().hex
        self.counts = ExportCounts()
        self.provider: TracerProvider | None = setup_tracing(
            service_name, counts=self.counts, instance_id=self.instance_id)
        self.recorder = PhaseRecorder(self.provider, scope="spanbench.stack",
                                      base_attributes={Attr.SOURCE: Source.TRACED})

    def flush(self) -> None:
        self.recorder.flush()

    def close(self) -> None:
        self.recorder.flush()
        flushed = True
        if self.provider is not None:
            flushed = shutdown_tracing(self.provider, timeout_s=SHUTDOWN_TIMEOUT_S)
        self._write_counts(flushed)

    def _write_counts(self, flushed: bool) -> None:
        directory = settings.path(settings.TELEMETRY_COUNTS_DIR)
        if directory is None or self.provider is None:
            return
        record = {"service_name": self.service_name, "instance_id": self.instance_id,
                  "pid": os.getpid(),
                  "spans_emitted": self.recorder.spans_emitted, **self.counts.as_dict(),
                  "flushed_in_time": flushed}
        path = directory / f"{self.service_name}-{os.getpid()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(path)


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
