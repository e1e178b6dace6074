"""Step handlers of the reference stack and the registry the worker dispatches through.

A handler takes a StepContext and returns a JSON-serialisable value (or an awaitable of one);
the worker wraps it in the result envelope ``{"result": value}``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[["StepContext"], Any | Awaitable[Any]]


@dataclass(frozen=True)
class StepContext:
    """What a handler sees: the task context, its parents' results and its own configuration."""

    step_name: str
    task_context: Mapping[str, Any]
    dependency_results: Mapping[str, Any]
    config: Mapping[str, Any] = field(default_factory=dict)
    connection: Any = None
    """An async psycopg connection, for handlers that query the database."""


class HandlerError(Exception):
    """A handler's deliberate failure (the error handler, or bad input)."""


class UnknownHandler(LookupError):
    """A template names a handler the registry does not have."""


def _inputs(ctx: StepContext) -> list[int]:
    if ctx.dependency_results:
        return [int(value) for value in ctx.dependency_results.values()]
    try:
        return [int(ctx.task_context["even_number"])]
    except (KeyError, TypeError, ValueError) as error:
        raise HandlerError(
            f"step {ctx.step_name}: a root step needs an integer 'even_number' in the task context"
        ) from error


def noop(ctx: StepContext) -> Any:
    """Pass the first input through unchanged."""
    return _inputs(ctx)[0]


def square(ctx: StepContext) -> int:
    """Square the single input (the parent's result, or even_number at a root)."""
    values = _inputs(ctx)
    if len(values) != 1:
        raise HandlerError(f"step {ctx.step_name}: square takes one input, got {len(values)}")
    return values[0] * values[0]


def multiply_and_square(ctx: StepContext) -> int:
    """Multiply the inputs of a convergence step and square the product."""
    product = math.prod(_inputs(ctx))
    return product * product


async def sleep_ms(ctx: StepContext) -> Any:
    """Wait without blocking the worker, then pass the input through.

    The wait is the task context's ``sleep_ms``, else the step's configured ``ms``, else 10 ms.
    """
    milliseconds = ctx.task_context.get("sleep_ms", ctx.config.get("ms", 10))
    await asyncio.sleep(float(milliseconds) / 1000)
    return _inputs(ctx)[0]


async def database(ctx: StepContext) -> Any:
    """One real query (count the registered templates), then pass the input through."""
    if ctx.connection is None:
        raise HandlerError(f"step {ctx.step_name}: the database handler needs a connection")
    cursor = await ctx.connection.execute("SELECT count(*) FROM tasker.named_tasks")
    row = await cursor.fetchone()
    if row is None:
        raise HandlerError(f"step {ctx.step_name}: the query returned no row")
    return _inputs(ctx)[0]


def error(ctx: StepContext) -> Any:
    """Always fail: for tests of retries and blocked tasks."""
    raise HandlerError(f"step {ctx.step_name}: the error handler always fails")


REGISTRY: Mapping[str, Handler] = {
    "noop": noop,
    "square": square,
    "multiply_and_square": multiply_and_square,
    "multiply_all_and_square": multiply_and_square,
    "sleep_ms": sleep_ms,
    "database": database,
    "error": error,
}


def resolve(name: str, registry: Mapping[str, Handler] = REGISTRY) -> Handler:
    """The handler registered under name."""
    try:
        return registry[name]
    except KeyError:
        raise UnknownHandler(
            f"no handler named {name!r}; known: {', '.join(sorted(registry))}"
        ) from None


async def run_handler(handler: Handler, ctx: StepContext) -> Any:
    """Call a handler, awaiting it when it is asynchronous."""
    outcome = handler(ctx)
    if isinstance(outcome, Awaitable):
        return await outcome
    return outcome
