"""Each suite runs only when the run names what it needs; the banner says which and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from instrument.drivers.base import Need
from spanbench.runner import job, readiness
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import Check, SuiteReadiness, banner, not_named
from spanbench.runner.suites import DRIVERS

DATABASE_OK = Check("Database reachable", True, "PostgreSQL 16", need=Need.DATABASE)
SINK_OK = Check("Sink accepting spans", True, "http://127.0.0.1:1/v1/traces")
DATABASE_ONLY = [DATABASE_OK,
                 not_named("Orchestration healthy", Need.ORCHESTRATION,
                           "TASKER_TEST_ORCHESTRATION_URL"),
                 not_named("Workers healthy", Need.WORKERS, "TASKER_TEST_WORKER_URL"),
                 SINK_OK]


def _supported(suite: str) -> str | None:
    return None


def _assess(checks: list[Check], suites: list[str] | None = None,
            unsupported: Callable[[str], str | None] = _supported) -> dict[str, SuiteReadiness]:
    chosen = suites or list(DRIVERS)
    plan = readiness.assess({s: DRIVERS[s].NEEDS for s in chosen}, checks, unsupported)
    return {entry.suite: entry for entry in plan}


def test_every_driver_declares_what_it_needs() -> None:
    assert {suite: set(driver.NEEDS) for suite, driver in DRIVERS.items()} == {
        "task_initialization": set(Need), "sql_functions": {Need.DATABASE},
        "event_propagation": {Need.DATABASE}, "worker_execution": set(Need),
        "step_enqueueing": set(Need), "handler_overhead": set(), "e2e_latency": set(Need)}


def test_a_database_alone_runs_the_database_suites_and_skips_the_rest_naming_what_to_set(
) -> None:
    plan = _assess(DATABASE_ONLY)
    runnable = sorted(suite for suite, entry in plan.items() if entry.runnable)
    assert runnable == ["event_propagation", "handler_overhead", "sql_functions"]
    e2e = plan["e2e_latency"]
    assert e2e.skipped and not e2e.failed
    assert "orchestration API and workers" in e2e.reason
    assert "TASKER_TEST_ORCHESTRATION_URL" in e2e.fix


def test_a_named_but_broken_need_makes_its_suites_fail_not_skip() -> None:
    broken = Check("Database reachable", False, "connection refused", "start it",
                   need=Need.DATABASE)
    plan = _assess([broken, SINK_OK], ["sql_functions", "handler_overhead"])
    assert plan["sql_functions"].failed
    assert plan["sql_functions"].reason == "Database reachable: connection refused"
    assert plan["handler_overhead"].runnable


def test_the_drivers_own_probe_skips_a_suite_the_system_cannot_run() -> None:
    asked: list[str] = []

    def unsupported(suite: str) -> str | None:
        asked.append(suite)
        return "no step rewinds here" if suite == "worker_execution" else None

    plan = _assess([DATABASE_OK, SINK_OK], ["sql_functions", "worker_execution", "e2e_latency"],
                   unsupported)
    assert asked == ["sql_functions", "worker_execution", "e2e_latency"]
    assert plan["worker_execution"].skipped
    assert plan["worker_execution"].reason == "no step rewinds here"


def test_the_banner_shows_a_row_per_suite_and_an_honest_verdict() -> None:
    plan = list(_assess(DATABASE_ONLY, ["sql_functions", "e2e_latency"]).values())
    text = banner(DATABASE_ONLY, plan)
    assert "✅ sql_functions: ready" in text
    assert "⚠️  e2e_latency: skipped: needs an orchestration API and workers" in text
    assert "⚠️  Orchestration healthy: TASKER_TEST_ORCHESTRATION_URL is not set" in text
    assert "✅ All prerequisites met" not in text
    assert "⚠️  1 suite(s) skipped; the others are ready" in text

    broken = Check("Database reachable", False, "refused", "start it", need=Need.DATABASE)
    failing = banner([broken, SINK_OK],
                     list(_assess([broken, SINK_OK], ["sql_functions"]).values()))
    assert "❌ sql_functions: cannot run: Database reachable: refused" in failing
    assert "❌ 1 prerequisite(s) missing; 1 suite(s) cannot run" in failing


def test_nothing_runnable_is_said_in_the_verdict() -> None:
    plan = list(_assess(DATABASE_ONLY, ["e2e_latency"]).values())
    assert "❌ no suite asked for can run" in banner(DATABASE_ONLY, plan)


def test_check_marks_a_part_the_run_does_not_name_as_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKER_TEST_SKIP_HEALTH_CHECK", "1")
    deployment = Deployment(None, None, (), "http://127.0.0.1:9", tmp_path)
    checks = job.check(deployment, job.needs_of(["e2e_latency"]))
    unnamed = {check.name: check for check in checks if check.unnamed}
    assert set(unnamed) == {"Database reachable", "Orchestration healthy", "Workers healthy"}
    assert all(check.mark.startswith("⚠️") for check in unnamed.values())
    assert [check.name for check in job.run_level_failures(checks)] == ["Sink accepting spans"]
    only_handlers = job.check(deployment, job.needs_of(["handler_overhead"]))
    assert [check.name for check in only_handlers] == ["Sink accepting spans"]


def test_a_suite_needing_an_unnamed_part_is_skipped_even_beside_a_broken_one() -> None:
    broken = Check("PGMQ installed", False, "no pgmq schema", "install it", need=Need.DATABASE)
    plan = _assess([broken, *DATABASE_ONLY[1:]], ["task_initialization", "sql_functions"])
    assert plan["task_initialization"].skipped
    assert plan["sql_functions"].failed
