"""Settings of the OTLP sink: explicit argument, then environment variable, then default.

The variables (SPANBENCH_SINK_*, SPANBENCH_RUNS_DIR) are declared in spanbench.settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.store.runstore import RunStore
from spanbench import settings
from spanbench.settings import SettingsError


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


def _http_from_env() -> tuple[str, int]:
    return parse_address(settings.text(settings.SINK_HTTP), settings.SINK_HTTP)


def _grpc_from_env() -> tuple[str, int] | None:
    text = settings.text(settings.SINK_GRPC)
    return None if text == "off" else parse_address(text, settings.SINK_GRPC)


_FROM_ENV: dict[str, Callable[[], object]] = {
    "runs": RunStore.resolve,
    "http": _http_from_env,
    "grpc": _grpc_from_env,
    "max_backlog_bytes": lambda: settings.integer(settings.SINK_MAX_BACKLOG_BYTES),
    "max_body_bytes": lambda: settings.integer(settings.SINK_MAX_BODY_BYTES),
    "segment_bytes": lambda: settings.integer(settings.SINK_SEGMENT_BYTES),
    "segment_age_s": lambda: settings.number(settings.SINK_SEGMENT_AGE_S),
    "token": lambda: settings.env(settings.SINK_TOKEN),
    "forward_drain_s": lambda: settings.number(settings.SINK_FORWARD_DRAIN_S),
}
"""The fields a sink takes from the environment, each with its reader."""


@dataclass(frozen=True)
class SinkSettings:
    """Everything a sink process needs; `from_env` fills what is not given."""

    runs: RunStore
    """Where the Parquet parts go, a folder or a bucket (extract/store/runstore.py)."""
    http: tuple[str, int]
    grpc: tuple[str, int] | None
    max_backlog_bytes: int
    max_body_bytes: int
    segment_bytes: int
    segment_age_s: float
    token: str | None
    forward_drain_s: float
    retry_after_s: int = 1
    ready_file: Path | None = None
    forward: tuple[str, ...] = ()
    """OTLP/HTTP endpoints also sent each acknowledged request (extract/receive/forwarder.py)."""

    @classmethod
    def from_env(cls, **given: Any) -> SinkSettings:
        """The fields given, the others from their variables (a given field's is not read)."""
        read = {name: reader() for name, reader in _FROM_ENV.items() if name not in given}
        return cls(**read, **given)

    @property
    def spool(self) -> Path:
        """The spool directory, always on this machine: in the store's staging folder (the runs
        dir itself when it is local), with a name no run id can take."""
        return self.runs.staging_dir / ".spool"

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
