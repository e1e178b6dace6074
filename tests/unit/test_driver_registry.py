"""The suite registry is built from the drivers, each a Driver with one run signature."""

from __future__ import annotations

import inspect

import pytest

from instrument.drivers.base import Driver
from spanbench.runner.suites import DRIVERS, resolve
from spanbench.vocabulary import SUITES


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
