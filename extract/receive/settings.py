"""Settings of the OTLP sink: explicit argument, then environment variable, then default.

Every environment variable the sink reads is named once here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from extract.store.object_store import S3Runs
from extract.store.runstore import RunStore

SINK_HTTP = "SPANBENCH_SINK_HTTP"
"""host:port of the OTLP/HTTP listener. Default: 127.0.0.1:4318 (port 0 picks a free port)."""

SINK_GRPC = "SPANBENCH_SINK_GRPC"
"""host:port of the OTLP/gRPC listener, or `off`. Default: 127.0.0.1:4317."""

SINK_OUT = "SPANBENCH_SINK_OUT"
"""Directory holding one sub-directory per run id, or `s3://bucket/prefix` for the same
layout in a bucket (see extract/store/object_store.py). Default: `<spanbench home>/runs`."""

SINK_MAX_BACKLOG_BYTES = "SPANBENCH_SINK_MAX_BACKLOG_BYTES"
"""Bound on request bytes in flight plus spooled bytes not yet in Parquet; above it the
sink answers 503 / UNAVAILABLE. Default: 256 MiB."""

SINK_MAX_BODY_BYTES = "SPANBENCH_SINK_MAX_BODY_BYTES"
"""Largest request accepted, before and after decompression; above it: 413. Default: 32 MiB."""

SINK_SEGMENT_BYTES = "SPANBENCH_SINK_SEGMENT_BYTES"
"""A spool segment is sealed (and handed to the converter) past this size. Default: 32 MiB."""

SINK_SEGMENT_AGE_S = "SPANBENCH_SINK_SEGMENT_AGE_S"
"""A non-empty spool segment is sealed after this many seconds. Default: 1."""

SINK_FORWARD_DRAIN_S = "SPANBENCH_SINK_FORWARD_DRAIN_S"
"""On stopping, seconds the sink keeps sending what is queued for its --forward targets before
it gives up on the rest (counted and logged). Default: 10."""

SINK_TOKEN = "SPANBENCH_SINK_TOKEN"
"""When set, OTLP export requests must carry it: `Authorization: Bearer <token>` over HTTP,
`authorization` metadata over gRPC (exporters: OTEL_EXPORTER_OTLP_HEADERS=
`authorization=Bearer%20<token>`); without it, or with another: 401 / UNAUTHENTICATED.
/health and /status stay open. Default: unset (no token asked for)."""

DEFAULT_HTTP = "127.0.0.1:4318"
DEFAULT_GRPC = "127.0.0.1:4317"
MIB = 1024 * 1024


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and the fix."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r} is not a whole number of bytes") from error


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from error


def parse_address(text: str, what: str) -> tuple[str, int]:
    """`host:port` → (host, port); `[::1]:4318` for IPv6."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise SettingsError(f"{what} {text!r} is not host:port (e.g. 127.0.0.1:4318)")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise SettingsError(f"{what} {text!r}: port must be 0..65535")
    return host.strip("[]"), number


def runs_dir(explicit: str | os.PathLike[str] | None = None, home: Path | None = None) -> Path:
    """The local folder a sink writes to (extract/store/runstore.py resolves the runs dir)."""
    return RunStore.resolve(explicit, home).staging_dir


def _grpc_default() -> tuple[str, int] | None:
    text = os.environ.get(SINK_GRPC, DEFAULT_GRPC)
    return None if text == "off" else parse_address(text, SINK_GRPC)


@dataclass(frozen=True)
class SinkSettings:
    """Everything a sink process needs; fields default from the environment."""

    out: Path = field(default_factory=runs_dir)
    http: tuple[str, int] = field(
        default_factory=lambda: parse_address(os.environ.get(SINK_HTTP, DEFAULT_HTTP), SINK_HTTP)
    )
    grpc: tuple[str, int] | None = field(default_factory=_grpc_default)
    max_backlog_bytes: int = field(
        default_factory=lambda: _env_int(SINK_MAX_BACKLOG_BYTES, 256 * MIB)
    )
    max_body_bytes: int = field(default_factory=lambda: _env_int(SINK_MAX_BODY_BYTES, 32 * MIB))
    segment_bytes: int = field(default_factory=lambda: _env_int(SINK_SEGMENT_BYTES, 32 * MIB))
    segment_age_s: float = field(default_factory=lambda: _env_float(SINK_SEGMENT_AGE_S, 1.0))
    token: str | None = field(default_factory=lambda: os.environ.get(SINK_TOKEN) or None)
    retry_after_s: int = 1
    ready_file: Path | None = None
    forward: tuple[str, ...] = ()
    forward_drain_s: float = field(default_factory=lambda: _env_float(SINK_FORWARD_DRAIN_S, 10.0))
    """OTLP/HTTP endpoints also sent each acknowledged request (extract/receive/forwarder.py)."""
    store: S3Runs | None = None
    """When set, Parquet goes to this bucket; `out` then holds only the spool."""

    @property
    def destination(self) -> Path | S3Runs:
        """Where the Parquet parts go."""
        return self.store if self.store is not None else self.out

    @property
    def spool(self) -> Path:
        """The spool directory: inside `out`, with a name no run id can take."""
        return self.out / ".spool"

    def check(self) -> None:
        """Raise SettingsError naming the first unusable value."""
        for name, value in (
            ("max backlog bytes", self.max_backlog_bytes),
            ("max body bytes", self.max_body_bytes),
            ("segment bytes", self.segment_bytes),
        ):
            if value <= 0:
                raise SettingsError(f"{name} must be positive, got {value}")
        if self.segment_age_s <= 0:
            raise SettingsError(f"segment age must be positive, got {self.segment_age_s}")
        for url in self.forward:
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"forward endpoint {url!r} is not an OTLP/HTTP URL: give "
                                    "one like http://localhost:4318")
