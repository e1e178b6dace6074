"""The checks a run makes before any timing starts, each with what to do when it fails.

A check of a part of the deployment names the `Need` it proves; a need the run does not name
at all is an `unnamed` check (⚠️): the suites that need it are skipped, the others run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
import psycopg

from instrument.drivers.base import Need

BANNER_RULE = "═" * 79
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    need: Need | None = None
    """The part of the deployment it checks; None: the run itself (its sink)."""
    unnamed: bool = False
    """Not ok because the run does not name this part: its suites are skipped (⚠️, not ❌)."""

    @property
    def mark(self) -> str:
        return "✅" if self.ok else "⚠️ " if self.unnamed else "❌"


@dataclass(frozen=True)
class SuiteReadiness:
    """Whether one suite can run on this deployment, decided before any timing."""

    suite: str
    runnable: bool
    reason: str = ""
    """Why it cannot run; empty when it can."""
    fix: str = ""
    broken: bool = False
    """It cannot run because something the run names is broken (❌), not merely absent (⚠️)."""
    caveat: str = ""
    """It runs, but part of what it reports may be missing (⚠️): why; `fix` says what to do."""

    @property
    def skipped(self) -> bool:
        return not self.runnable and not self.broken

    @property
    def failed(self) -> bool:
        return not self.runnable and self.broken

    @property
    def mark(self) -> str:
        if self.runnable:
            return "⚠️ " if self.caveat else "✅"
        return "❌" if self.broken else "⚠️ "

    def describe(self) -> str:
        if self.runnable:
            return f"ready; {self.caveat}" if self.caveat else "ready"
        return f"{'cannot run' if self.broken else 'skipped'}: {self.reason}"


def not_named(name: str, need: Need, variable: str) -> Check:
    """A part of the deployment the environment does not name."""
    return Check(name, False, f"{variable} is not set", f"set {variable} to measure the "
                 "suites that need it", need=need, unnamed=True)


def database(url: str) -> Check:
    name = "Database reachable"
    try:
        with psycopg.connect(url, connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        return Check(name, False, str(error).strip().splitlines()[0],
                     "start it with 'spanbench stack up' or set DATABASE_URL", Need.DATABASE)
    return Check(name, True, f"PostgreSQL {version[0] if version else '?'}", need=Need.DATABASE)


def pgmq(url: str) -> Check:
    name = "PGMQ installed"
    try:
        with psycopg.connect(url, connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            found = conn.execute("SELECT to_regclass('pgmq.meta') IS NOT NULL").fetchone()
            tasker = conn.execute(
                "SELECT to_regproc('tasker.pgmq_send_with_notify') IS NOT NULL").fetchone()
    except psycopg.Error as error:
        return Check(name, False, str(error).strip().splitlines()[0],
                     "make the database reachable first", Need.DATABASE)
    if not (found and found[0]):
        return Check(name, False, "no pgmq schema", "install PGMQ (CREATE EXTENSION pgmq); a "
                     "database only for spanbench's stack: 'spanbench stack migrate'",
                     Need.DATABASE)
    if not (tasker and tasker[0]):
        return Check(name, False, "PGMQ present but no tasker schema",
                     "point DATABASE_URL at the deployment's database; a database only for "
                     "spanbench's stack: 'spanbench stack migrate'", Need.DATABASE)
    return Check(name, True, "pgmq and the tasker schema are present", need=Need.DATABASE)


def service(name: str, url: str, need: Need | None = None) -> Check:
    """GET <url>/health answers 200."""
    try:
        response = httpx.get(f"{url}/health", timeout=CHECK_TIMEOUT_S)
    except httpx.HTTPError as error:
        return Check(f"{name} healthy", False, f"{url}: {error}",
                     "start it with 'spanbench stack up', or set TASKER_TEST_SKIP_HEALTH_CHECK=1 "
                     "to skip service checks", need)
    if response.status_code != 200:
        return Check(f"{name} healthy", False, f"{url}/health answered {response.status_code}",
                     f"see the service's log; its /health says: {response.text[:200]}", need)
    return Check(f"{name} healthy", True, url, need=need)


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


def banner(checks: Sequence[Check], suites: Sequence[SuiteReadiness] = ()) -> str:
    """The seed's prerequisite block (docs/formats.md, console blocks): each check, then each
    suite with what it needs (✅ ready, ⚠️ skipped, ❌ cannot run), then the verdict."""
    lines = [BANNER_RULE, "🔍 VERIFYING PREREQUISITES", BANNER_RULE]
    for check in checks:
        lines.append(f"{check.mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"   → {check.fix}")
    for suite in suites:
        lines.append(f"{suite.mark} {suite.suite}: {suite.describe()}")
        if suite.fix:
            lines.append(f"   → {suite.fix}")
    failed = [check for check in checks if not check.ok and not check.unnamed]
    failed_suites = [suite for suite in suites if suite.failed]
    skipped = [suite for suite in suites if suite.skipped]
    caveats = [suite for suite in suites if suite.runnable and suite.caveat]
    if failed or failed_suites:
        verdict = f"❌ {len(failed)} prerequisite(s) missing"
        if failed_suites:
            verdict += f"; {len(failed_suites)} suite(s) cannot run"
    elif suites and not any(suite.runnable for suite in suites):
        verdict = "❌ no suite asked for can run on this deployment"
    elif skipped:
        verdict = f"⚠️  {len(skipped)} suite(s) skipped; the others are ready"
    elif caveats:
        verdict = f"⚠️  {len(caveats)} suite(s) ready with a caveat; the others are ready"
    else:
        verdict = "✅ All prerequisites met"
    lines += [verdict, BANNER_RULE]
    return "\n".join(lines)
