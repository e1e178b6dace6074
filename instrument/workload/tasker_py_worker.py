"""The child process in which tasker-py's worker runs: `python -m
instrument.workload.tasker_py_worker`, spoken to in JSON lines (instrument.workload.json_lines).

tasker-py's worker is process-global and configured by its environment (DATABASE_URL,
TASKER_CONFIG_PATH, TASKER_TEMPLATE_PATH, bind addresses), which the parent sets. The worker
is bootstrapped for NAMESPACE, then the process writes `{"ready": true, "pid", "version"}`
(or `{"error": ...}`) and answers each request

    {"id": 1, "step_uuid": "...", "timeout_s": 30}

by polling tasker-py until the Rust side hands over that step's event (`poll_step_events`),
running the handler (the square of the task's `even_number`) and submitting its result
(`complete_step_event`), as tasker-py's EventPoller and StepExecutionSubscriber do. The reply
is `{"id": 1, "result": {"value": 36}, "polled_ns", "handed_ns", "returned_ns",
"accepted_ns"}`: `time.perf_counter_ns` readings (the host's monotonic clock, which the
parent shares) at the start of the poll call that returned the event, its return, the
handler's return and the completion call's return. tasker-core logs to stdout, so the
protocol gets its own copy of stdout and everything else goes to stderr. The worker is
stopped when stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import IO, Any

NAMESPACE = "spanbench_ffi"
TASK_NAME = "ffi_boundary"
STEP_NAME = "square"
HANDLER = f"{NAMESPACE}.square"
WORKER_ID = "spanbench"


def square(event: dict[str, Any]) -> dict[str, Any]:
    """The Python handler: the square of the task's even_number, read from what the Rust side
    handed over."""
    step = event["task_sequence_step"]
    callable_name = step["step_definition"]["handler"]["callable"]
    if callable_name != HANDLER:
        raise ValueError(f"step event for handler {callable_name!r}, not {HANDLER!r}")
    return {"value": step["task"]["task"]["context"]["even_number"] ** 2}


def dispatch(core: Any, types: Any, step_uuid: str, timeout_s: float) -> dict[str, Any]:
    """Poll until the step's event is handed over, run the handler, complete; the timings."""
    expires = time.monotonic() + timeout_s
    event = None
    while event is None:
        if time.monotonic() > expires:
            raise TimeoutError(f"no step event for {step_uuid} in {timeout_s} s")
        polled = time.perf_counter_ns()
        event = core.poll_step_events()
    handed = time.perf_counter_ns()
    if event["step_uuid"] != step_uuid:
        raise RuntimeError(f"tasker-py handed over step {event['step_uuid']}, not {step_uuid}")
    result = square(event)
    completion = types.StepExecutionResult.success_result(
        step_uuid=uuid.UUID(event["step_uuid"]), task_uuid=uuid.UUID(event["task_uuid"]),
        result=result, execution_time_ms=0, worker_id=WORKER_ID,
        correlation_id=uuid.UUID(event["correlation_id"])).model_dump(mode="json")
    returned = time.perf_counter_ns()
    if not core.complete_step_event(str(event["event_id"]), completion):
        raise RuntimeError(f"tasker-py refused the completion of step {step_uuid}")
    accepted = time.perf_counter_ns()
    return {"result": result, "polled_ns": polled, "handed_ns": handed,
            "returned_ns": returned, "accepted_ns": accepted}


def _answer(core: Any, types: Any, line: bytes) -> dict[str, Any]:
    request_id: Any = None
    try:
        request = json.loads(line)
        request_id = request.get("id")
        return {"id": request_id, **dispatch(core, types, request["step_uuid"],
                                             float(request["timeout_s"]))}
    except Exception as error:
        return {"id": request_id, "error": f"{type(error).__name__}: {error}"}


def _write(out: IO[bytes], message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:  # imported only now: the extension logs to stdout from its import on
        import tasker_core as core
        import tasker_core.types as types

        started = core.bootstrap_worker(core.BootstrapConfig(namespace=NAMESPACE))
        if not started.success:
            raise RuntimeError(started.error_message)
    except Exception as error:
        _write(out, {"error": f"{type(error).__name__}: {error}"})
        return 1
    try:
        _write(out, {"ready": True, "pid": os.getpid(), "version": core.get_version()})
        for line in sys.stdin.buffer:
            _write(out, _answer(core, types, line))
    finally:
        core.stop_worker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
