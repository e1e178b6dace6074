"""The seven suites and how the run calls each driver (the CLI layer may use both the stack
and the drivers, so it hands the stack's handler framework to the drivers that need it)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from instrument.drivers import (
    e2e_latency,
    event_propagation,
    handler_overhead,
    sql_functions,
    step_enqueueing,
    task_initialization,
    worker_execution,
)
from instrument.drivers.base import DriverContext
from instrument.drivers.handler_overhead import Dispatch
from spanbench.vocabulary import SUITES
from stack.engine.handlers import REGISTRY, StepContext, run_handler

FOREIGN_HANDLER_COMMAND = (sys.executable, "-m", "stack.engine.foreign_handler")


def _framework() -> Dispatch:
    return Dispatch(REGISTRY, StepContext, run_handler)


DRIVERS: Mapping[str, Callable[[DriverContext], Any]] = {
    task_initialization.SUITE: task_initialization.run,
    sql_functions.SUITE: sql_functions.run,
    event_propagation.SUITE: event_propagation.run,
    worker_execution.SUITE: lambda ctx: worker_execution.run(ctx, _framework()),
    step_enqueueing.SUITE: step_enqueueing.run,
    handler_overhead.SUITE: lambda ctx: handler_overhead.run(
        ctx, _framework(), list(FOREIGN_HANDLER_COMMAND)),
    e2e_latency.SUITE: e2e_latency.run,
}
"""In the seed's order."""

if set(DRIVERS) != set(SUITES):
    raise RuntimeError(f"suites without a driver: {sorted(set(SUITES) - set(DRIVERS))}")


def resolve(names: list[str]) -> list[str]:
    """The suites asked for, in the seed's order; all when none are named."""
    unknown = sorted(set(names) - set(DRIVERS))
    if unknown:
        raise ValueError(f"unknown suite(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(DRIVERS)}")
    return [suite for suite in DRIVERS if not names or suite in names]
