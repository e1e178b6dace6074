"""Hostile OTLP/HTTP requests against a real sink process (Hypothesis).

Invariants: every answer is 200 or a 4xx carrying a google.rpc.Status message (a 503 only
with Retry-After), never a 500, never a hang; valid requests lose no span.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import httpx
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from extract.export.otlp_json import to_json
from tests.otlp_strategies import (
    hostile_spans,
    json_documents,
    requests,
    valid_spans,
)
from tests.sink_harness import SinkProcess

MAX_BODY = 64 * 1024
HEAVY = settings(max_examples=max(10, settings.default.max_examples // 4))
DURABLE = settings(max_examples=max(5, settings.default.max_examples // 10))
"""Each accepted request waits for an fsync: fewer examples."""

content_types = st.sampled_from([
    "application/x-protobuf", "application/json", "application/json; charset=utf-8",
    "APPLICATION/X-PROTOBUF", "text/plain", "", "application/x-protobuf;;;", "*/*",
])
encodings = st.sampled_from(["", "gzip", "deflate", "identity", "br", "gzip, gzip", "x-gzip"])
ENCODE = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress}


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SinkProcess]:
    out = tmp_path_factory.mktemp("hostile-sink") / "runs"
    with SinkProcess(out, "--max-body-bytes", str(MAX_BODY), grpc=False) as process:
        yield process


@pytest.fixture(scope="module")
def http(sink: SinkProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sink.http_url, timeout=10) as client:
        yield client


def _assert_answered(response: httpx.Response) -> None:
    assert response.status_code != 500 and response.status_code < 600, response.text
    if response.status_code == 200:
        return
    assert 400 <= response.status_code < 500 or (
        response.status_code == 503 and "retry-after" in response.headers
    ), response.status_code
    if response.headers["content-type"] == "application/json":
        status = json_format.Parse(response.content, Status())
    else:
        status = Status.FromString(response.content)
    assert status.message


@HEAVY
@given(st.binary(max_size=2048), content_types, encodings, st.booleans())
def test_arbitrary_bodies_and_headers(
    http: httpx.Client, body: bytes, media: str, encoding: str, compress: bool
) -> None:
    if compress and encoding in ENCODE:
        body = ENCODE[encoding](body)
    headers = {"content-type": media, "content-encoding": encoding}
    _assert_answered(http.post("/v1/traces", content=body, headers=headers))


@DURABLE
@given(requests(hostile_spans()), st.booleans(), st.sampled_from(["", "gzip"]))
def test_hostile_messages(
    http: httpx.Client, request: ExportTraceServiceRequest, as_json: bool, encoding: str
) -> None:
    if as_json:
        body, media = json.dumps(to_json(request)).encode(), "application/json"
    else:
        body, media = request.SerializeToString(), "application/x-protobuf"
    if encoding:
        body = gzip.compress(body)
    response = http.post("/v1/traces", content=body,
                         headers={"content-type": media, "content-encoding": encoding})
    _assert_answered(response)


@HEAVY
@given(json_documents)
def test_otlp_shaped_json(http: httpx.Client, document: object) -> None:
    body = json.dumps({"resourceSpans": document}).encode()
    _assert_answered(http.post("/v1/traces", content=body,
                               headers={"content-type": "application/json"}))


@DURABLE
@given(requests(valid_spans()).filter(lambda r: 0 < len(r.SerializeToString()) < MAX_BODY))
def test_valid_messages_are_accepted_whole(
    http: httpx.Client, request: ExportTraceServiceRequest
) -> None:
    response = http.post("/v1/traces", content=request.SerializeToString(),
                         headers={"content-type": "application/x-protobuf"})
    assert response.status_code == 200, response.content
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success"), answer


def test_the_sink_survived_and_counted(sink: SinkProcess) -> None:
    status = sink.status()
    assert status["requests"], status
