"""Tracing setup from the OpenTelemetry environment variables."""

from __future__ import annotations

import logging
import os
import socket
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider

from instrument import settings
from instrument.tracing import setup_tracing, shutdown_tracing
from spanbench import settings as catalogue
from tests.otlp_capture import OtlpCapture


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


def _export_one(provider: TracerProvider, name: str = "probe") -> None:
    provider.get_tracer("test").start_span(name).end()
    assert shutdown_tracing(provider, timeout_s=5)


def test_no_endpoint_means_no_provider() -> None:
    assert setup_tracing("svc") is None
    assert shutdown_tracing(None)


def test_environment_names_the_service_and_resource(
    monkeypatch: pytest.MonkeyPatch,
    otlp_capture: OtlpCapture,
) -> None:
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_ENDPOINT, otlp_capture.endpoint)
    monkeypatch.setenv(catalogue.OTEL_SERVICE_NAME, "from-env")
    monkeypatch.setenv(catalogue.OTEL_RESOURCE_ATTRIBUTES, "deployment.environment=ci,team=perf")
    provider = setup_tracing("explicit")
    assert provider is not None
    _export_one(provider)
    (span,) = otlp_capture.get_spans(1)
    assert span.resource["service.name"] == "from-env"
    assert span.resource["deployment.environment"] == "ci"
    assert span.resource["team"] == "perf"


def test_explicit_service_name_is_the_default(
    monkeypatch: pytest.MonkeyPatch,
    otlp_capture: OtlpCapture,
) -> None:
    monkeypatch.setenv(catalogue.OTEL_RESOURCE_ATTRIBUTES, "team=perf")
    provider = setup_tracing("explicit", endpoint=otlp_capture.endpoint)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "explicit"
    monkeypatch.setenv(catalogue.OTEL_RESOURCE_ATTRIBUTES, "service.name=attr")
    assert settings.service_name("explicit") == "attr"
    _export_one(provider)
    assert otlp_capture.get_spans(1)[0].resource["service.name"] == "explicit"


def test_traces_endpoint_wins_over_the_base_endpoint(
    monkeypatch: pytest.MonkeyPatch,
    otlp_capture: OtlpCapture,
) -> None:
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_ENDPOINT, "http://127.0.0.1:9")
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, otlp_capture.traces_url)
    provider = setup_tracing()
    assert provider is not None
    _export_one(provider, "via-traces-endpoint")
    assert otlp_capture.get_spans(1)[0].name == "via-traces-endpoint"


def test_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.trace_export() is None
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318/")
    assert settings.trace_export() == settings.TraceExport(
        "http://collector:4318/v1/traces", settings.HTTP_PROTOBUF
    )
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")
    assert settings.trace_export() == settings.TraceExport("http://collector:4318/", "grpc")
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "http/protobuf")
    assert settings.trace_export("http://x:1") == settings.TraceExport(
        "http://x:1/v1/traces", settings.HTTP_PROTOBUF
    )


def test_grpc_provider_starts_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")
    provider = setup_tracing("svc", endpoint="http://127.0.0.1:9")
    assert provider is not None
    assert shutdown_tracing(provider, timeout_s=5)


def test_bad_configuration_turns_tracing_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_ENDPOINT, "http://127.0.0.1:9")
    monkeypatch.setenv(catalogue.OTEL_EXPORTER_OTLP_PROTOCOL, "http/json")
    with caplog.at_level(logging.ERROR):
        assert setup_tracing("svc") is None
    assert catalogue.OTEL_EXPORTER_OTLP_PROTOCOL in caplog.text


def test_shutdown_is_bounded_when_the_receiver_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv(catalogue.EXPORT_RETRY_S, "0")  # only the stock exporter's try
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        host, port = silent.getsockname()
        provider = setup_tracing("svc", endpoint=f"http://{host}:{port}")
        assert provider is not None
        provider.get_tracer("test").start_span("lost").end()
        assert not shutdown_tracing(provider, timeout_s=0.2)
        # Let the abandoned export give up here, so its complaint stays inside this test.
        for thread in threading.enumerate():
            if thread.name == "spanbench-tracing-shutdown":
                thread.join(timeout=10)
