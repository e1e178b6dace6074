"""The sink's security defaults: loopback only, an optional bearer token, run ids that cannot
leave the runs directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from extract.receive import receiver_grpc, receiver_http
from extract.receive.receiver_grpc import SERVICE
from extract.receive.settings import SinkSettings
from extract.store.runstore import RunStore
from spanbench import security
from spanbench.settings import CATALOGUE, SINK_GRPC, SINK_HTTP, SINK_TOKEN
from tests.listening import assert_loopback_only
from tests.sink_harness import REPO, SinkProcess, count_spans, make_request

pytestmark = pytest.mark.timeout(90)

TOKEN = "s3cret-token-for-tests"
PROTOBUF = {"content-type": "application/x-protobuf"}


def test_the_default_listeners_are_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SINK_HTTP, raising=False)
    monkeypatch.delenv(SINK_GRPC, raising=False)
    monkeypatch.delenv(SINK_TOKEN, raising=False)
    settings = SinkSettings.from_env()
    assert settings.http == ("127.0.0.1", 4318) and CATALOGUE[SINK_HTTP].default == "127.0.0.1:4318"
    assert settings.grpc == ("127.0.0.1", 4317) and CATALOGUE[SINK_GRPC].default == "127.0.0.1:4317"
    assert settings.token is None


def test_the_sink_listens_on_loopback_only(tmp_path: Path) -> None:
    with SinkProcess(tmp_path / "runs") as sink:
        assert sink.process is not None
        found = assert_loopback_only(sink.process.pid)
        ports = {port for _, port in found}
        assert int(sink.ready["http"].rsplit(":", 1)[1]) in ports
        assert int(sink.ready["grpc"].rsplit(":", 1)[1]) in ports


def _export(channel: grpc.Channel, body: bytes, metadata: tuple = ()) -> bytes:
    export = channel.unary_unary(f"/{SERVICE}/Export")  # bytes in, bytes out
    return export(body, metadata=metadata, timeout=10)


def test_a_token_is_required_over_http_and_grpc(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    request, _ = make_request(3, "authorised")
    body = request.SerializeToString()
    with SinkProcess(out, env={"SPANBENCH_SINK_TOKEN": TOKEN}) as sink:
        url = sink.traces_url
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN},
                        {"authorization": f"Basic {TOKEN}"}):
            answer = httpx.post(url, content=body, headers={**PROTOBUF, **headers}, timeout=10)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"].startswith("Bearer")
            status = Status.FromString(answer.content)
            assert status.code == receiver_http.UNAUTHENTICATED
            assert "bearer token" in status.message
        json_answer = httpx.post(url, json={"resourceSpans": []}, timeout=10)
        assert json_answer.status_code == 401 and "bearer token" in json_answer.json()["message"]
        right = httpx.post(url, content=body,
                           headers={**PROTOBUF, "authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert right.status_code == 200
        assert httpx.get(f"{sink.http_url}/health", timeout=5).status_code == 200  # open
        assert httpx.get(f"{sink.http_url}/status", timeout=5).status_code == 200  # open

        with grpc.insecure_channel(sink.grpc_address) as channel:
            for metadata in ((), (("authorization", "Bearer wrong"),)):
                with pytest.raises(grpc.RpcError) as refused:
                    _export(channel, body, metadata)
                assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
                assert "bearer token" in refused.value.details()
            answer = _export(channel, body, (("authorization", f"Bearer {TOKEN}"),))
            assert ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans == 0
        status = sink.status()
        assert status["requests"]["unauthenticated"] == 7
        assert status["accepted_spans"] == 6
        assert sink.stop() == 0
    assert count_spans(out) == {"authorised": (6, 3)}  # the same 3 spans, sent twice


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_stock_exporters_authenticate_with_otel_exporter_otlp_headers(
    tmp_path: Path, protocol: str
) -> None:
    out = tmp_path / "runs"
    with SinkProcess(out, env={"SPANBENCH_SINK_TOKEN": TOKEN}) as sink:
        endpoint = sink.traces_url if protocol == "http" else sink.grpc_address
        env = {**os.environ, "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{TOKEN}"}
        client = subprocess.run(
            [sys.executable, "-m", "tests.sink_client", endpoint, "headers", "600", protocol],
            cwd=REPO, env=env, capture_output=True, timeout=60)
        assert client.returncode == 0, client.stdout
        assert sink.stop() == 0
    assert count_spans(out) == {"headers": (600, 600)}


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    assert security.token_matches("abc", "abc") and not security.token_matches("abd", "abc")
    assert calls == [(b"abc", b"abc"), (b"abd", b"abc")]
    assert not security.token_matches(None, "abc")
    # both receivers go through it
    assert receiver_http.token_matches is security.token_matches
    assert receiver_grpc.token_matches is security.token_matches


HOSTILE_RUN_IDS = ["../escape", "../../../../tmp/escape", "/tmp/absolute", "a/../../b",
                   ".hidden", "..", "run\n", "nul\x00byte", "x" * 129, "x'; DROP TABLE spans; --"]


def test_hostile_run_ids_are_rejected_and_nothing_leaves_the_runs_dir(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    out = sandbox / "runs"
    with SinkProcess(out) as sink:
        for run_id in HOSTILE_RUN_IDS:
            request, _ = make_request(2, "fine")
            hostile, _ = make_request(1, run_id)
            request.resource_spans.extend(hostile.resource_spans)
            answer = httpx.post(sink.traces_url, content=request.SerializeToString(),
                                headers=PROTOBUF, timeout=10)
            assert answer.status_code == 200, run_id
            partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
            assert partial.rejected_spans == 1, run_id
            assert "not a valid run id" in partial.error_message
        assert sink.stop() == 0
    assert count_spans(out) == {"fine": (2 * len(HOSTILE_RUN_IDS), 2 * len(HOSTILE_RUN_IDS))}
    assert {entry.name for entry in out.iterdir()} <= {"fine", ".spool"}
    assert list(tmp_path.iterdir()) == [sandbox]
    beside = [entry.name for entry in sandbox.iterdir() if entry != out]
    assert all(name.startswith("sink-") for name in beside), beside  # the harness's log
    assert not Path("/tmp/absolute").exists() and not Path("/tmp/escape").exists()


def test_the_runs_own_sink_is_loopback_and_wants_the_runs_token(tmp_path: Path) -> None:
    from spanbench.runner.deployment import start_sink

    sink = start_sink(RunStore.at(tmp_path / "runs"), tmp_path / "logs", token=TOKEN)
    try:
        assert sink.endpoint.startswith("http://127.0.0.1:")
        assert_loopback_only(sink.process.pid)
        request, _ = make_request(1, "own")
        url = f"{sink.endpoint}/v1/traces"
        body = request.SerializeToString()
        assert httpx.post(url, content=body, headers=PROTOBUF, timeout=10).status_code == 401
        answer = httpx.post(url, content=body, timeout=10,
                            headers={**PROTOBUF, "authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
    finally:
        assert sink.stop() == 0
    assert count_spans(tmp_path / "runs") == {"own": (1, 1)}


def test_spanbench_import_sends_otel_exporter_otlp_headers(tmp_path: Path) -> None:
    from extract.export.otlp_json import write_lines

    request, _ = make_request(4, "imported")
    exported = tmp_path / "traces.jsonl"
    with exported.open("w", encoding="utf-8") as out:
        write_lines([request], out)
    out_dir = tmp_path / "runs"
    with SinkProcess(out_dir, env={"SPANBENCH_SINK_TOKEN": TOKEN}) as sink:
        command = [sys.executable, "-m", "spanbench", "import", str(exported),
                   "--endpoint", sink.http_url]
        refused = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "OTEL_EXPORTER_OTLP_HEADERS": ""})
        assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr
        sent = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "OTEL_EXPORTER_OTLP_HEADERS":
                                   f"authorization=Bearer%20{TOKEN}"})
        assert sent.returncode == 0, sent.stderr
        assert sink.stop() == 0
    assert count_spans(out_dir) == {"imported": (4, 4)}
