"""docker/compose*.yaml without a Docker engine: files, services, ports and URLs all line up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILES = sorted(DOCKER.glob("compose*.yaml"))
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
URL = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^@/\s,]*@)?([A-Za-z0-9_.-]+):(\d+)")
HOST_PORT = re.compile(r"^([A-Za-z0-9_.-]+):(\d+)$")


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict) and document.get("services"), path
    return document


@pytest.fixture(scope="module", params=COMPOSE_FILES, ids=lambda path: path.name)
def compose(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _listening(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on inside its container: `expose` and the container side of
    `ports`."""
    ports = {int(port) for port in service.get("expose", [])}
    for mapping in service.get("ports", []):
        ports.add(int(str(mapping).rsplit(":", 1)[-1].split("/")[0]))
    return ports


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def test_there_is_a_compose_file() -> None:
    assert DOCKER / "compose.yaml" in COMPOSE_FILES


def test_build_contexts_dockerfiles_and_mounted_files_exist(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    for name, service in _services(compose).items():
        build = service.get("build")
        if build is not None:
            context = (DOCKER / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        else:
            assert service.get("image"), f"{name} has neither image nor build"
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DOCKER / source).resolve().exists(), f"{name}: {source} is missing"
            else:
                assert source in named, f"{name}: volume {source} is not declared"


def test_depends_on_names_services_with_a_fitting_condition(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dependency: {"condition": "service_started"} for dependency in depends}
        for dependency, rule in depends.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule.get("condition", "service_started")
            assert condition in CONDITIONS, f"{name}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            if condition == "service_completed_successfully":
                assert not _listening(services[dependency]), f"{dependency} is a server"


def test_every_url_names_a_service_and_a_port_it_listens_on(compose: dict[str, Any]) -> None:
    services = _services(compose)
    checked = 0
    for name, service in services.items():
        texts = list(_environment(service).values()) + _command(service)
        for text in texts:
            for host, port in URL.findall(text):
                assert host in services, f"{name}: {text} names no service"
                assert int(port) in _listening(services[host]), f"{name}: {host}:{port}"
                checked += 1
    assert checked >= 5, "the URLs this test is about were not found"


def test_services_listen_where_their_command_and_healthcheck_say(
    compose: dict[str, Any],
) -> None:
    for name, service in _services(compose).items():
        command = _command(service)
        for flag in ("--port", "--listen"):
            if flag in command:
                value = command[command.index(flag) + 1]
                assert int(value.rsplit(":", 1)[-1]) in _listening(service), f"{name}: {flag}"
        health = " ".join(map(str, (service.get("healthcheck") or {}).get("test", [])))
        for _host, port in URL.findall(health):
            assert int(port) in _listening(service), f"{name}: healthcheck port {port}"


def test_published_ports_do_not_collide(compose: dict[str, Any]) -> None:
    published: dict[str, str] = {}
    for name, service in _services(compose).items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            assert len(parts) >= 2, f"{name}: publish {mapping} on a fixed host port"
            host_port = ":".join(parts[:-1])
            assert host_port not in published, f"{name} and {published.get(host_port)}"
            published[host_port] = name


def test_the_collector_mounts_this_repository_config_and_reaches_services() -> None:
    compose = _load(DOCKER / "compose.yaml")
    services = _services(compose)
    collector = next(s for s in services.values()
                     if "opentelemetry-collector-contrib" in s.get("image", ""))
    config_flag = next(part for part in _command(collector) if part.startswith("--config="))
    target = config_flag.split("=", 1)[1]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in collector["volumes"]}
    assert (DOCKER / mounts[target]).resolve() == REPO / "otel-collector" / "config.yaml"
    config = yaml.safe_load((REPO / "otel-collector" / "config.yaml").read_text())
    for exporter_id, exporter in config["exporters"].items():
        endpoint = exporter["endpoint"]
        match = URL.search(endpoint) or HOST_PORT.match(endpoint)
        assert match, f"{exporter_id}: {endpoint}"
        host, port = match.group(1), int(match.group(2))
        assert host in services and port in _listening(services[host]), exporter_id
    queue_dirs = {ext["directory"] for key, ext in config["extensions"].items()
                  if key.startswith("file_storage")}
    assert queue_dirs <= set(mounts), "the file_storage directory must be a volume"


def test_dockerfile_builds_from_python_311_slim_and_copies_existing_paths() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    copies = re.findall(r"^COPY (.+)$", text, re.MULTILINE)
    assert copies
    for line in copies:
        *sources, _destination = line.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    assert "pip install ." in text


def test_the_sink_writes_to_the_bucket_the_init_job_creates() -> None:
    services = _services(_load(DOCKER / "compose.yaml"))
    sink = services["sink"]
    out = _command(sink)[_command(sink).index("--out") + 1]
    bucket = out.removeprefix("s3://").split("/")[0]
    assert f"mb --ignore-existing minio/{bucket}" in " ".join(_command(services["minio-init"]))
    assert _environment(services["driver"])["AWS_ENDPOINT_URL_S3"] == \
        _environment(sink)["AWS_ENDPOINT_URL_S3"]
    driver_out = _command(services["driver"])[_command(services["driver"]).index("--out") + 1]
    assert driver_out == out
