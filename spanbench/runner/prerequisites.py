"""The checks a run makes before any timing starts, each with what to do when it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
import psycopg

BANNER_RULE = "═" * 79
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def database(url: str) -> Check:
    name = "Database reachable"
    try:
        with psycopg.connect(url, connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        return Check(name, False, str(error).strip().splitlines()[0],
                     "start it with 'spanbench stack up' or set DATABASE_URL")
    return Check(name, True, f"PostgreSQL {version[0] if version else '?'}")


def pgmq(url: str) -> Check:
    name = "PGMQ installed"
    try:
        with psycopg.connect(url, connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            found = conn.execute("SELECT to_regclass('pgmq.meta') IS NOT NULL").fetchone()
            tasker = conn.execute(
                "SELECT to_regproc('tasker.pgmq_send_with_notify') IS NOT NULL").fetchone()
    except psycopg.Error as error:
        return Check(name, False, str(error).strip().splitlines()[0],
                     "make the database reachable first")
    if not (found and found[0]):
        return Check(name, False, "no pgmq schema",
                     "run 'spanbench stack up' (it migrates), or CREATE EXTENSION pgmq")
    if not (tasker and tasker[0]):
        return Check(name, False, "PGMQ present but no tasker schema",
                     "run 'spanbench stack up' against this database to migrate it")
    return Check(name, True, "pgmq and the tasker schema are present")


def service(name: str, url: str) -> Check:
    """GET <url>/health answers 200."""
    try:
        response = httpx.get(f"{url}/health", timeout=CHECK_TIMEOUT_S)
    except httpx.HTTPError as error:
        return Check(f"{name} healthy", False, f"{url}: {error}",
                     "start it with 'spanbench stack up', or set TASKER_TEST_SKIP_HEALTH_CHECK=1 "
                     "to skip service checks")
    if response.status_code != 200:
        return Check(f"{name} healthy", False, f"{url}/health answered {response.status_code}",
                     f"see the service's log; its /health says: {response.text[:200]}")
    return Check(f"{name} healthy", True, url)


def sink(endpoint: str, headers: Mapping[str, str] | None = None) -> Check:
    """The OTLP/HTTP endpoint accepts an empty export request (sent with `headers`)."""
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    try:
        response = httpx.post(url, content=b"", timeout=CHECK_TIMEOUT_S,
                              headers={**(headers or {}),
                                       "content-type": "application/x-protobuf"})
    except httpx.HTTPError as error:
        return Check("Sink accepting spans", False, f"{url}: {error}",
                     "unset OTEL_EXPORTER_OTLP_ENDPOINT to let spanbench start its sink, "
                     "or start one with 'spanbench collect'")
    if response.status_code == 401:
        return Check("Sink accepting spans", False, f"{url} answered 401",
                     "the sink wants a bearer token: set OTEL_EXPORTER_OTLP_HEADERS="
                     "authorization=Bearer%20<token> (its SPANBENCH_SINK_TOKEN)")
    if response.status_code != 200:
        return Check("Sink accepting spans", False,
                     f"{url} answered {response.status_code}",
                     "check that the endpoint is an OTLP/HTTP trace receiver")
    return Check("Sink accepting spans", True, url)


def banner(checks: Sequence[Check]) -> str:
    """The seed's prerequisite block (docs/formats.md, console blocks)."""
    lines = [BANNER_RULE, "🔍 VERIFYING PREREQUISITES", BANNER_RULE]
    for check in checks:
        lines.append(f"{'✅' if check.ok else '❌'} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"   → {check.fix}")
    failed = [check for check in checks if not check.ok]
    lines.append("✅ All prerequisites met" if not failed
                 else f"❌ {len(failed)} prerequisite(s) missing")
    lines.append(BANNER_RULE)
    return "\n".join(lines)
