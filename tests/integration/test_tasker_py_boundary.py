"""tasker-core's real foreign-language boundary: its Rust worker core (PyPI tasker-py) hands a
step event to Python and accepts the handler's result, on a database from tasker-core's
migrations. handler_overhead's tasker_py scenario times it, in a scratch copy of the
deployment's database, with the worker configured by SPANBENCH_TASKER_PY_CONFIG (here
tasker-core's test configuration, its Redis cache disabled).

The boundary itself (instrument.workload.tasker_py_boundary) is checked on its own database
first: every step must end `enqueued_for_orchestration` with the handler's result stored by
the Rust side. Figures are printed (-s); the tests check the path, not the speed.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from instrument.drivers import handler_overhead
from instrument.drivers.base import NoProgress
from instrument.systems.base import Endpoints
from instrument.systems.tasker_core import TaskerCore
from instrument.workload import tasker_py
from instrument.workload.tasker_py_boundary import TaskerPyBoundary
from instrument.workload.tasker_py_worker import NAMESPACE
from spanbench import settings
from spanbench.runner import job, system_choice
from spanbench.runner.deployment import Deployment
from spanbench.vocabulary import Attr, Phase
from tests.db_snapshot import scratch_databases, snapshot
from tests.otlp_capture import OtlpCapture
from tests.tasker_core_db import CONTRACTS

pytest.importorskip("tasker_core", reason="tasker-py (tasker-core's Python worker) is not "
                    "installed: pip install 'spanbench[tasker]'")

RUN_ID = "20260101T000000Z-tpy4ff"
STEPS = 12
TIMEOUT_S = 10.0


@pytest.fixture
def worker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tasker-core's test configuration without its Redis cache, named by the setting."""
    config = (CONTRACTS / "config" / "worker-test.toml").read_text()
    config, changed = re.subn(r"(\[common\.cache\][^\[]*?)enabled = true", r"\1enabled = false",
                              config, count=1)
    assert changed == 1, "worker-test.toml no longer has [common.cache] enabled = true"
    path = tmp_path / "worker.toml"
    path.write_text(config)
    monkeypatch.setenv("TASKER_ENV", "test")
    monkeypatch.setenv(settings.TASKER_PY_CONFIG, str(path))
    return path


def test_tasker_py_hands_steps_to_python_and_stores_the_results(
        tasker_core_db: str, worker_config: Path) -> None:
    system = TaskerCore(Endpoints("", tasker_core_db))
    timings = []
    with TaskerPyBoundary(tasker_core_db, worker_config, queue=system.worker_queue(NAMESPACE),
                          send_sql=system.send_with_notify_sql) as boundary:
        for _ in range(STEPS):
            step = boundary.seed_step()
            handover = boundary.hand_over(step, time.monotonic() + TIMEOUT_S)
            assert handover.result == {"value": 36}
            assert boundary.stored_result(step, time.monotonic() + TIMEOUT_S) == {"value": 36}
            assert (handover.polled_ns < handover.handed_ns <= handover.returned_ns
                    <= handover.accepted_ns)
            timings.append((handover.accepted_ns - handover.polled_ns) / 1e6)
        version = boundary.version
    assert version == tasker_py.installed_version()
    print(f"\ntasker-py {version}: boundary median {statistics.median(timings):.3f} ms, "
          f"max {max(timings):.3f} ms over {STEPS} steps")


def test_handler_overhead_times_tasker_py_in_a_scratch_copy(
        tasker_core_db: str, worker_config: Path, pg_url: str, otlp_capture: OtlpCapture,
        tmp_path: Path) -> None:
    before = snapshot(tasker_core_db)
    deployment = Deployment(tasker_core_db, None, (), otlp_capture.endpoint, tmp_path)
    choice = system_choice.choose(None, (), tasker_core_db, "http://unused")
    options = job.RunOptions([handler_overhead.SUITE], quick=True, system=choice)
    plan = job.plan(deployment, options.suites, [], choice)
    outcome = job.run_suites(deployment, RUN_ID, options, NoProgress(), tmp_path / "art", plan)

    record = outcome.suites[handler_overhead.SUITE]
    assert record.status == "ran", outcome.suites
    assert outcome.failures[handler_overhead.SUITE] == []
    assert record.measures is not None
    assert f"tasker-py {tasker_py.installed_version()}" in record.measures["tasker_py"]
    assert "scratch copy" in record.measures["tasker_py"]
    spans = otlp_capture.received()
    roots = [s for s in spans if s.attributes.get(Attr.SCENARIO) == "tasker_py"
             and s.name == Phase.HANDLER_FOREIGN]
    assert len(roots) == 4  # 1 warm-up + 3 samples
    for root in roots:
        assert root.attributes[handler_overhead.RESULT] == "36"
        assert root.attributes["tasker_py.version"] == tasker_py.installed_version()
        children = sorted((s for s in spans if s.parent_span_id == root.span_id),
                          key=lambda s: s.start_ns)
        assert [s.name for s in children] == list(handler_overhead.TASKER_PY_CHILDREN)
        assert children[0].start_ns == root.start_ns
        assert children[-1].end_ns == root.end_ns
        assert all(s.attributes[Attr.SCENARIO] == "tasker_py" for s in children)
    foreign = [s for s in spans if s.attributes.get(Attr.SCENARIO) == "foreign"]
    assert len(foreign) == 4
    assert snapshot(tasker_core_db) == before
    assert scratch_databases(pg_url) == []
