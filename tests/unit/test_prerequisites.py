"""Prerequisite checks name what failed and what to do; the banner follows docs/formats.md."""

from __future__ import annotations

import socket

from spanbench.runner import prerequisites
from spanbench.runner.prerequisites import BANNER_RULE, Check


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_fails_with_the_fix() -> None:
    check = prerequisites.database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/x")
    assert not check.ok
    assert "spanbench stack up" in check.fix


def test_an_unreachable_service_fails_with_the_fix() -> None:
    check = prerequisites.service("Orchestration", f"http://127.0.0.1:{_closed_port()}")
    assert not check.ok
    assert check.name == "Orchestration healthy"
    assert "TASKER_TEST_SKIP_HEALTH_CHECK" in check.fix


def test_the_banner_lists_each_check_and_the_verdict() -> None:
    passing = prerequisites.banner([Check("Database reachable", True, "PostgreSQL 15")])
    assert passing.splitlines() == [BANNER_RULE, "🔍 VERIFYING PREREQUISITES", BANNER_RULE,
                                    "✅ Database reachable: PostgreSQL 15",
                                    "✅ All prerequisites met", BANNER_RULE]
    failing = prerequisites.banner([Check("Sink accepting spans", False, "refused", "start it")])
    assert "❌ Sink accepting spans: refused" in failing
    assert "   → start it" in failing
    assert "❌ 1 prerequisite(s) missing" in failing
