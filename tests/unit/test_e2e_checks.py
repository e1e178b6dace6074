"""The e2e math check and the finalization payload, without a stack."""

from __future__ import annotations

from instrument.drivers.e2e_latency import DEFAULT_CONTEXT, SCENARIOS, Workflow, check_results
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore
from instrument.workload.completion import parse_payload


def _steps(results: dict[str, object]) -> list[dict[str, object]]:
    return [{"name": name, "results": {"result": value}} for name, value in results.items()]


def test_expected_results_follow_the_closed_forms() -> None:
    stack = SpanbenchStack(Endpoints("http://orchestration", "postgresql://db"))
    expected = {name: workflow.expected_on(stack, name) for name, workflow in SCENARIOS.items()}
    assert expected["linear_3"] == {"linear_step_3": 1679616}
    assert expected["linear_4"] == {"linear_step_4": 6**16}
    assert expected["diamond_4"] == {"diamond_end": 6**16}
    assert expected["tree_7"] == {f"tree_leaf_{leaf}": 6**8 for leaf in "defg"}
    assert expected["complex_dag_7"] == {"dag_finalize": 6**64}
    assert Workflow({"s": 3}, context={"even_number": 2}).expected() == {"s": 8}


def test_right_results_pass() -> None:
    assert check_results(_steps({"linear_step_3": 6**8, "other": 1}),
                         {"linear_step_3": 6**8}) is None


def test_a_wrong_value_is_flagged_with_both_values() -> None:
    problem = check_results(_steps({"dag_finalize": 6**64 + 1}), {"dag_finalize": 6**64})
    assert problem is not None and problem.startswith("dag_finalize = ")
    assert "expected" in problem


def test_missing_steps_and_non_integer_results_are_flagged() -> None:
    steps = [*_steps({"a": "36"}), {"name": "b", "results": None}]
    problem = check_results(steps, {"a": 36, "b": 36, "c": 36})
    assert problem == "a = '36', expected 36; b = None, expected 36; step c is missing"


def test_a_finalization_payload_is_parsed_and_junk_is_ignored() -> None:
    body = '{"task_uuid": "t-1", "correlation_id": "c-1", "status": "complete"}'
    finalization = parse_payload(body, 42)
    assert finalization is not None
    assert (finalization.task_uuid, finalization.status, finalization.received_ns) == (
        "t-1", "complete", 42)
    assert parse_payload("not json", 1) is None
    assert parse_payload('{"status": "complete"}', 1) is None


def test_explicit_powers_override_what_the_system_expects() -> None:
    stack = SpanbenchStack(Endpoints("http://orchestration", "postgresql://db"))
    assert Workflow({"s": 2}).expected_on(stack, "linear_3") == {"s": 36}
    assert stack.expected_results("linear_3", {"even_number": 2}) == {"linear_step_3": 2**8}


def test_tasker_core_workflows_are_not_checked_against_our_step_names() -> None:
    tasker_core = TaskerCore(Endpoints("http://orchestration", "postgresql://db"))
    assert all(workflow.expected_on(tasker_core, name) is None
               for name, workflow in SCENARIOS.items())
    assert DEFAULT_CONTEXT["even_number"] == 6
