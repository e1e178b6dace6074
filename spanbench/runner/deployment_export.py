"""What to give a deployment so that its own spans reach the sink of the run: the
OTEL_EXPORTER_OTLP_* variables, printed before the suites and named in the stack-phase caveat.

tasker-core exports over OTLP/gRPC only, so the sink's gRPC endpoint is named whenever it has
one. The run's own sink lives only as long as the run, on ports and with a token chosen for it,
so a deployment already running cannot be pointed at it: the practical path is a lasting
`spanbench collect` on fixed ports, which the deployment exports to over gRPC and spanbench run
is pointed at with OTEL_EXPORTER_OTLP_ENDPOINT (its OTLP/HTTP address).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from spanbench import settings
from spanbench.runner.deployment import Deployment

GRPC, HTTP = "grpc", "http/protobuf"
UNSPECIFIED_HOSTS = ("0.0.0.0", "::", "[::]", "")
TOKEN_HEADER = f"authorization=Bearer%20<{settings.SINK_TOKEN}>"
"""The header variable's value, the token left for the user to fill in (never printed)."""


@dataclass(frozen=True)
class ExportSettings:
    """Where and how a deployment exports to reach a sink."""

    endpoint: str
    protocol: str
    token_required: bool

    def variables(self) -> str:
        """The settings as the OTEL_EXPORTER_OTLP_* variables a deployment reads."""
        words = [f"{settings.OTEL_EXPORTER_OTLP_ENDPOINT}={self.endpoint}",
                 f"{settings.OTEL_EXPORTER_OTLP_PROTOCOL}={self.protocol}"]
        if self.token_required:
            words.append(f"{settings.OTEL_EXPORTER_OTLP_HEADERS}={TOKEN_HEADER}")
        return " ".join(words)


def sink_export(deployment: Deployment, status: Mapping[str, Any]) -> ExportSettings:
    """Where the deployment should export to reach the run's sink: its OTLP/gRPC endpoint when
    it has one (the run's own, or what an external spanbench sink's /status `listen` says),
    else the OTLP/HTTP endpoint the drivers use. `status`: the sink's /status."""
    token = deployment.started_sink or bool(status.get("token_required"))
    grpc = deployment.sink_grpc_endpoint or grpc_from_status(status, deployment.otlp_endpoint)
    if grpc is not None:
        return ExportSettings(grpc, GRPC, token)
    return ExportSettings(deployment.otlp_endpoint, HTTP, token)


def grpc_from_status(status: Mapping[str, Any], http_endpoint: str) -> str | None:
    """The OTLP/gRPC endpoint a spanbench sink's /status reports (`listen.grpc`), its host
    taken from `http_endpoint` when the sink listens on every address; None: no gRPC."""
    listen = status.get("listen")
    address = listen.get("grpc") if isinstance(listen, Mapping) else None
    if not isinstance(address, str) or not address:
        return None
    host, _, port = address.rpartition(":")
    if host in UNSPECIFIED_HOSTS:
        reached = urlsplit(http_endpoint).hostname or "127.0.0.1"
        host = f"[{reached}]" if ":" in reached else reached
    return f"http://{host}:{port}"


def collect_recipe() -> str:
    """How to give a running deployment a lasting endpoint: a `spanbench collect` on the
    default ports, the deployment exporting to it over gRPC, spanbench run over HTTP."""
    grpc = settings.CATALOGUE[settings.SINK_GRPC].default
    http = settings.CATALOGUE[settings.SINK_HTTP].default
    token = settings.env(settings.SINK_TOKEN) is not None
    run = f"{settings.OTEL_EXPORTER_OTLP_ENDPOINT}=http://{http}"
    if token:
        run += f" {settings.OTEL_EXPORTER_OTLP_HEADERS}={TOKEN_HEADER}"
    return (f"start a lasting sink with 'spanbench collect --grpc {grpc} --listen {http}', "
            f"give the deployment {ExportSettings(f'http://{grpc}', GRPC, token).variables()} "
            f"and run spanbench with {run}")


def note(deployment: Deployment, status: Mapping[str, Any]) -> str | None:
    """Before the suites, for a deployment the run did not start: what to give it so that its
    own spans reach the sink; None when the run started it (it exports there already)."""
    if deployment.started_stack:
        return None
    if deployment.started_sink:
        export = sink_export(deployment, status)
        return (f"the deployment's spans: this run's sink takes OTLP/{_transport(export)} at "
                f"{export.endpoint} (OTLP/HTTP at {deployment.otlp_endpoint}) until the run "
                f"ends, with a token of the run's; for a deployment already running, "
                f"{collect_recipe()}")
    export = sink_export(deployment, status)
    text = f"the deployment's spans: give the deployment {export.variables()}"
    if export.protocol != GRPC:
        known = ("; the receiver there did not say whether it takes OTLP/gRPC"
                 if "error" in status else
                 "; that sink takes no OTLP/gRPC, which tasker-core exports: start it with "
                 f"--grpc {settings.CATALOGUE[settings.SINK_GRPC].default}")
        text += known
    return text


def _transport(export: ExportSettings) -> str:
    return "gRPC" if export.protocol == GRPC else "HTTP"
