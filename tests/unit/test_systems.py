"""The System protocol and the reference stack's adapter: its names are the stack's own."""

from __future__ import annotations

import json
import re
from importlib import resources

import httpx

from instrument.drivers import e2e_latency, task_initialization, worker_execution
from instrument.drivers import sql_functions as sql_driver
from instrument.systems.base import Endpoints, System, TemplateRef
from instrument.systems.completion import watch_completion
from instrument.systems.spanbench_stack import FINAL_TASK_STATES, TEMPLATES, SpanbenchStack
from instrument.workload.completion import API_POLL, FinalizationListener, TaskStatePoller
from instrument.workload.state_poller import DatabaseStatePoller
from instrument.workload.tasker_client import REQUEST_ID_KEY, TaskerClient
from spanbench.vocabulary import FINALIZED_CHANNEL, STACK_PHASES
from stack.engine import messages
from stack.engine.orchestration.requests import parse_task_request
from stack.engine.templates import expected_results, find_template

STACK = SpanbenchStack(Endpoints("http://127.0.0.1:1", "postgresql://nowhere/db"))


class Silent(SpanbenchStack):
    """A system that announces no finalization (as tasker-core)."""

    finalized_channel = None


def _stack_sql() -> str:
    sql_dir = resources.files("stack.engine") / "sql"
    return "\n".join(f.read_text() for f in sql_dir.iterdir() if f.name.endswith(".sql"))


def test_the_stack_adapter_has_every_member_of_the_protocol() -> None:
    members = [name for name in vars(System) if not name.startswith("_")]
    assert {"name", "endpoints", "template", "task_request", "finalized_channel"} <= set(members)
    assert [name for name in members if not hasattr(STACK, name)] == []


def test_every_template_is_one_the_stack_has() -> None:
    for scenario, ref in TEMPLATES.items():
        template = find_template(ref.namespace, ref.name, ref.version)
        assert (template.namespace, template.name) == (ref.namespace, ref.name), scenario


def test_the_drivers_scenarios_have_templates_and_the_stack_computes_their_results() -> None:
    for scenario in task_initialization.SCENARIOS:
        assert STACK.template(scenario) is not None
    for scenario, workflow in e2e_latency.SCENARIOS.items():
        ref = STACK.template(scenario)
        assert ref is not None, scenario
        results = expected_results(find_template(ref.namespace, ref.name, ref.version), 6)
        expected = workflow.expected_on(STACK, scenario)
        assert expected, scenario
        assert {step: results[step] for step in expected} == expected
    for scenario, handler in worker_execution.SCENARIOS.items():
        ref = STACK.template(scenario)
        assert ref is not None, scenario
        [step] = find_template(ref.namespace, ref.name, ref.version).steps
        assert step.handler == handler


def test_a_scenario_without_a_template_gets_none() -> None:
    assert STACK.template("no_such_scenario") is None


def test_a_task_request_is_one_the_stack_accepts() -> None:
    ref = TemplateRef("diamond_workflow", "diamond_4")
    body = STACK.task_request(ref, {"even_number": 6})
    parsed = parse_task_request(json.loads(json.dumps(body)))
    assert (parsed.namespace, parsed.name, parsed.version) == ("diamond_workflow", "diamond_4",
                                                               "1.0.0")
    assert {k: v for k, v in parsed.context.items() if k != REQUEST_ID_KEY} == {"even_number": 6}
    assert parsed.requested_at.tzinfo is not None


def test_queues_and_channels_are_the_stacks() -> None:
    assert STACK.results_queue == messages.ORCHESTRATION_RESULTS_QUEUE
    assert STACK.worker_queue("chain_workflow") == messages.worker_queue("chain_workflow")
    assert STACK.message_ready_channel("x") == messages.namespace_channel("x")


def test_the_sql_functions_exist_in_the_stack_schema() -> None:
    schema = _stack_sql()
    assert set(STACK.sql_functions) == set(sql_driver.SCENARIOS)
    for name, query in STACK.sql_functions.items():
        assert f"tasker.{name}(" in query
        assert re.search(rf"FUNCTION tasker\.{name}\s*\(", schema), name
    assert "headers jsonb" in schema.split("FUNCTION tasker.pgmq_send_with_notify(")[1][:300]
    if STACK.step_rewinds:
        for name in ("transition_step_state_atomic", "start_step_attempt", "queue_namespace"):
            assert re.search(rf"FUNCTION tasker\.{name}\s*\(", schema), name


def test_send_with_notify_takes_named_queue_message_and_headers() -> None:
    names = set(re.findall(r"%\((\w+)\)s", STACK.send_with_notify_sql))
    assert names == {"queue", "message", "headers"}


def test_the_stacks_spans_name_the_phases_themselves() -> None:
    assert dict(STACK.phases) == {phase: phase for phase in STACK_PHASES}


def test_completion_listens_where_the_system_announces_it() -> None:
    with TaskerClient("http://127.0.0.1:1") as client:
        watch = watch_completion(STACK, client, 0.05)
        assert isinstance(watch, FinalizationListener)
        assert watch.channel == FINALIZED_CHANNEL
        assert isinstance(watch_completion(Silent(STACK.endpoints), client, 0.05),
                          DatabaseStatePoller)
        no_database = Silent(Endpoints("http://127.0.0.1:1", ""))
        assert isinstance(watch_completion(no_database, client, 0.05), TaskStatePoller)


def _orchestration(statuses: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return httpx.Response(200, json={"task_uuid": "t-1", "correlation_id": "c-1",
                                         "execution_status": status})
    return httpx.MockTransport(answer)


def test_polling_sees_the_task_finish() -> None:
    transport = _orchestration(["processing", "processing", "all_complete"])
    with TaskerClient("http://orchestration", transport=transport, headers={}) as client:
        finalization = TaskStatePoller(client, 0.001).wait("t-1", 5.0)
    assert finalization is not None
    assert (finalization.task_uuid, finalization.correlation_id, finalization.status) == (
        "t-1", "c-1", "complete")


def test_polling_gives_none_when_the_task_never_finishes() -> None:
    with TaskerClient("http://orchestration", transport=_orchestration(["processing"]),
                      headers={}) as client:
        assert TaskStatePoller(client, 0.01).wait("t-1", 0.05) is None


def test_the_stacks_final_task_states_are_states_its_task_transitions_allow() -> None:
    allowed = _stack_sql().split("CREATE TABLE tasker.task_transitions")[1].split(";")[0]
    assert [s for s in FINAL_TASK_STATES if f"'{s}'" not in allowed] == []
    assert "tasker.task_transitions" in (STACK.task_state_sql or "")


def test_api_polling_reports_the_window_back_to_the_last_get_that_saw_it_running() -> None:
    ticks = iter(range(0, 10_000, 100))
    transport = _orchestration(["processing", "processing", "all_complete"])
    with TaskerClient("http://orchestration", transport=transport, headers={}) as client:
        poller = TaskStatePoller(client, 0.001, clock=lambda: next(ticks))
        finalization = poller.wait("t-1", 5.0)
    assert finalization is not None and finalization.source == API_POLL
    # clock: wait 0; GETs asked at 100, 200, 300; seen at 400: back to the GET asked at 200
    assert (finalization.received_ns, finalization.window_ns) == (400, 200)
