"""The suite registry, built from the drivers, and what the runner hands them from the stack
(this layer may use both the stack and the drivers)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from instrument.drivers import (
    e2e_latency,
    event_propagation,
    handler_overhead,
    sql_functions,
    step_enqueueing,
    task_initialization,
    worker_execution,
)
from instrument.drivers.base import Driver
from instrument.systems.base import System
from instrument.workload.handler_framework import Dispatch
from spanbench.vocabulary import SUITES
from stack.engine.handlers import REGISTRY, StepContext, run_handler

FOREIGN_HANDLER_COMMAND = (sys.executable, "-m", "stack.engine.foreign_handler")

_DRIVERS: tuple[Driver, ...] = (
    task_initialization,
    sql_functions,
    event_propagation,
    worker_execution,
    step_enqueueing,
    handler_overhead,
    e2e_latency,
)

DRIVERS: Mapping[str, Driver] = {driver.SUITE: driver for driver in _DRIVERS}
"""Each suite's driver, in the seed's order."""

if tuple(DRIVERS) != SUITES:
    raise RuntimeError(f"the drivers' suites {list(DRIVERS)} are not the vocabulary's "
                       f"{list(SUITES)}")


def stack_handlers() -> Dispatch:
    """The stack's handler framework, for handler_overhead and worker_execution."""
    return Dispatch(REGISTRY, StepContext, run_handler)


def unsupported(suite: str, system: System) -> str | None:
    """Why `system` cannot run `suite`, from the driver's optional `unsupported` probe."""
    probe = getattr(DRIVERS[suite], "unsupported", None)
    return None if probe is None else probe(system)


def reports_stack_phases(suite: str) -> bool:
    """Whether the suite's reports include phases from the deployment's own spans (its
    driver's optional `STACK_PHASES`)."""
    return bool(getattr(DRIVERS[suite], "STACK_PHASES", False))


def writes_deployment(suite: str) -> str:
    """What the suite writes into the deployment's own tables (its driver's optional
    `WRITES_DEPLOYMENT`); empty: nothing."""
    return str(getattr(DRIVERS[suite], "WRITES_DEPLOYMENT", ""))


def subject(driver: Driver, system: System | None = None) -> dict[str, str] | None:
    """What the driver's scenarios measure when not the deployment: its optional
    `subject_on(system)` when a system is given, else its optional SUBJECT."""
    on_system = getattr(driver, "subject_on", None)
    if system is not None and on_system is not None:
        return dict(on_system(system))
    declared = getattr(driver, "SUBJECT", None)
    return None if declared is None else dict(declared)


def resolve(names: list[str]) -> list[str]:
    """The suites asked for, in the seed's order; all when none are named."""
    unknown = sorted(set(names) - set(DRIVERS))
    if unknown:
        raise ValueError(f"unknown suite(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(DRIVERS)}")
    return [suite for suite in DRIVERS if not names or suite in names]
