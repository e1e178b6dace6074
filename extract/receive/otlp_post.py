"""Send OTLP trace requests to an OTLP/HTTP receiver (the sink, a Collector, Jaeger).

Requests go as binary protobuf to `<endpoint>/v1/traces`. A 429/502/503/504 is retried
with backoff (the Retry-After the receiver names, else doubling), a bounded number of times;
a partial success is counted, not retried (the receiver has said the spans are invalid).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

RETRYABLE = frozenset({429, 502, 503, 504})
ATTEMPTS = 6
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


class PostError(RuntimeError):
    """The receiver refused or could not be reached; the message names it and the reason."""


@dataclass
class PostResult:
    requests: int = 0
    spans: int = 0
    rejected_spans: int = 0


def traces_url(endpoint: str) -> str:
    """`endpoint` as OTEL_EXPORTER_OTLP_ENDPOINT means it (a base URL), or a full /v1/traces URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(scope.spans) for resource in request.resource_spans
               for scope in resource.scope_spans)


def _retry_after(response: httpx.Response, backoff: float) -> float:
    header = response.headers.get("retry-after", "")
    return min(float(header), MAX_BACKOFF_S) if header.isdigit() else backoff


def post_one(client: httpx.Client, url: str, request: ExportTraceServiceRequest) -> int:
    """Post one request; the number of spans the receiver rejected. PostError on failure."""
    body = request.SerializeToString()
    backoff = FIRST_BACKOFF_S
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = client.post(url, content=body,
                                   headers={"Content-Type": "application/x-protobuf"})
        except httpx.HTTPError as error:
            if attempt == ATTEMPTS:
                raise PostError(f"cannot reach {url}: {error}; is the receiver running? "
                                "(start one with 'spanbench collect')") from error
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        if response.status_code == 200:
            reply = ExportTraceServiceResponse()
            if response.content and "protobuf" in response.headers.get("content-type", ""):
                reply.ParseFromString(response.content)
            return reply.partial_success.rejected_spans
        if response.status_code not in RETRYABLE or attempt == ATTEMPTS:
            raise PostError(f"{url} answered {response.status_code}: "
                            f"{response.text[:300].strip()}")
        time.sleep(_retry_after(response, backoff))
        backoff = min(backoff * 2, MAX_BACKOFF_S)
    raise AssertionError("unreachable")


def post_requests(endpoint: str, requests: Iterable[ExportTraceServiceRequest],
                  on_progress: Callable[[PostResult], None] | None = None,
                  timeout_s: float = 30.0,
                  headers: Mapping[str, str] | None = None) -> PostResult:
    """Post every request in order; the totals. PostError at the first that fails for good.

    `headers` go with every request (e.g. a sink's `authorization`).
    """
    url = traces_url(endpoint)
    result = PostResult()
    with httpx.Client(timeout=timeout_s, headers=dict(headers or {})) as client:
        for request in requests:
            result.rejected_spans += post_one(client, url, request)
            result.requests += 1
            result.spans += span_count(request)
            if on_progress is not None:
                on_progress(result)
    return result
