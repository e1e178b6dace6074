"""tasker-core's adapter: its templates, requests, queues, channels, functions and phases are
tasker-core's own (checked against its migrations and templates where the contracts folder is
there)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from instrument.drivers import sql_functions as sql_driver
from instrument.systems import tasker_core
from instrument.systems.base import Endpoints, System, TemplateRef
from instrument.systems.completion import watch_completion
from instrument.systems.tasker_core import (
    PHASES,
    SQL_FUNCTIONS,
    TaskerCore,
    TemplateOptionError,
    parse_template_option,
    template_overrides,
)
from instrument.workload.completion import TaskStatePoller
from instrument.workload.state_poller import DatabaseStatePoller
from instrument.workload.tasker_client import TaskerClient
from spanbench.vocabulary import STACK_PHASES
from tests.tasker_core_db import CONTRACTS, MIGRATIONS, TEMPLATES

ENDPOINTS = Endpoints("http://127.0.0.1:1", "postgresql://nowhere/db")
SYSTEM = TaskerCore(ENDPOINTS)
SCENARIO_STEPS = {"linear_4": 4, "diamond_4": 4, "tree_7": 7, "complex_dag_7": 7}
needs_contracts = pytest.mark.skipif(not CONTRACTS.is_dir(),
                                     reason=f"tasker-core's contracts are not at {CONTRACTS}")


def _templates() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in TEMPLATES.glob("*/*.yaml"):
        document = yaml.safe_load(path.read_text())
        found[(document["namespace_name"], document["name"])] = document
    return found


def _migrations_sql() -> str:
    return "\n".join(path.read_text() for path in sorted(MIGRATIONS.glob("*.sql")))


def test_the_adapter_has_every_member_of_the_protocol() -> None:
    members = [name for name in vars(System) if not name.startswith("_")]
    assert [name for name in members if not hasattr(SYSTEM, name)] == []
    assert SYSTEM.name == "tasker-core"


def test_the_built_in_map_is_tasker_cores_own_e2e_templates() -> None:
    assert {s: SYSTEM.template(s) for s in ("linear_4", "diamond_4", "complex_dag_7")} == {
        "linear_4": TemplateRef("rust_e2e_linear", "mathematical_sequence", "1.0.0"),
        "diamond_4": TemplateRef("rust_e2e_diamond", "diamond_pattern", "1.0.0"),
        "complex_dag_7": TemplateRef("rust_e2e_mixed_dag", "complex_dag", "1.0.0"),
    }
    for scenario in ("tree_7", "linear_3", "noop", "calculation", "database"):
        assert SYSTEM.template(scenario) is None, scenario


def test_the_python_workers_templates_are_a_variant() -> None:
    python = TaskerCore(ENDPOINTS, variant=tasker_core.PYTHON)
    assert python.template("linear_4") == TemplateRef("linear_workflow_py",
                                                      "mathematical_sequence_py")
    assert python.template("diamond_4") == TemplateRef("diamond_workflow_py",
                                                       "parallel_computation_py")
    assert python.template("complex_dag_7") is None
    with pytest.raises(ValueError, match="unknown tasker-core variant 'ruby'"):
        TaskerCore(ENDPOINTS, variant="ruby")


def test_an_override_wins_over_the_built_in_map() -> None:
    tree = TemplateRef("rust_e2e_tree", "hierarchical_tree", "1.0.0")
    linear = TemplateRef("mine", "linear", "2.0.0")
    system = TaskerCore(ENDPOINTS, templates={"tree_7": tree, "linear_4": linear})
    assert (system.template("tree_7"), system.template("linear_4")) == (tree, linear)
    assert system.template("diamond_4") == SYSTEM.template("diamond_4")


@needs_contracts
def test_every_mapped_template_is_one_of_tasker_cores_with_the_scenarios_shape() -> None:
    templates = _templates()
    for variant, mapping in tasker_core.TEMPLATES_BY_VARIANT.items():
        for scenario, ref in mapping.items():
            document = templates[(ref.namespace, ref.name)]
            assert document["version"] == ref.version, (variant, scenario)
            assert len(document["steps"]) == SCENARIO_STEPS[scenario], (variant, scenario)
    tree = templates[("rust_e2e_tree", "hierarchical_tree")]
    assert len(tree["steps"]) == 8  # not tree_7's shape: no scenario maps to it


@pytest.mark.parametrize(("text", "scenario", "ref"), [
    ("tree_7=rust_e2e_tree/hierarchical_tree:1.0.0", "tree_7",
     TemplateRef("rust_e2e_tree", "hierarchical_tree", "1.0.0")),
    (" linear_4 = ns/name : 2.1.0 ", "linear_4", TemplateRef("ns", "name", "2.1.0")),
    ("diamond_4=ns/name", "diamond_4", TemplateRef("ns", "name", "1.0.0")),
])
def test_a_template_option_is_scenario_namespace_name_and_version(
        text: str, scenario: str, ref: TemplateRef) -> None:
    assert parse_template_option(text) == (scenario, ref)


@pytest.mark.parametrize("text", [
    "linear_4", "=ns/name:1.0.0", "linear_4=", "linear_4=name:1.0.0", "linear_4=/name:1.0.0",
    "linear_4=ns/:1.0.0", "linear_4=ns/name:", "linear_4=ns/a/b:1.0.0",
])
def test_a_malformed_template_option_says_what_is_expected(text: str) -> None:
    with pytest.raises(TemplateOptionError, match=r"expected SCENARIO=namespace/name:version"):
        parse_template_option(text)


def test_a_scenario_overridden_twice_is_an_error() -> None:
    with pytest.raises(TemplateOptionError, match="'linear_4' twice"):
        template_overrides(["linear_4=a/b:1.0.0", "linear_4=c/d:1.0.0"])
    assert template_overrides([]) == {}


def test_task_requests_are_built_by_the_shared_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def builder(*args: Any) -> dict[str, Any]:
        calls.append(args)
        return {"built": len(calls)}

    monkeypatch.setattr(tasker_core, "task_request", builder)
    ref = TemplateRef("rust_e2e_linear", "mathematical_sequence", "1.0.0")
    assert SYSTEM.task_request(ref, {"even_number": 6}) == {"built": 1}
    assert calls == [("mathematical_sequence", "rust_e2e_linear", {"even_number": 6}, "1.0.0")]


def test_a_task_request_names_the_template_and_carries_the_context() -> None:
    ref = TemplateRef("rust_e2e_diamond", "diamond_pattern", "1.0.0")
    body = SYSTEM.task_request(ref, {"even_number": 6})
    assert (body["namespace"], body["name"], body["version"]) == (
        "rust_e2e_diamond", "diamond_pattern", "1.0.0")
    assert body["context"]["even_number"] == 6


def test_queues_and_channels_are_tasker_cores() -> None:
    assert SYSTEM.worker_queue("rust_e2e_linear") == "worker_rust_e2e_linear_queue"
    assert SYSTEM.results_queue == "orchestration_step_results"
    assert SYSTEM.message_ready_channel("rust_e2e_linear") == "pgmq_message_ready.rust_e2e_linear"
    assert SYSTEM.finalized_channel is None
    assert SYSTEM.step_rewinds is False
    assert SYSTEM.plants_tasks is False
    assert SYSTEM.send_with_notify_missing is None


def test_send_with_notify_is_the_three_argument_function_without_headers() -> None:
    sql = SYSTEM.send_with_notify_sql
    assert set(re.findall(r"%\((\w+)\)s", sql)) == {"queue", "message"}
    assert sql == "SELECT tasker.pgmq_send_with_notify(%(queue)s, %(message)s, 0)"


@needs_contracts
def test_channels_and_functions_are_the_ones_the_migrations_declare() -> None:
    schema = _migrations_sql()
    for name in tasker_core.FUNCTION_SIGNATURES:
        assert re.search(rf"FUNCTION tasker\.{name}\s*\(", schema), name
    send = schema.split("FUNCTION tasker.pgmq_send_with_notify(")[1].split(")")[0]
    assert [line.split()[1] for line in send.strip().splitlines()] == ["TEXT,", "JSONB,",
                                                                        "INTEGER"]
    assert "namespace_channel := 'pgmq_message_ready.' || namespace_name" in schema
    assert "global_channel TEXT := 'pgmq_message_ready'" in schema
    for name in ("queue_namespace", "transition_step_state_atomic", "start_step_attempt"):
        assert not re.search(rf"FUNCTION tasker\.{name}\s*\(", schema), name


def test_the_sql_functions_are_the_drivers_and_absent_ones_are_not_timed() -> None:
    assert set(SYSTEM.sql_functions) == set(sql_driver.SCENARIOS)
    for name, query in SQL_FUNCTIONS.items():
        assert f"tasker.{name}(" in query
    partial = TaskerCore(ENDPOINTS, unavailable={
        "calculate_dependency_levels": "tasker.calculate_dependency_levels(uuid) is absent"})
    assert "calculate_dependency_levels" not in partial.sql_functions
    assert [f.name for f in sql_driver.functions(partial)] == [
        name for name in sql_driver.SCENARIOS if name != "calculate_dependency_levels"]


@needs_contracts
def test_the_phases_are_tasker_cores_span_names_each_one_phase() -> None:
    readme = (CONTRACTS / "README.md").read_text()
    for span in PHASES:
        assert f"| `{span}` |" in readme, span
    assert set(PHASES.values()) <= set(STACK_PHASES)
    assert len(set(PHASES.values())) == len(PHASES)


def test_completion_is_polled_in_its_database_else_through_its_api() -> None:
    with TaskerClient("http://127.0.0.1:1", headers={}) as client:
        assert isinstance(watch_completion(SYSTEM, client, 0.05), DatabaseStatePoller)
        api_only = TaskerCore(Endpoints("http://127.0.0.1:1", ""))
        assert isinstance(watch_completion(api_only, client, 0.05), TaskStatePoller)


@needs_contracts
def test_its_final_task_states_are_states_its_task_transitions_allow() -> None:
    schema = (MIGRATIONS / "20260110000001_schema_and_tables.sql").read_text()
    allowed = schema.split("CONSTRAINT chk_task_transitions_to_state")[1].split("\n")[0]
    assert [s for s in tasker_core.FINAL_TASK_STATES if f"'{s}'" not in allowed] == []
    assert "most_recent boolean" in schema and "task_uuid = ANY(%s::uuid[])" in (
        SYSTEM.task_state_sql or "")
