"""What both receivers do with a request body: decode, screen, spool durably, count.

Transport-free: the HTTP and gRPC receivers map its results and exceptions onto their
status codes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from extract.receive.otlp_decode import decode_json, decode_protobuf, screen
from extract.receive.spool import SpoolWriter

INLINE_BODY_BYTES = 64 * 1024
"""Bodies up to this size are decoded on the event loop; larger ones in a worker thread."""


class Format(StrEnum):
    PROTOBUF = "protobuf"
    JSON = "json"


class Outcome(StrEnum):
    """How a request was answered; the keys of `requests` in /status."""

    OK = "ok"
    PARTIAL = "partial"
    BAD_REQUEST = "bad_request"
    UNAUTHENTICATED = "unauthenticated"
    UNSUPPORTED = "unsupported_media_type"
    TOO_LARGE = "too_large"
    OVERLOADED = "overloaded"
    SPOOL_ERROR = "spool_error"


@dataclass
class SinkCounters:
    """Counters behind GET /status. Each field has a single writer thread."""

    received_spans: int = 0
    accepted_spans: int = 0
    rejected_spans: int = 0
    written_spans: int = 0
    segments_converted: int = 0
    conversion_errors: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    services: Counter[str] = field(default_factory=Counter)
    """Accepted spans per exporting service (`service.name`; '' for none)."""

    def count(self, outcome: Outcome) -> None:
        self.requests[outcome.value] += 1


@dataclass(frozen=True)
class Prepared:
    """A decoded, screened request and the bytes to spool (None when nothing is accepted)."""

    payload: bytes | None
    accepted_spans: int
    rejected_spans: int
    error_message: str
    services: Mapping[str, int] = field(default_factory=dict)
    """Accepted spans per exporting service (`service.name`)."""


def prepare(body: bytes, fmt: Format) -> Prepared:
    """Decode and screen `body`; raises OtlpDecodeError when it is not a trace request."""
    request = decode_protobuf(body) if fmt is Format.PROTOBUF else decode_json(body)
    screened = screen(request)
    if screened.accepted_spans == 0:
        payload = None
    elif fmt is Format.PROTOBUF and screened.request is request:
        payload = body  # nothing removed: the bytes on the wire are the record
    else:
        payload = screened.request.SerializeToString()
    return Prepared(
        payload, screened.accepted_spans, screened.rejected_spans, screened.error_message,
        screened.services,
    )


class Ingestor:
    """Turns bodies into durable spool records and keeps the span counters."""

    def __init__(self, spool: SpoolWriter, counters: SinkCounters,
                 forward: Callable[[bytes], None] | None = None) -> None:
        self._spool = spool
        self.counters = counters
        self._forward = forward

    async def ingest(self, body: bytes, fmt: Format) -> Prepared:
        """Return once the accepted spans are durable.

        Raises OtlpDecodeError for an undecodable body and OSError (or SpoolError) when
        the spool cannot take the record.
        """
        if len(body) <= INLINE_BODY_BYTES:
            prepared = prepare(body, fmt)
        else:
            prepared = await asyncio.to_thread(prepare, body, fmt)
        counters = self.counters
        counters.received_spans += prepared.accepted_spans + prepared.rejected_spans
        counters.rejected_spans += prepared.rejected_spans
        if prepared.payload is not None:
            await self._spool.append(prepared.payload)
            counters.accepted_spans += prepared.accepted_spans
            counters.services.update(prepared.services)
            if self._forward is not None:
                self._forward(prepared.payload)
        counters.count(Outcome.PARTIAL if prepared.rejected_spans else Outcome.OK)
        return prepared
