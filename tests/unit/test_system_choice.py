"""Choosing the adapter: --system, --template, detection from the database, the skips on
tasker-core, and what run.json records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from extract.store import run_json
from instrument.drivers.base import Need, NoProgress
from instrument.systems import detect, tasker_core
from instrument.systems.base import TemplateRef
from instrument.systems.detect import Detection, FunctionCheck, Inspection
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore
from spanbench.runner import job, scratch, suites, system_choice
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import Check
from spanbench.runner.system_choice import SystemChoice, SystemChoiceError, choose
from tests.otlp_capture import OtlpCapture

DB = "postgresql://u:p@127.0.0.1:1/deployment"
ORCHESTRATION = "http://127.0.0.1:2"
DatabaseIs = Callable[[Inspection | None], None]


def _inspection(system: str | None, missing: dict[str, tuple[tuple[str, str], ...]] | None = None
                ) -> Inspection:
    missing = missing or {}
    checks = {name: FunctionCheck("tasker", name, types,
                                  missing.get(name, ((types, f"x {types}"),)))
              for name, types in tasker_core.FUNCTION_SIGNATURES.items()}
    return Inspection(Detection(system, f"evidence of {system}"), checks)


@pytest.fixture
def database_is(monkeypatch: pytest.MonkeyPatch) -> DatabaseIs:
    """Sets what detect.inspect finds (None: the database is not reachable)."""
    def set_to(inspection: Inspection | None) -> None:
        def fake(url: str, connect_timeout_s: int = 10) -> Inspection:
            if inspection is None:
                raise psycopg.OperationalError("connection refused")
            return inspection
        monkeypatch.setattr(detect, "inspect", fake)
    return set_to


def test_without_a_database_the_default_is_spanbench() -> None:
    choice = choose(None)
    assert (choice.name, choice.inspection) == ("spanbench", None)
    assert "DATABASE_URL is not set" in choice.describe()


def test_the_system_is_detected_from_the_database(database_is: DatabaseIs) -> None:
    database_is(_inspection("tasker-core"))
    choice = choose(None, (), DB, ORCHESTRATION)
    assert choice.name == "tasker-core"
    assert choice.describe() == "system: tasker-core (detected: evidence of tasker-core)"
    database_is(_inspection("spanbench"))
    assert choose(None, (), DB, ORCHESTRATION).name == "spanbench"


def test_an_unknown_or_unreachable_database_leaves_the_default(database_is: DatabaseIs) -> None:
    database_is(_inspection(None))
    assert choose(None, (), DB).name == "spanbench"
    database_is(None)
    choice = choose(None, (), DB)
    assert (choice.name, choice.inspection) == ("spanbench", None)
    assert "not reachable" in choice.reason


def test_a_system_that_is_not_the_databases_is_refused(database_is: DatabaseIs) -> None:
    database_is(_inspection("tasker-core"))
    with pytest.raises(SystemChoiceError, match="measure it with --system tasker-core"):
        choose("spanbench", (), DB, ORCHESTRATION)
    database_is(_inspection("spanbench"))
    with pytest.raises(SystemChoiceError, match="measure it with --system spanbench"):
        choose("tasker-core", (), DB, ORCHESTRATION)


def test_an_unknown_system_is_refused() -> None:
    with pytest.raises(SystemChoiceError, match="choose spanbench or tasker-core"):
        choose("temporal")


def test_tasker_core_is_never_measured_on_a_stack_spanbench_starts(database_is: DatabaseIs) -> None:
    database_is(_inspection("tasker-core"))
    assert choose(None, (), DB, None).name == "tasker-core"  # its database suites alone
    with pytest.raises(SystemChoiceError, match="spanbench starts its own stack only when"):
        choose("tasker-core")


def test_templates_are_overridden_for_tasker_core_only(database_is: DatabaseIs) -> None:
    database_is(_inspection("tasker-core"))
    choice = choose("tasker-core", ["tree_7=rust_e2e_tree/hierarchical_tree:1.0.0"], DB,
                    ORCHESTRATION)
    assert choice.templates == {"tree_7": TemplateRef("rust_e2e_tree", "hierarchical_tree")}
    with pytest.raises(SystemChoiceError, match="--template chooses templates of tasker-core"):
        choose("spanbench", ["tree_7=a/b:1.0.0"])
    with pytest.raises(SystemChoiceError, match="no scenario named tree_9"):
        choose("tasker-core", ["tree_9=a/b:1.0.0"], DB, ORCHESTRATION)
    with pytest.raises(SystemChoiceError, match="expected SCENARIO=namespace/name:version"):
        choose("tasker-core", ["tree_7"], DB, ORCHESTRATION)


PLANTING = ("plants its tasks over SQL, which spanbench does not do on tasker-core: it will not "
            "write into the deployment's tables")
NO_SINGLE_STEP = ("tasker-core has no single-step template for its scenarios (noop, calculation, "
                  "database): --template noop=namespace/name:version runs one")
OTHER_SEND = (("text, jsonb, integer, jsonb",
               "queue_name text, message jsonb, delay_seconds integer, headers jsonb"),)
OTHER_SEND_REASON = ("tasker.pgmq_send_with_notify(text, jsonb, integer) is absent: the database "
                     "has tasker.pgmq_send_with_notify(queue_name text, message jsonb, "
                     "delay_seconds integer, headers jsonb)")


def _unsupported(choice: SystemChoice, suite: str) -> str | None:
    return suites.unsupported(suite, system_choice.adapter(choice, system_choice.NOWHERE))


def test_the_drivers_skip_the_planting_and_rewind_suites_on_tasker_core() -> None:
    tasker = SystemChoice("tasker-core", inspection=_inspection("tasker-core"))
    assert _unsupported(tasker, "step_enqueueing") == PLANTING
    assert _unsupported(tasker, "worker_execution") == NO_SINGLE_STEP
    for suite in suites.DRIVERS:
        assert _unsupported(SystemChoice(), suite) is None, suite
    for suite in ("sql_functions", "e2e_latency", "task_initialization", "event_propagation",
                  "handler_overhead"):  # sql_functions and event_propagation: in a scratch copy
        assert _unsupported(tasker, suite) is None, suite


def test_worker_execution_runs_on_tasker_core_with_a_single_step_template() -> None:
    single = SystemChoice("tasker-core", {"noop": TemplateRef("single", "one_step")},
                          inspection=_inspection("tasker-core"))
    assert _unsupported(single, "worker_execution") is None
    assert system_choice.scenarios_without_template(single, ["worker_execution"]) == {
        "worker_execution": ["calculation", "database"]}


def test_a_suite_whose_function_is_declared_otherwise_is_skipped_naming_it() -> None:
    choice = SystemChoice("tasker-core", inspection=_inspection(
        "tasker-core", {"pgmq_send_with_notify": OTHER_SEND}))
    assert _unsupported(choice, "event_propagation") == OTHER_SEND_REASON
    assert choice.function_problems() == [OTHER_SEND_REASON]
    both = SystemChoice("tasker-core", inspection=_inspection(
        "tasker-core", {"pgmq_send_with_notify": OTHER_SEND, "extract_queue_namespace": ()}))
    assert _unsupported(both, "event_propagation") == (
        f"{OTHER_SEND_REASON}; tasker.extract_queue_namespace(text) is absent")


def _skips(outcome: job.RunOutcome) -> dict[str, str | None]:
    return {suite: record.reason for suite, record in outcome.suites.items()
            if record.status == "skipped"}


def test_the_plan_and_a_run_without_one_skip_through_the_same_question(
        tmp_path: Path, otlp_capture: OtlpCapture, monkeypatch: pytest.MonkeyPatch) -> None:
    copies: list[str] = []

    def no_copy(url: str) -> str:
        copies.append(url)
        return "needs a scratch database, and there is no pg_dump"

    monkeypatch.setattr(scratch, "unavailable", no_copy)
    choice = SystemChoice("tasker-core", inspection=_inspection(
        "tasker-core", {"pgmq_send_with_notify": OTHER_SEND}))
    deployment = Deployment(DB, None, (), otlp_capture.endpoint, tmp_path)
    chosen = ["sql_functions", "event_propagation", "worker_execution", "step_enqueueing"]
    expected = {"sql_functions": "needs a scratch database, and there is no pg_dump",
                "event_propagation": OTHER_SEND_REASON, "worker_execution": NO_SINGLE_STEP,
                "step_enqueueing": PLANTING}
    database_ok = Check("Database reachable", True, "ok", "", need=Need.DATABASE)
    others_ok = [Check(name, True, "ok", "", need=need) for name, need in (
        ("Orchestration healthy", Need.ORCHESTRATION), ("Workers healthy", Need.WORKERS))]
    plan = job.plan(deployment, chosen, [database_ok, *others_ok], choice)
    assert {suite.suite: suite.reason for suite in plan if suite.skipped} == expected
    assert copies == [DB]  # asked only of the scratch suite the system can run
    unplanned = job.run_suites(deployment, "r1", job.RunOptions(chosen, system=choice),
                               NoProgress(), tmp_path / "art")
    assert _skips(unplanned) == expected
    assert unplanned.ran() == [] and unplanned.failed() == []


def test_absent_sql_functions_are_left_out_of_the_adapter() -> None:
    choice = SystemChoice("tasker-core", inspection=_inspection(
        "tasker-core", {"calculate_dependency_levels": ()}))
    system = system_choice.adapter(choice, system_choice.NOWHERE)
    assert isinstance(system, TaskerCore)
    assert "calculate_dependency_levels" not in system.sql_functions
    assert len(system.sql_functions) == 5


def _deployment(tmp_path: Path) -> Deployment:
    return Deployment(DB, ORCHESTRATION, (), "http://127.0.0.1:3", tmp_path)


def test_the_driver_system_is_the_chosen_adapter(tmp_path: Path) -> None:
    tree = TemplateRef("rust_e2e_tree", "hierarchical_tree")
    system = job.driver_system(_deployment(tmp_path), SystemChoice("tasker-core",
                                                                   {"tree_7": tree}))
    assert isinstance(system, TaskerCore)
    assert system.template("tree_7") == tree
    assert (system.endpoints.database_url, system.endpoints.orchestration_url) == (
        DB, ORCHESTRATION)
    assert isinstance(job.driver_system(_deployment(tmp_path)), SpanbenchStack)


def test_run_json_records_the_system_and_its_template_map(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path)
    deployment.database_url = None  # no version lookup
    choice = SystemChoice("tasker-core", {"tree_7": TemplateRef("rust_e2e_tree",
                                                                "hierarchical_tree")})
    record = job.metadata("r1", deployment, job.RunOptions(["e2e_latency"], system=choice),
                          datetime.now(UTC))
    document = run_json.parse(record.to_json()).to_json()
    assert document["config"]["system"] == "tasker-core"
    assert document["config"]["templates"] == {
        "complex_dag_7": "rust_e2e_mixed_dag/complex_dag:1.0.0",
        "diamond_4": "rust_e2e_diamond/diamond_pattern:1.0.0",
        "linear_4": "rust_e2e_linear/mathematical_sequence:1.0.0",
        "tree_7": "rust_e2e_tree/hierarchical_tree:1.0.0",
    }
    spanbench = job.metadata("r2", deployment, job.RunOptions(["e2e_latency"]),
                             datetime.now(UTC))
    assert spanbench.config is not None and spanbench.config.templates is not None
    assert spanbench.config.templates["tree_7"] == "tree_workflow/tree_7:1.0.0"


def test_run_json_without_a_template_map_reads_and_writes_without_one() -> None:
    record = run_json.parse({"schema_version": 1, "config": {"system": "spanbench"}})
    assert record.config is not None and record.config.templates is None
    assert "templates" not in record.to_json()["config"]
    with pytest.raises(run_json.RunJsonError, match=r"config\.templates"):
        run_json.parse({"schema_version": 1, "config": {"templates": ["x"]}})


def test_the_scenarios_without_a_template_are_named_per_suite() -> None:
    suites = ["task_initialization", "sql_functions", "worker_execution", "e2e_latency"]
    tasker = SystemChoice("tasker-core")
    assert system_choice.scenarios_without_template(tasker, suites) == {
        "task_initialization": ["linear_3"], "e2e_latency": ["linear_3", "tree_7"]}
    tree = SystemChoice("tasker-core", {"tree_7": TemplateRef("rust_e2e_tree",
                                                              "hierarchical_tree")})
    assert system_choice.scenarios_without_template(tree, ["e2e_latency"]) == {
        "e2e_latency": ["linear_3"]}
    assert system_choice.scenarios_without_template(SystemChoice(), suites) == {}


def test_a_run_without_a_plan_skips_a_scratch_suite_when_the_database_does_not_answer(
        tmp_path: Path, otlp_capture: OtlpCapture) -> None:
    deployment = Deployment(DB, None, (), otlp_capture.endpoint, tmp_path)
    outcome = job.run_suites(deployment, "r1", job.RunOptions(["event_propagation"]),
                             NoProgress(), tmp_path / "art")
    reason = _skips(outcome)["event_propagation"]
    assert reason is not None
    assert reason.startswith("needs a scratch database, and the database did not answer: ")
