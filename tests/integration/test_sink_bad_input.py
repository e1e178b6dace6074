"""Bad input gets the OTLP-specified answer, and the sink keeps serving afterwards."""

from __future__ import annotations

import gzip
import json
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.sink_harness import SinkProcess, make_request

MAX_BODY = 4 * 1024 * 1024
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SinkProcess]:
    out = tmp_path_factory.mktemp("bad-input") / "runs"
    with SinkProcess(out, "--max-body-bytes", str(MAX_BODY)) as process:
        yield process


@pytest.fixture
def client(sink: SinkProcess) -> Iterator[httpx.Client]:
    """An HTTP client; after the test, the sink must still accept a valid request."""
    with httpx.Client(base_url=sink.http_url, timeout=30) as http:
        yield http
        request, _ = make_request(3, f"after-{uuid.uuid4().hex[:6]}")
        response = http.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 200, response.text


def _status(response: httpx.Response) -> Status:
    assert response.headers["content-type"] == "application/x-protobuf"
    return Status.FromString(response.content)


def gzip_bomb(inflated_mib: int = 1024) -> bytes:
    """A valid gzip stream of `inflated_mib` MiB of zeros in about 1 MB, built in well under
    a second: one fully flushed deflate segment of 1 MiB repeated."""
    zeros = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (inflated_mib << 20) & 0xFFFFFFFF)
    return header + segment * inflated_mib + end + trailer


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_malformed_protobuf_is_400_with_a_status(client: httpx.Client) -> None:
    response = client.post("/v1/traces", content=b"\xff\xff\xff\xff not protobuf", headers=PROTOBUF)
    assert response.status_code == 400
    assert "protobuf" in _status(response).message


@pytest.mark.parametrize("body", [b"{not json", b'{"resourceSpans": "nope"}', b"[]"])
def test_malformed_json_is_400_in_json(client: httpx.Client, body: bytes) -> None:
    response = client.post("/v1/traces", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"]


def test_corrupt_gzip_is_400(client: httpx.Client) -> None:
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = client.post("/v1/traces", content=b"\x1f\x8b\x08 broken", headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {}, {**PROTOBUF, "Content-Encoding": "br"}],
    ids=["text-plain", "no-content-type", "brotli"],
)
def test_unsupported_media_is_415(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.post("/v1/traces", content=b"x" * 1000, headers=headers)
    assert response.status_code == 415
    assert "supported" in response.text


def test_gzip_bomb_is_413_without_inflating(client: httpx.Client, sink: SinkProcess) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = client.post("/v1/traces", content=bomb, headers=headers)
    assert response.status_code == 413
    assert "inflated" in _status(response).message
    assert _peak_rss_bytes(sink.ready["pid"]) < 512 * 1024 * 1024


def test_oversized_body_is_413(client: httpx.Client) -> None:
    response = client.post("/v1/traces", content=bytes(MAX_BODY + 1), headers=PROTOBUF)
    assert response.status_code == 413
    assert str(MAX_BODY) in _status(response).message


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 65536 + 2):
            yield bytes(65536)

    response = client.post("/v1/traces", content=chunks(), headers=PROTOBUF)
    assert response.status_code == 413


def _with_invalid_spans() -> tuple[bytes, int]:
    request, _ = make_request(5, f"partial-{uuid.uuid4().hex[:6]}")
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].trace_id = bytes(16)
    spans[3].end_time_unix_nano = spans[3].start_time_unix_nano - 1
    return request.SerializeToString(), 2


def test_invalid_spans_are_a_partial_success(client: httpx.Client) -> None:
    body, rejected = _with_invalid_spans()
    response = client.post("/v1/traces", content=gzip.compress(body),
                           headers={**PROTOBUF, "Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == rejected
    assert "trace_id" in answer.partial_success.error_message


def test_invalid_spans_are_a_partial_success_in_json(client: httpx.Client) -> None:
    run_id = f"partial-json-{uuid.uuid4().hex[:6]}"
    span = {"traceId": "00" * 16, "spanId": "ab" * 8, "name": "bad",
            "startTimeUnixNano": "2", "endTimeUnixNano": "3",
            "attributes": [{"key": "bench.run_id", "value": {"stringValue": run_id}}]}  # fmt: skip
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = client.post("/v1/traces", content=json.dumps(body), headers=JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"  # int64 is a string in protobuf's JSON mapping
    assert partial["errorMessage"]


def test_grpc_bad_input(sink: SinkProcess) -> None:
    with grpc.insecure_channel(sink.grpc_address) as channel:
        raw = channel.unary_unary(EXPORT)
        with pytest.raises(grpc.RpcError) as caught:
            raw(b"\xff\xff\xff\xff not protobuf", timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        body, rejected = _with_invalid_spans()
        stub = TraceServiceStub(channel)
        answer = stub.Export(ExportTraceServiceRequest.FromString(body), timeout=10)
        assert answer.partial_success.rejected_spans == rejected
        with pytest.raises(grpc.RpcError) as caught:
            raw(bytes(MAX_BODY + 100), timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        request, _ = make_request(2, "grpc-after")
        assert not stub.Export(request, timeout=10).HasField("partial_success")


def test_health_and_status_count_outcomes(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    request, _ = make_request(1, "status-check")
    client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    client.post("/v1/traces", content=b"\xff", headers=PROTOBUF)
    status = client.get("/status").json()
    for key in ("received_spans", "accepted_spans", "rejected_spans", "written_spans",
                "backlog_bytes", "segments_pending"):  # fmt: skip
        assert isinstance(status[key], int)
    assert status["requests"]["ok"] > 0
    assert status["requests"]["bad_request"] > 0
    assert status["received_spans"] == status["accepted_spans"] + status["rejected_spans"]
    assert sum(status["services"].values()) == status["accepted_spans"]
