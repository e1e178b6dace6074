"""handler_overhead: one handler called directly, through the framework, across a process,
and across tasker-core's own Rust→Python boundary.

- direct: the handler function on a prepared context; one `handler.direct` span per
  BATCH_SIZE calls, so sub-microsecond calls are measurable.
- framework: the worker's dispatch from the JSON a step message carries: decode, registry
  lookup, context construction, `run` (awaits async handlers), JSON result envelope.
- foreign: the same request sent to a handler process over a JSON-lines pipe and its reply
  decoded (the analogue of tasker's FFI workers); the process is started once per suite.
- tasker_py: tasker-core's Python worker (PyPI `tasker-py`: its Rust worker core compiled with
  PyO3) handing a step to a Python handler and accepting its result: one `handler.foreign`
  span from the start of the poll call that returns the step's event to the return of the
  completion call, with children `handler.foreign.event` (the poll call), `.run` (the
  handler) and `.complete` (the completion call). The worker runs in a child process
  (instrument.workload.tasker_py_worker) on the run's scratch copy of the deployment's
  database, never the deployment: it registers a template and its steps are seeded there
  (instrument.workload.tasker_py_boundary). Only with tasker-py installed, a tasker-core
  system and SPANBENCH_TASKER_PY_CONFIG naming the worker's TOML; otherwise skipped, and
  `SUBJECT` says why.

Every span carries `bench.batch_size` and `bench.per_call_ns` (duration ÷ batch) and the
handler's result (`handler.result`; for tasker_py the result tasker-core stored for the
step), which must equal the direct call's. The handler is `square` of 6: unlike `noop`, its
result shows the handler really ran.

`instrument/` cannot import the stack, so the framework and the foreign command come on the
context (`ctx.handlers`, `ctx.foreign_command`): the runner and the tests pass
`Dispatch(REGISTRY, StepContext, run_handler)` from `stack.engine.handlers` and
`(sys.executable, "-m", "stack.engine.foreign_handler")`; the scratch database comes as
`ctx.scratch_database`.

direct, framework and foreign are spanbench's own handler paths, not the deployment's, and
tasker_py is tasker-core's worker core on a copy of its database: `subject_on(system)` says
so per scenario (with tasker-py's version), and the runner records it for every report.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Awaitable, Mapping, Sequence
from contextlib import ExitStack
from itertools import repeat
from pathlib import Path
from typing import IO, Any

from instrument.drivers.base import DriverContext, Iteration, Need
from instrument.recorder import PhaseRecord
from instrument.systems.base import System
from instrument.workload import tasker_py
from instrument.workload.handler_framework import HandlerFramework, lookup
from instrument.workload.json_lines import JsonLinesProcess
from instrument.workload.tasker_py_boundary import Handover, TaskerPyBoundary
from instrument.workload.tasker_py_worker import NAMESPACE
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
          "foreign": Phase.HANDLER_FOREIGN, "tasker_py": Phase.HANDLER_FOREIGN}
SCENARIOS = tuple(PHASES)
PER_CALL_NS = Attr.PER_CALL_NS
RESULT = Attr.HANDLER_RESULT
FOREIGN_START_TIMEOUT_S = 15.0
TASKER_PY = "tasker_py"
TASKER_PY_LOG = "tasker_py_worker.log"
"""The worker's own log (tasker-core logs a lot), in the suite's artifacts."""
TASKER_PY_CHILDREN = (Phase.HANDLER_FOREIGN_EVENT, Phase.HANDLER_FOREIGN_RUN,
                      Phase.HANDLER_FOREIGN_COMPLETE)

_logger = logging.getLogger(__name__)


def tasker_py_unavailable(system: System | None) -> str | None:
    """Why the tasker_py scenario cannot run against `system` (None: no system); None: it can."""
    return tasker_py.unavailable(None if system is None else system.name,
                                 "" if system is None else system.endpoints.database_url,
                                 tasker_py.installed_version(), tasker_py.configured())


def subject(installed: str | None, tasker_py_skipped: str | None) -> dict[str, str]:
    """What each scenario measures, given tasker-py's installed version (None: not installed)
    and why the tasker_py scenario is skipped (None: it runs)."""
    if installed is None:
        tasker = (f"{tasker_py.DISTRIBUTION}, tasker-core's Python worker, is not installed: "
                  f"{tasker_py.INSTALL}")
    elif tasker_py_skipped is not None:
        tasker = (f"{tasker_py.DISTRIBUTION} {installed} is installed, but its Rust→Python "
                  f"dispatch is not measured: {tasker_py_skipped}")
    else:
        tasker = f"{tasker_py.DISTRIBUTION} {installed}'s dispatch is the {TASKER_PY} row"
    return {
        "direct": "spanbench's own handler called in-process, not the deployment's",
        "framework": "spanbench's own handler dispatch (decode, registry, context, run, "
                     "encode), not the deployment's",
        "foreign": "spanbench's own JSON-lines process boundary, not tasker-core's "
                   f"Rust→Python FFI ({tasker})",
        TASKER_PY: f"not measured: {tasker_py_skipped}" if tasker_py_skipped is not None
        else (f"tasker-core's Rust→Python FFI: {tasker_py.DISTRIBUTION} {installed}'s worker "
              "core hands a step to a Python handler (poll call), the handler runs, the "
              "completion call returns accepted; its worker runs in a child process on a "
              "scratch copy of the deployment's database"),
    }


def subject_on(system: System) -> dict[str, str]:
    """What each scenario measures when the run measures `system`."""
    return subject(tasker_py.installed_version(), tasker_py_unavailable(system))


SUBJECT = subject(tasker_py.installed_version(), tasker_py_unavailable(None))
"""Scenario → what it measures before a system is known (see subject_on and the docstring)."""


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


class ForeignHandler(JsonLinesProcess):
    """A handler process speaking JSON lines (stack.engine.foreign_handler), started once."""

    def __init__(self, command: Sequence[str], timeout_s: float = FOREIGN_START_TIMEOUT_S
                 ) -> None:
        super().__init__(command, timeout_s)

    def call(self, request: Mapping[str, Any], expires_at: float) -> Any:
        """Send one request, wait for its reply (until `expires_at`, monotonic); its result."""
        return self.request(request, expires_at)["result"]


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

    skipped = tasker_py_unavailable(ctx.system)
    ctx.plan([s for s in SCENARIOS if s != TASKER_PY or skipped is None], SAMPLES, WARMUP)
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

    if skipped is not None:
        _logger.info("%s: %s skipped: %s", SUITE, TASKER_PY, skipped)
        return
    config = tasker_py.configured()
    assert config is not None
    measure_tasker_py(ctx, config, expected)


def measure_tasker_py(ctx: DriverContext, config: Path, expected: Any) -> None:
    """The tasker_py scenario: tasker-py's worker, configured by `config`, on the run's
    scratch database; each stored result must be `expected`."""
    if ctx.scratch_database is None:
        raise ValueError(f"{SUITE}'s {TASKER_PY} needs a scratch database on its DriverContext")
    database_url = ctx.scratch_database()
    with ExitStack() as stack:
        log_path = ctx.artifact_path(TASKER_PY_LOG)
        log: IO[bytes] | int = (subprocess.DEVNULL if log_path is None
                                else stack.enter_context(log_path.open("wb")))
        boundary = stack.enter_context(TaskerPyBoundary(
            database_url, config, queue=ctx.system.worker_queue(NAMESPACE),
            send_sql=ctx.system.send_with_notify_sql, log=log))
        for iteration in ctx.iterations(TASKER_PY, SAMPLES, WARMUP):
            with ctx.guard(iteration):
                expires_at = ctx.deadline().expires_at
                step = boundary.seed_step()
                handover = boundary.hand_over(step, expires_at)
                stored = boundary.stored_result(step, expires_at)
                span = _handover_spans(ctx, iteration, handover, {
                    Attr.HANDLER: HANDLER, Attr.STEP_UUID: step, "foreign.pid": boundary.pid,
                    "tasker_py.version": boundary.version})
                _checked(span, 1, stored.get("value") if isinstance(stored, dict) else stored,
                         expected)


def _handover_spans(ctx: DriverContext, iteration: Iteration, handover: Handover,
                    attributes: Mapping[str, Any]) -> PhaseRecord:
    """The boundary's span and its three children, from the worker process's clock readings."""
    root = ctx.recorder.record(Phase.HANDLER_FOREIGN, handover.polled_ns, handover.accepted_ns,
                               parent=ctx.parent(iteration), attributes=attributes)
    marks = (handover.polled_ns, handover.handed_ns, handover.returned_ns, handover.accepted_ns)
    for name, start, end in zip(TASKER_PY_CHILDREN, marks, marks[1:], strict=False):
        ctx.recorder.record(name, start, end, parent=root)
    return root
