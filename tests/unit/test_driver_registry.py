"""The suite registry is built from the drivers, each a Driver with one run signature."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from instrument.drivers.base import Driver
from instrument.systems.spanbench_stack import TEMPLATES
from spanbench.runner.suites import DRIVERS, resolve
from spanbench.vocabulary import FINALIZED_CHANNEL, SUITES


def test_the_registry_and_the_vocabulary_name_the_same_suites_in_the_same_order() -> None:
    assert tuple(DRIVERS) == SUITES


@pytest.mark.parametrize("suite", SUITES)
def test_every_driver_satisfies_the_driver_protocol(suite: str) -> None:
    driver = DRIVERS[suite]
    members = {name for name in vars(Driver) if not name.startswith("_")} | set(
        Driver.__annotations__)
    assert sorted(m for m in members if not hasattr(driver, m)) == []
    assert suite == driver.SUITE
    scenarios = list(driver.SCENARIOS)
    assert scenarios and all(isinstance(s, str) for s in scenarios)
    assert len(set(scenarios)) == len(scenarios)
    parameters = list(inspect.signature(driver.run).parameters.values())
    assert [p.name for p in parameters[:1]] == ["ctx"]
    assert parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty
               for p in parameters[1:])


def test_resolve_keeps_the_seeds_order_and_refuses_unknown_suites() -> None:
    assert resolve([]) == list(SUITES)
    assert resolve(["e2e_latency", "task_initialization"]) == ["task_initialization",
                                                               "e2e_latency"]
    with pytest.raises(ValueError, match="unknown suite"):
        resolve(["nope"])


STACK_NAMES = ("pgmq_send_with_notify", "queue_namespace", FINALIZED_CHANNEL,
               "orchestration_step_results", "pgmq_message_ready",
               *{ref.namespace for ref in TEMPLATES.values()})
"""What only the stack's adapter may say: its queue functions, channels and template
namespaces."""


def _code(module: object) -> ast.Module:
    return ast.parse(Path(inspect.getfile(module)).read_text())  # type: ignore[arg-type]


def _strings_outside_docstrings(tree: ast.Module) -> list[str]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


@pytest.mark.parametrize("suite", SUITES)
def test_drivers_reach_the_stack_only_through_the_system(suite: str) -> None:
    tree = _code(DRIVERS[suite])
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert [name for name in imported if name.split(".")[0] == "stack"] == []
    said = [(name, text) for text in _strings_outside_docstrings(tree) for name in STACK_NAMES
            if name in text]
    assert said == []
