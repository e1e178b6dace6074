"""The test-only fault hooks: a driver pauses before a named iteration until told to go on;
an armed stall is taken by exactly one worker."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from instrument.workload.fault_pause import PausePoints
from spanbench import settings
from stack.engine.messages import StepMessage
from stack.engine.worker.fault_stall import ARMED, TAKEN, stall_if_armed
from stack.engine.worker.steps import ClaimedStep


def test_no_pause_points_without_both_variables(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.delenv(settings.FAULT_DIR, raising=False)
    monkeypatch.setenv(settings.FAULT_PAUSE_AT, "e2e_latency/linear_3#1")
    assert PausePoints.from_env() is None
    monkeypatch.setenv(settings.FAULT_DIR, str(tmp_path))
    monkeypatch.setenv(settings.FAULT_PAUSE_AT, " ")
    assert PausePoints.from_env() is None


def test_a_pause_waits_for_its_resume_file(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv(settings.FAULT_DIR, str(tmp_path))
    monkeypatch.setenv(settings.FAULT_PAUSE_AT, "s/a#1, s/b#2")
    points = PausePoints.from_env()
    assert points is not None and points.points == {"s/a#1", "s/b#2"}
    points.before("s", "a", 0)  # not a pause point: returns at once
    assert not list(tmp_path.iterdir())

    done = threading.Event()
    thread = threading.Thread(target=lambda: (points.before("s", "a", 1), done.set()))
    thread.start()
    deadline = time.monotonic() + 5
    while not (tmp_path / "s.a.1.paused").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert json.loads((tmp_path / "s.a.1.paused").read_text())["index"] == 1
    assert not done.wait(0.1)
    (tmp_path / "s.a.1.resume").touch()
    assert done.wait(5)
    thread.join()


def test_a_pause_gives_up_after_its_limit(tmp_path: Path) -> None:
    started = time.monotonic()
    PausePoints(tmp_path, frozenset({"s/a#0"})).before("s", "a", 0, max_wait_s=0.1)
    assert time.monotonic() - started < 2


def _step(name: str) -> ClaimedStep:
    message = StepMessage("t", f"u-{name}", "c")
    return ClaimedStep(message, name, 1, "noop", {}, {}, {})


def test_one_worker_takes_an_armed_stall(tmp_path: Path) -> None:
    (tmp_path / ARMED).write_text(json.dumps({"ms": 50}))

    async def race() -> list[float]:
        async def one(index: int) -> float:
            started = time.monotonic()
            await stall_if_armed(tmp_path, str(index), _step(f"s{index}"))
            return time.monotonic() - started

        return list(await asyncio.gather(*(one(index) for index in range(4))))

    waits = asyncio.run(race())
    assert sum(wait >= 0.05 for wait in waits) == 1
    taken = json.loads((tmp_path / TAKEN).read_text())
    assert taken["ms"] == 50 and taken["step_uuid"].startswith("u-s")
    assert not (tmp_path / ARMED).exists()
    asyncio.run(stall_if_armed(None, "1", _step("x")))  # no fault dir: nothing happens
