"""handler_overhead in quick mode on the stack: three paths, one foreign process, square(6) = 36
on each; tasker_py is skipped (the system is not tasker-core)."""

from __future__ import annotations

import dataclasses

from instrument.drivers import handler_overhead
from instrument.workload.handler_framework import Dispatch
from spanbench.vocabulary import Attr
from stack.engine.handlers import REGISTRY, StepContext, run_handler
from tests.driver_harness import DriverEnv
from tests.recording_progress import RecordingProgress


def test_three_paths_give_36_with_per_call_costs(driver_env: DriverEnv) -> None:
    ctx = driver_env.context(handler_overhead.SUITE)
    ctx.progress = progress = RecordingProgress()
    handler_overhead.run(ctx)
    assert ctx.failures == []
    assert progress.lines() == ["direct", "framework", "foreign"]
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx, settle_s=0.2)
    assert not [s for s in spans if s.attributes[Attr.SCENARIO] == handler_overhead.TASKER_PY]
    for scenario, name in handler_overhead.PHASES.items():
        if scenario == handler_overhead.TASKER_PY:
            continue  # the stack is not tasker-core: skipped (tests/unit/test_tasker_py_skip.py)
        mine = [s for s in spans if s.name == name and s.attributes[Attr.SCENARIO] == scenario]
        assert len(mine) == 4, scenario  # 1 warm-up + 3 samples
        batch = handler_overhead.BATCH_SIZE if scenario == "direct" else 1
        for span in mine:
            assert span.parent_span_id == ""
            assert span.attributes[Attr.SCENARIO] == scenario
            assert span.attributes[Attr.SUITE] == "handler_overhead"
            assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
            assert span.attributes[Attr.BATCH_SIZE] == batch
            assert span.attributes[handler_overhead.RESULT] == "36"
            per_call = span.attributes[handler_overhead.PER_CALL_NS]
            assert per_call == span.duration_ns // batch
    foreign_pids = {s.attributes["foreign.pid"] for s in spans if s.name == "handler.foreign"
                    and s.attributes[Attr.SCENARIO] == "foreign"}
    assert len(foreign_pids) == 1


def test_a_wrong_result_fails_the_iteration(driver_env: DriverEnv) -> None:
    calls = 0

    def flaky_square(ctx: StepContext) -> int:
        nonlocal calls
        calls += 1
        return 36 if calls == 1 else 35

    registry = {**REGISTRY, "square": flaky_square}
    ctx = dataclasses.replace(driver_env.context(handler_overhead.SUITE),
                              handlers=Dispatch(registry, StepContext, run_handler))
    handler_overhead.run(ctx)
    failed = {(f.scenario, f.index) for f in ctx.failures}
    assert failed == {(path, i) for path in ("direct", "framework") for i in range(4)}
    assert all("HandlerMismatch" in f.error for f in ctx.failures)
