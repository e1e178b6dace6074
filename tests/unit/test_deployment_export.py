"""Before the suites the run says what to give a deployment it did not start so that its own
spans reach the run's sink: the sink's OTLP/gRPC endpoint when it has one (tasker-core exports
over gRPC only), the protocol, and the token header when the sink wants one (never the token)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanbench.runner import deployment_export
from spanbench.runner.deployment import Deployment

TOKEN = "never-printed-token"
OWN_GRPC, OWN_HTTP = "http://127.0.0.1:41001", "http://127.0.0.1:41002"


def _external(tmp_path: Path, endpoint: str = "http://stack-host:4318") -> Deployment:
    return Deployment("postgresql://h/db", "http://h:8080", (), endpoint, tmp_path)


def _own_sink(tmp_path: Path) -> Deployment:
    return Deployment("postgresql://h/db", "http://h:8080", (), OWN_HTTP, tmp_path,
                      started_sink=True, sink_grpc_endpoint=OWN_GRPC)


@pytest.fixture(autouse=True)
def no_sink_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPANBENCH_SINK_TOKEN", raising=False)


def test_the_run_s_own_sink_is_named_by_its_grpc_endpoint_and_a_lasting_one_is_proposed(
        tmp_path: Path) -> None:
    note = deployment_export.note(_own_sink(tmp_path), {})
    assert note is not None
    assert f"OTLP/gRPC at {OWN_GRPC} (OTLP/HTTP at {OWN_HTTP}) until the run ends" in note
    assert "'spanbench collect --grpc 127.0.0.1:4317 --listen 127.0.0.1:4318'" in note
    assert ("give the deployment OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 "
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc and run spanbench with "
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318") in note
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in note  # a collect sink without a token wants none


def test_with_a_configured_token_the_recipe_names_the_header_but_never_the_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANBENCH_SINK_TOKEN", TOKEN)
    note = str(deployment_export.note(_own_sink(tmp_path), {}))
    header = "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<SPANBENCH_SINK_TOKEN>"
    assert note.count(header) == 2  # the deployment's export and spanbench run's
    assert TOKEN not in note


def test_an_external_spanbench_sink_is_named_by_the_grpc_address_its_status_reports(
        tmp_path: Path) -> None:
    status = {"listen": {"http": "127.0.0.1:4318", "grpc": "127.0.0.1:4317"},
              "token_required": True}
    assert deployment_export.note(_external(tmp_path), status) == (
        "the deployment's spans: give the deployment "
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc "
        "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<SPANBENCH_SINK_TOKEN>")


@pytest.mark.parametrize(("listening", "named"), [
    ("0.0.0.0:4317", "http://stack-host:4317"), ("[::]:4317", "http://stack-host:4317"),
    ("[::1]:4317", "http://[::1]:4317")])
def test_a_sink_listening_on_every_address_is_reached_by_the_drivers_host(
        tmp_path: Path, listening: str, named: str) -> None:
    export = deployment_export.sink_export(_external(tmp_path),
                                           {"listen": {"grpc": listening}})
    assert (export.endpoint, export.protocol, export.token_required) == (named, "grpc", False)


def test_without_grpc_the_http_endpoint_is_given_and_the_gap_is_said(tmp_path: Path) -> None:
    no_grpc = deployment_export.note(_external(tmp_path), {"listen": {"grpc": None}})
    assert no_grpc is not None
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://stack-host:4318" in no_grpc
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in no_grpc
    assert "takes no OTLP/gRPC, which tasker-core exports: start it with --grpc" in no_grpc
    unknown = str(deployment_export.note(_external(tmp_path), {"error": "404"}))
    assert "did not say whether it takes OTLP/gRPC" in unknown


def test_nothing_to_say_when_the_run_started_the_stack(tmp_path: Path) -> None:
    ours = Deployment("postgresql://h/db", "http://h:8080", (), OWN_HTTP, tmp_path,
                      started_sink=True, started_stack=True, sink_grpc_endpoint=OWN_GRPC)
    assert deployment_export.note(ours, {}) is None
