"""A real `spanbench run` with the test-only fault hooks, and the accounting the fault cases print.

`FaultRun.start` launches `python -m spanbench run e2e_latency` on the embedded default stack
(its own sink, PostgreSQL and services) with SPANBENCH_FAULT_DIR and pause points set; a case
waits for a pause, injects its fault, resumes, and reads back run.json and the Parquet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from extract.analyse.duckdb_runner import open_runs
from instrument.drivers.e2e_latency import SCENARIOS
from spanbench.vocabulary import Suite

SUITE = Suite.E2E_LATENCY
SAMPLES = 2
WARMUP = 1
ITERATIONS = len(SCENARIOS) * (SAMPLES + WARMUP)
"""Workflows one fault run starts: every e2e scenario, warm-up included."""
RUN_TIMEOUT_S = 150.0
POLL_S = 0.05
FAULT_LINE = "fault_line"
"""user_properties key under which a case records its summary line (tests/faults/conftest.py)."""


def point(scenario: str, index: int) -> str:
    """A pause point of the e2e suite, as SPANBENCH_FAULT_PAUSE_AT names it."""
    return f"{SUITE}/{scenario}#{index}"


def wait_for(predicate: Any, what: str, timeout_s: float, process: subprocess.Popen[str] | None
             = None) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run exited ({process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(POLL_S)


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path
    metadata: dict[str, Any]

    def sql(self, query: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """A query over this run's spans, as table `spans`."""
        connection = open_runs(self.run_dir.parent, [self.run_dir.name])
        try:
            return connection.execute(query, dict(parameters or {})).fetchall()
        finally:
            connection.close()

    def workflows(self) -> tuple[int, int]:
        """(completed, in Parquet): e2e.workflow spans without and with an error status."""
        [(completed, total)] = self.sql(
            "SELECT count(*) FILTER (WHERE StatusCode <> 'Error'), count(*) FROM spans "
            "WHERE SpanName = phase().e2e_workflow")
        return int(completed), int(total)

    def failures(self) -> list[dict[str, Any]]:
        return list(self.metadata.get("failures", {}).get(SUITE, []))


@dataclass(frozen=True)
class ProcessAccount:
    """One process's spans: what it emitted and had acknowledged, what the Parquet holds."""

    service: str
    instance_id: str
    emitted: int
    acknowledged: int
    dropped: int
    in_parquet: int
    """Distinct span ids of this process in the run's Parquet."""
    rows: int

    @property
    def lost(self) -> int:
        return self.emitted - self.in_parquet


@dataclass
class Accounting:
    processes: list[ProcessAccount] = field(default_factory=list)
    unaccounted_rows: int = 0
    """Spans of processes that left no counts (killed ones): not part of the comparison."""

    @property
    def acknowledged(self) -> int:
        return sum(p.acknowledged for p in self.processes)

    @property
    def in_parquet(self) -> int:
        return sum(p.in_parquet for p in self.processes)

    @property
    def lost(self) -> int:
        return sum(p.lost for p in self.processes)

    @property
    def duplicates(self) -> int:
        return sum(p.rows - p.in_parquet for p in self.processes)


def account(finished: Finished) -> Accounting:
    """Every process's own counts (run.json: the drivers, and each stack process that stopped
    cleanly) beside its spans in the Parquet, matched by service.instance.id."""
    reported = [finished.metadata["telemetry"], *finished.metadata.get("stack_telemetry", [])]
    in_parquet = {instance: (int(distinct), int(rows)) for instance, distinct, rows in finished.sql(
        "SELECT ResourceAttributes['service.instance.id'], count(DISTINCT SpanId), count(*) "
        "FROM spans_as_stored GROUP BY 1")}  # every delivery: repeats show as duplicates
    accounting = Accounting()
    for counts in reported:
        distinct, rows = in_parquet.pop(counts["instance_id"], (0, 0))
        accounting.processes.append(ProcessAccount(
            counts["service_name"], counts["instance_id"], counts["spans_emitted"],
            counts["spans_acknowledged"], counts["spans_dropped"], distinct, rows))
    accounting.unaccounted_rows = sum(rows for _, rows in in_parquet.values())
    return accounting


