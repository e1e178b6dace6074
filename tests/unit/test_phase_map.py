"""Phase maps: the TOML rules, the built-in maps and what the adapters read from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import PHASES
from spanbench import phase_map
from spanbench.cli.app import app
from spanbench.phase_map import PhaseMapError, parse
from spanbench.vocabulary import STACK_PHASES

RULES = '''
[[span]]
name = "*"
when = { target = "h2::*" }

[[span]]
name = "finalize_task"
phase = "task.finalize"
when = { success = "true" }

[[span]]
name = "finalize_task"
phase = "result.process"
'''


def test_the_first_matching_rule_decides_and_a_trailing_star_is_a_prefix() -> None:
    rules = parse(RULES, "test")
    assert rules.phase_of("finalize_task", {"success": "true"}) == "task.finalize"
    assert rules.phase_of("finalize_task", {"success": "false"}) == "result.process"
    assert rules.phase_of("finalize_task", {"target": "h2::codec"}) is None
    assert rules.rule_for("finalize_task", {"target": "h2::codec"}) is not None
    assert rules.rule_for("poll", {"target": "tokio::io"}) is None
    assert rules.by_name == {"finalize_task": "result.process"}


@pytest.mark.parametrize(("text", "message"), [
    ('[[span]]\nname = "x"\nphase = "exec"\n', "span rule 1: unknown phase 'exec'"),
    ('[[span]]\nphase = "execute"\n', "span rule 1: `name` must be a span name"),
    ('[[span]]\nname = "x"\nwhere = { a = "b" }\n', "span rule 1: unknown key(s) where"),
    ('[[span]]\nname = "x"\nwhen = { a = 1 }\n', "`when` must map attribute keys to strings"),
    ('span = "x"\n', "`span` must be an array of tables"),
    ('[[span]\n', "phase map test:"),
])
def test_a_map_that_is_not_one_is_refused_naming_the_rule(text: str, message: str) -> None:
    with pytest.raises(PhaseMapError) as raised:
        parse(text, "test")
    assert message in str(raised.value)


def test_every_built_in_rule_says_what_its_evidence_is() -> None:
    assert phase_map.builtin_names() == ("spanbench", "tasker-core")
    for system in phase_map.builtin_names():
        for rule in phase_map.builtin(system).rules:
            assert rule.evidence.strip(), (system, rule.name)


def test_the_adapters_read_their_phases_from_the_built_in_maps() -> None:
    assert dict(SpanbenchStack.phases) == {phase: phase for phase in STACK_PHASES}
    assert dict(PHASES) == phase_map.builtin("tasker-core").by_name
    assert PHASES["handle_step_result_with_metadata"] == "result.process"
    assert PHASES["worker.step_execution"] == "execute"


def test_an_unknown_system_or_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PhaseMapError, match="no built-in phase map for system 'nope'"):
        phase_map.builtin("nope")
    with pytest.raises(PhaseMapError, match=r"absent\.toml"):
        phase_map.load(tmp_path / "absent.toml")


def test_a_run_with_a_bad_phase_map_exits_2_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANBENCH_HOME", str(tmp_path / ".spanbench"))
    for name in ("DATABASE_URL", "TASKER_TEST_ORCHESTRATION_URL"):
        monkeypatch.delenv(name, raising=False)
    bad = tmp_path / "map.toml"
    bad.write_text('[[span]]\nname = "claim"\nphase = "grab"\n')
    result = CliRunner().invoke(app, ["run", "event_propagation", "--phase-map", str(bad)])
    assert result.exit_code == 2
    assert "span rule 1: unknown phase 'grab'" in " ".join(result.output.split())
    assert not (tmp_path / ".spanbench").exists()  # nothing was started


@pytest.mark.parametrize(("name", "attributes", "phase"), [
    ("submit", {"bench.suite": "step_enqueueing", "bench.source": "driver"}, "submit"),
    ("submit", {"bench.suite": "step_enqueueing", "bench.source": "traced"}, None),
    ("submit", {"bench.suite": "e2e_latency", "bench.source": "traced"}, "submit"),
    ("result.process", {"bench.suite": "step_enqueueing", "tasker.ready_steps": "10"},
     "result.process"),
    ("result.process", {"bench.suite": "step_enqueueing", "tasker.ready_steps": "0"}, None),
    ("discovery", {"bench.suite": "step_enqueueing", "tasker.ready_steps": "0"}, None),
    ("discovery", {"bench.suite": "e2e_latency", "tasker.ready_steps": "0"}, "discovery"),
    ("discovery", {"bench.suite": "task_initialization",
                   "tasker.discovery.cause": "task.initialize"}, "discovery"),
    ("discovery", {"bench.suite": "task_initialization",
                   "tasker.discovery.cause": "result.process"}, None),
    ("publish", {"bench.suite": "task_initialization",
                 "tasker.discovery.cause": "result.process"}, None),
])
def test_spans_a_suite_sets_off_are_in_no_phase_of_it(name: str, attributes: dict[str, str],
                                                      phase: str | None) -> None:
    assert phase_map.builtin("spanbench").phase_of(name, attributes) == phase
