"""The framework path and the foreign handler process, without servers."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from instrument.drivers.handler_overhead import ForeignHandler, dispatch, step_request
from instrument.workload.handler_framework import Dispatch
from stack.engine import foreign_handler
from stack.engine.handlers import REGISTRY, StepContext, run_handler

FRAMEWORK = Dispatch(REGISTRY, StepContext, run_handler)
FOREIGN = (sys.executable, "-m", "stack.engine.foreign_handler")


def test_dispatch_decodes_runs_and_wraps() -> None:
    message = json.dumps(step_request("square", "s", {"even_number": 6}))
    assert json.loads(asyncio.run(dispatch(FRAMEWORK, message))) == {"result": 36}
    unknown = json.dumps(step_request("nope", "s", {}))
    with pytest.raises(LookupError, match="no handler 'nope'"):
        asyncio.run(dispatch(FRAMEWORK, unknown))


def test_foreign_answer_reports_results_and_errors_per_line() -> None:
    ok = json.dumps({"id": 3, **step_request("multiply_and_square", "s", {},
                                             {"a": 2, "b": 3})}).encode()
    assert json.loads(asyncio.run(foreign_handler.answer(ok))) == {"id": 3, "result": 36}
    bad = json.loads(asyncio.run(foreign_handler.answer(b"[1]")))
    assert bad["id"] is None and bad["error"]["type"] == "AttributeError"
    failing = json.dumps({"id": 4, **step_request("error", "s", {})}).encode()
    assert json.loads(asyncio.run(foreign_handler.answer(failing)))["error"]["type"] == (
        "HandlerError")


def test_foreign_process_round_trips_and_exits_on_close() -> None:
    with ForeignHandler(FOREIGN) as foreign:
        expires = time.monotonic() + 10
        assert foreign.call(step_request("square", "s", {"even_number": 6}), expires) == 36
        assert foreign.call(step_request("noop", "s", {"even_number": 5}), expires) == 5
        with pytest.raises(RuntimeError, match="UnknownHandler"):
            foreign.call(step_request("nope", "s", {}), expires)
        process = foreign._process
    assert process.returncode == 0


def test_a_foreign_process_that_dies_is_reported() -> None:
    with pytest.raises(RuntimeError, match="exited with 3"):
        ForeignHandler((sys.executable, "-c", "import sys; sys.exit(3)"))