def report(fault: str, injected: str, finished: Finished, accounting: Accounting,
           **extra: object) -> str:
    """The case's summary line (printed; collected by pytest -s or shown on failure)."""
    completed, _ = finished.workflows()
    fields = {"fault": fault, "injected": injected,
              "workflows_completed": f"{completed}/{ITERATIONS}",
              "spans_acknowledged": accounting.acknowledged,
              "spans_in_parquet": accounting.in_parquet, "spans_lost": accounting.lost,
              "duplicates": accounting.duplicates, **extra}
    line = " ".join(f"{key}={value}" for key, value in fields.items())
    print(line)
    return line


def assert_nothing_lost(accounting: Accounting, processes: int) -> None:
    """Every reporting process's spans are all in Parquet and none were dropped."""
    assert len(accounting.processes) == processes, accounting
    for process in accounting.processes:
        assert process.emitted > 0, process
        assert process.dropped == 0, process
        assert process.acknowledged == process.emitted, process
        assert process.in_parquet == process.emitted, process


class FaultRun:
    """One `spanbench run` of the e2e suite, with fault hooks, in a subprocess."""

    def __init__(self, home: Path, work: Path, pause_at: Iterable[str] = (),
                 env: Mapping[str, str] | None = None, timeout_s: float = 20.0) -> None:
        self.home = home
        self.fault_dir = work / "faults"
        self.fault_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir = work / "runs"
        self._stdout = work / "run.stdout"
        self._stderr = work / "run.stderr"
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith(("OTEL_", "TASKER_TEST_", "SPANBENCH_"))
                       and k != "DATABASE_URL"}
        environment.update(SPANBENCH_HOME=str(home), COLUMNS="120",
                           SPANBENCH_FAULT_DIR=str(self.fault_dir),
                           SPANBENCH_FAULT_PAUSE_AT=",".join(pause_at), **(env or {}))
        command = [sys.executable, "-m", "spanbench", "run", SUITE, "--samples", str(SAMPLES),
                   "--warmup", str(WARMUP), "--timeout", str(timeout_s), "--workers", "2",
                   "--out", str(self.runs_dir), "--output-dir", str(work / "reports")]
        with self._stdout.open("w") as out, self._stderr.open("w") as err:
            self.process = subprocess.Popen(command, cwd=work, env=environment, stdout=out,
                                            stderr=err, text=True, start_new_session=True)

    def wait_paused(self, at: str, timeout_s: float = 90) -> None:
        paused = self.fault_dir / f"{at.replace('/', '.').replace('#', '.')}.paused"
        wait_for(paused.exists, f"pause at {at}", timeout_s, self.process)

    def resume(self, at: str) -> None:
        (self.fault_dir / f"{at.replace('/', '.').replace('#', '.')}.resume").touch()

    def wait_file(self, name: str, timeout_s: float) -> dict[str, Any]:
        path = self.fault_dir / name
        wait_for(path.exists, name, timeout_s, self.process)
        return dict(json.loads(path.read_text()))

    def sink_ready(self) -> dict[str, Any]:
        """The run's sink as its ready file describes it (pid, address)."""
        path = self.home / "logs" / "sink.ready.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def stack_urls(self) -> list[str]:
        state = json.loads((self.home / "run-stack" / "stack.json").read_text())
        return [service["url"] for service in state["services"].values()]

    def wait_stack_healthy(self, timeout_s: float = 60) -> None:
        def healthy() -> bool:
            try:
                return all(httpx.get(f"{url}/health", timeout=2).status_code == 200
                           for url in self.stack_urls())
            except httpx.HTTPError:
                return False

        wait_for(healthy, "healthy stack", timeout_s, self.process)

    def finish(self, timeout_s: float = RUN_TIMEOUT_S) -> Finished:
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the run did not finish within {timeout_s:.0f} s:\n"
                                 f"{self._stderr.read_text()[-3000:]}") from None
        stdout, stderr = self._stdout.read_text(), self._stderr.read_text()
        run_dirs = [p for p in self.runs_dir.iterdir() if (p / "run.json").exists()] \
            if self.runs_dir.exists() else []
        assert len(run_dirs) == 1, \
            f"rc={self.process.returncode}\n{stdout[-3000:]}\n{stderr[-3000:]}"
        metadata = json.loads((run_dirs[0] / "run.json").read_text())
        return Finished(self.process.returncode, stdout, stderr, run_dirs[0], metadata)

    def stop(self) -> None:
        """Ctrl-C the run (it stops what it started), then kill what is left of its group."""
        for paused in self.fault_dir.glob("*.paused"):
            paused.with_suffix(".resume").touch()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
