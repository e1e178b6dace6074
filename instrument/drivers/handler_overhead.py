"""handler_overhead: one handler called directly, through the framework, and across a process.

- direct: the handler function on a prepared context; one `handler.direct` span per
  BATCH_SIZE calls, so sub-microsecond calls are measurable.
- framework: the worker's dispatch from the JSON a step message carries: decode, registry
  lookup, context construction, `run` (awaits async handlers), JSON result envelope.
- foreign: the same request sent to a handler process over a JSON-lines pipe and its reply
  decoded (the analogue of tasker's FFI workers); the process is started once per suite.

Every span carries `bench.batch_size` and `bench.per_call_ns` (duration ÷ batch) and the
handler's result (`handler.result`), which must equal the direct call's. The handler is
`square` of 6: unlike `noop`, its result shows the handler really ran.

`instrument/` cannot import the stack, so the framework and the foreign command come on the
context (`ctx.handlers`, `ctx.foreign_command`): the runner and the tests pass
`Dispatch(REGISTRY, StepContext, run_handler)` from `stack.engine.handlers` and
`(sys.executable, "-m", "stack.engine.foreign_handler")`.

Whatever the system, these are spanbench's own handler paths, not the deployment's: `SUBJECT`
says so per scenario, and the runner records it for every report. tasker-core's own boundary
(its Rust worker core handing a step to a Python handler, PyPI `tasker-py`) is not measured
here yet; the foreign case's note says whether tasker-py is installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import time
from collections.abc import Awaitable, Mapping, Sequence
from itertools import repeat
from typing import Any

from instrument.drivers.base import DriverContext, Iteration, Need
from instrument.recorder import PhaseRecord
from instrument.workload.handler_framework import HandlerFramework, lookup
from instrument.workload.tasker_py import DISTRIBUTION, installed_version
from spanbench.vocabulary import Attr, Phase, Suite

SUITE = Suite.HANDLER_OVERHEAD
NEEDS = frozenset[Need]()
SAMPLES = 100
WARMUP = 10
BATCH_SIZE = 10_000
HANDLER = "square"
STEP_NAME = "single_square"
TASK_CONTEXT: Mapping[str, Any] = {"even_number": 6}
PHASES = {"direct": Phase.HANDLER_DIRECT, "framework": Phase.HANDLER_FRAMEWORK,
          "foreign": Phase.HANDLER_FOREIGN}
SCENARIOS = tuple(PHASES)
PER_CALL_NS = Attr.PER_CALL_NS
RESULT = Attr.HANDLER_RESULT
FOREIGN_START_TIMEOUT_S = 15.0


def subject(tasker_py: str | None) -> dict[str, str]:
    """What each scenario measures, given tasker-py's installed version (None: not installed)."""
    if tasker_py is None:
        tasker = (f"{DISTRIBUTION}, tasker-core's Python worker, is not installed: "
                  "pip install 'spanbench[tasker]'")
    else:
        tasker = (f"{DISTRIBUTION} {tasker_py} is installed, but its Rust→Python dispatch "
                  "is not measured: it needs a worker bootstrapped on a tasker-core database")
    return {
        "direct": "spanbench's own handler called in-process, not the deployment's",
        "framework": "spanbench's own handler dispatch (decode, registry, context, run, "
                     "encode), not the deployment's",
        "foreign": "spanbench's own JSON-lines process boundary, not tasker-core's "
                   f"Rust→Python FFI ({tasker})",
    }


SUBJECT = subject(installed_version())
"""Scenario → what it measures: spanbench's code, not the deployment's (see the docstring)."""


class HandlerMismatch(RuntimeError):
    """A path returned something other than the direct call's result."""


