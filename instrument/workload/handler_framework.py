"""The system's handler machinery as drivers use it: a registry, a context builder, a runner.

`instrument/` cannot import the stack, so the runner passes the stack's framework on the
driver's context: `Dispatch(REGISTRY, StepContext, run_handler)` from `stack.engine.handlers`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Handler = Callable[[Any], Any]


class HandlerFramework(Protocol):
    """The stack's handler machinery as drivers use it (stack.engine.handlers)."""

    @property
    def registry(self) -> Mapping[str, Handler]:
        """Handlers by name (REGISTRY)."""
        ...

    @property
    def context(self) -> Callable[..., Any]:
        """Builds a handler's context from keywords step_name, task_context,
        dependency_results, config and connection (StepContext)."""
        ...

    @property
    def run(self) -> Callable[[Handler, Any], Awaitable[Any]]:
        """Calls a handler, awaiting it when asynchronous (run_handler)."""
        ...


@dataclass(frozen=True)
class Dispatch:
    """A HandlerFramework from its three parts."""

    registry: Mapping[str, Handler]
    context: Callable[..., Any]
    run: Callable[[Handler, Any], Awaitable[Any]]


def lookup(framework: HandlerFramework, name: str) -> Handler:
    """The handler registered under `name`."""
    try:
        return framework.registry[name]
    except KeyError:
        raise LookupError(f"the framework has no handler {name!r}; known: "
                          f"{', '.join(sorted(framework.registry))}") from None
