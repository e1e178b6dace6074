"""The variables `spanbench run` reads, each named once (the seed's meanings, and OTel's own)."""

from __future__ import annotations

import os

from opentelemetry.util.re import parse_env_headers

DATABASE_URL = "DATABASE_URL"
"""The deployment's database; unset: the run starts a throwaway cluster."""

TASKER_TEST_ORCHESTRATION_URL = "TASKER_TEST_ORCHESTRATION_URL"
"""An orchestration service to measure; unset: the run starts the reference stack."""

TASKER_TEST_WORKER_URL = "TASKER_TEST_WORKER_URL"
"""Worker service URL(s), comma-separated, checked for health before the run."""

TASKER_TEST_SKIP_HEALTH_CHECK = "TASKER_TEST_SKIP_HEALTH_CHECK"
"""Any value but empty, 0 or false: skip the services' health checks."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Where spans go; unset: the run starts its own sink and reads the spans back from Parquet."""

SPANBENCH_SETTLE_S = "SPANBENCH_SETTLE_S"
"""With an external OTLP endpoint: seconds the run's span count must stay unchanged before the
reports read it (spans are still in flight after the drivers flush). Default: 8."""

OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
"""Headers of every OTLP export (`key=value,…`, values percent-encoded). `spanbench run` sets
it for the services it starts when their sink wants a token (SPANBENCH_SINK_TOKEN)."""


def env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def flag(name: str) -> bool:
    return (env(name) or "").lower() not in ("", "0", "false", "no")


def otlp_headers() -> dict[str, str] | None:
    """OTEL_EXPORTER_OTLP_HEADERS, parsed as the exporters do (None when unset)."""
    raw = env(OTEL_EXPORTER_OTLP_HEADERS)
    return None if raw is None else parse_env_headers(raw, liberal=True)


def urls(name: str) -> tuple[str, ...]:
    return tuple(part.strip().rstrip("/") for part in (env(name) or "").split(",")
                 if part.strip())


# ── the runs directory (extract/store/runstore.py) ──

RUNS_DIR = "SPANBENCH_RUNS_DIR"
"""Runs directory of every command, or s3://bucket/prefix; default <SPANBENCH_HOME>/runs."""

RUNS_DIR_ALIAS = "SPANBENCH_SINK_OUT"
"""The older name of SPANBENCH_RUNS_DIR, still read when that is unset."""