def step_request(handler: str, step_name: str, task_context: Mapping[str, Any],
                 dependency_results: Mapping[str, Any] | None = None,
                 config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a step message carries for its handler, as JSON-ready data."""
    return {"handler": handler, "step_name": step_name, "task_context": dict(task_context),
            "dependency_results": dict(dependency_results or {}), "config": dict(config or {})}


async def dispatch(framework: HandlerFramework, message: str | bytes,
                   connection: Any = None) -> str:
    """The framework path: decode, look up, build the context, run, wrap and encode."""
    body = json.loads(message)
    handler = lookup(framework, body["handler"])
    ctx = framework.context(step_name=body["step_name"], task_context=body["task_context"],
                            dependency_results=body["dependency_results"],
                            config=body["config"], connection=connection)
    return json.dumps({"result": await framework.run(handler, ctx)})


class ForeignHandler:
    """A handler process speaking JSON lines (stack.engine.foreign_handler), started once."""

    def __init__(self, command: Sequence[str], timeout_s: float = FOREIGN_START_TIMEOUT_S
                 ) -> None:
        self._process = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, bufsize=0)
        self._buffer = b""
        self._next_id = 0
        try:
            ready = json.loads(self._read_line(time.monotonic() + timeout_s))
        except BaseException:
            self.close()
            raise
        self.pid = int(ready["pid"])

    def __enter__(self) -> ForeignHandler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, request: Mapping[str, Any], expires_at: float) -> Any:
        """Send one request, wait for its reply (until `expires_at`, monotonic); its result."""
        self._next_id += 1
        line = json.dumps({**request, "id": self._next_id}).encode() + b"\n"
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(line)
        reply = json.loads(self._read_line(expires_at))
        if reply.get("id") != self._next_id:
            raise RuntimeError(f"foreign handler answered request {reply.get('id')} "
                               f"to request {self._next_id}")
        if "error" in reply:
            raise RuntimeError(f"foreign handler failed: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        process = self._process
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _read_line(self, expires_at: float) -> bytes:
        stdout = self._process.stdout
        assert stdout is not None
        while (end := self._buffer.find(b"\n")) < 0:
            remaining = expires_at - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"foreign handler {self._process.pid} did not answer in time")
            if not select.select([stdout], [], [], remaining)[0]:
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"foreign handler {self._process.pid} exited with "
                                   f"{self._process.wait()}")
            self._buffer += chunk
        line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
        return line


def _checked(span: PhaseRecord, batch: int, result: Any, expected: Any) -> None:
    span.set_attributes({Attr.BATCH_SIZE: batch, PER_CALL_NS: span.duration_ns // batch,
                         RESULT: json.dumps(result)})
    if result != expected:
        raise HandlerMismatch(f"{span.name} returned {result!r}, the direct call {expected!r}")


def run(ctx: DriverContext, *, handler: str = HANDLER,
        task_context: Mapping[str, Any] = TASK_CONTEXT) -> None:
    framework = ctx.handler_framework()
    if not ctx.foreign_command:
        raise ValueError("handler_overhead needs a foreign handler command on its DriverContext")
    request = step_request(handler, STEP_NAME, task_context)
    function = lookup(framework, handler)
    step_ctx = framework.context(step_name=STEP_NAME, task_context=dict(task_context),
                                 dependency_results={}, config={}, connection=None)
    expected = function(step_ctx)
    if isinstance(expected, Awaitable):
        raise TypeError(f"handler {handler!r} is asynchronous: direct calls need a plain one")

    def phase(iteration: Iteration, path: str) -> PhaseRecord:
        return ctx.recorder.phase(PHASES[path], parent=ctx.parent(iteration),
                                  attributes={Attr.HANDLER: handler, Attr.STEP_NAME: STEP_NAME})

    for iteration in ctx.iterations("direct", SAMPLES, WARMUP):
        with ctx.guard(iteration):
            with phase(iteration, "direct") as span:
                for _ in repeat(None, BATCH_SIZE):
                    result = function(step_ctx)
            _checked(span, BATCH_SIZE, result, expected)

    message = json.dumps(request)

    async def framework_path() -> None:
        for iteration in ctx.iterations("framework", SAMPLES, WARMUP):
            with ctx.guard(iteration):
                with phase(iteration, "framework") as span:
                    envelope = await dispatch(framework, message)
                _checked(span, 1, json.loads(envelope)["result"], expected)

    asyncio.run(framework_path())

    with ForeignHandler(ctx.foreign_command) as foreign:
        for iteration in ctx.iterations("foreign", SAMPLES, WARMUP):
            with ctx.guard(iteration):
                expires_at = ctx.deadline().expires_at
                with phase(iteration, "foreign") as span:
                    result = foreign.call(request, expires_at)
                span.set_attribute("foreign.pid", foreign.pid)
                _checked(span, 1, result, expected)
