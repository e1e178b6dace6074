"""otel-collector/config.yaml: every component a pipeline or queue names is defined and used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from spanbench.settings import CATALOGUE, SINK_HTTP

CONFIG = Path(__file__).resolve().parents[2] / "otel-collector" / "config.yaml"
KINDS = ("receivers", "processors", "exporters")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text())


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def test_every_pipeline_component_is_defined(config: dict[str, Any]) -> None:
    pipelines = config["service"]["pipelines"]
    assert pipelines, "no pipeline"
    for name, pipeline in pipelines.items():
        for kind in KINDS:
            if kind == "processors" and kind not in pipeline:
                continue
            assert pipeline[kind], f"pipeline {name} has no {kind}"
            for component in pipeline[kind]:
                assert component in (config.get(kind) or {}), f"{name}: {kind[:-1]} {component}"


def test_every_defined_component_is_used(config: dict[str, Any]) -> None:
    pipelines = config["service"]["pipelines"].values()
    for kind in KINDS:
        used = {component for pipeline in pipelines for component in pipeline.get(kind, [])}
        assert set(config.get(kind) or {}) == used, kind
    assert set(config["extensions"]) == set(config["service"]["extensions"])


def test_memory_limiter_comes_first_then_batch(config: dict[str, Any]) -> None:
    for name, pipeline in config["service"]["pipelines"].items():
        processors = [_type(p) for p in pipeline["processors"]]
        assert processors[0] == "memory_limiter", name
        assert "batch" in processors, name


def test_exporters_retry_and_queue_on_a_defined_file_storage(config: dict[str, Any]) -> None:
    enabled = set(config["service"]["extensions"])
    for name, exporter in config["exporters"].items():
        assert exporter["retry_on_failure"]["enabled"] is True, name
        queue = exporter["sending_queue"]
        assert queue.get("enabled", True) is True, name
        storage = queue["storage"]
        assert _type(storage) == "file_storage", name
        assert storage in config["extensions"] and storage in enabled, name
        assert config["extensions"][storage]["directory"], storage


def test_endpoints_match_jaeger_and_the_sink(config: dict[str, Any]) -> None:
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    by_type = {_type(name): exporter for name, exporter in config["exporters"].items()}
    jaeger = by_type["otlp_grpc"]
    assert jaeger["endpoint"] == "jaeger:4317" and jaeger["tls"]["insecure"] is True
    sink_port = str(CATALOGUE[SINK_HTTP].default).rsplit(":", 1)[1]  # the sink's OTLP/HTTP port
    assert by_type["otlp_http"]["endpoint"] == f"http://sink:{sink_port}"
    assert "health_check" in config["extensions"]
