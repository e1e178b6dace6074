"""How fast is the reference stack? POST /v1/tasks latency and linear_4 end-to-end latency.

Starts a throwaway stack (1 orchestrator, 2 workers) with durable commits and, side by side in
the same run, with relaxed durability; measures from the client; prints medians and tails.
End-to-end completion is taken from a LISTEN on the orchestration's task-finalized channel in a
separate thread, so no polling interval is added to the figure.

Beside each configuration's per-stage cost it prints that cluster's floor (benchmarks.stack_floor:
LISTEN/NOTIFY round trip, pgmq.send, pgmq.read), measured before, between and after the
workload (the median of the three p50s), and the stage split into its parts from the stack's
transition stamps (benchmarks.stack_stages).

    python -m benchmarks.stack_latency [--posts 200] [--workflows 40] [--only durable|relaxed]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.stack_floor import Floor, describe, measure_floor
from benchmarks.stack_stages import PARTS, stage_parts
from instrument.settings import orchestration_auth_headers
from instrument.workload.completion import FinalizationListener
from instrument.workload.tasker_client import task_request
from spanbench.vocabulary import FINALIZED_CHANNEL
from stack.local import lifecycle, postgres

WARMUP = 10
LINEAR_4_STEPS = [f"linear_step_{n}" for n in range(1, 5)]


def _task_body(name: str, namespace: str) -> dict[str, object]:
    """A new identity each call: the stack refuses a repeated context with 409."""
    return task_request(name, namespace, {"even_number": 6}, initiator="benchmark",
                        reason="stack latency", tags=[])


@dataclass
class Measured:
    label: str
    settings: dict[str, str]
    post_ns: list[int] = field(default_factory=list)
    e2e_ns: list[int] = field(default_factory=list)
    floors: list[Floor] = field(default_factory=list)
    stage_parts_ms: dict[str, float] = field(default_factory=dict)

    @property
    def floor(self) -> Floor:
        """The median of each part over the floor's repeats."""
        return Floor(*(statistics.median(getattr(f, part) for f in self.floors)
                       for part in ("notify_ns", "send_ns", "read_ns")))


def _finished(listener: FinalizationListener, task_uuid: str, timeout_s: float = 30.0) -> int:
    """When the task's finalization NOTIFY arrived (perf_counter_ns)."""
    finalization = listener.wait(task_uuid, timeout_s)
    if finalization is None:
        raise TimeoutError(f"task {task_uuid} did not finish in {timeout_s:.0f} s")
    return finalization.received_ns


def _create(client: httpx.Client, name: str, namespace: str) -> str:
    response = client.post("/v1/tasks", json=_task_body(name, namespace))
    response.raise_for_status()
    return str(response.json()["task_uuid"])


def measure(label: str, relaxed: bool, posts: int, workflows: int) -> Measured:
    home = Path(tempfile.mkdtemp(prefix=f"spanbench-bench-{label}-"))
    state = lifecycle.up(home, lifecycle.StackOptions(relaxed=relaxed)).state
    result = Measured(label, {k: state.server_settings.get(k, "?")
                              for k in ("fsync", "synchronous_commit", "full_page_writes")})
    listener = FinalizationListener(state.database_url, FINALIZED_CHANNEL)
    e2e_tasks: list[str] = []
    try:
        listener.start()
        result.floors.append(measure_floor(state.database_url))
        with httpx.Client(base_url=state.orchestration_urls[0], timeout=30,
                          headers=orchestration_auth_headers()) as client:
            for _ in range(WARMUP):
                _finished(listener, _create(client, "linear_4", "linear_workflow"))
            for i in range(posts):
                started = time.perf_counter_ns()
                task_uuid = _create(client, "linear_3", "linear_workflow")
                result.post_ns.append(time.perf_counter_ns() - started)
                if i % 20 == 0:
                    print(f"  [{label}] POST {i}/{posts}", flush=True)
                _finished(listener, task_uuid)  # one task at a time: no queueing behind others
            result.floors.append(measure_floor(state.database_url))
            for i in range(workflows):
                started = time.perf_counter_ns()
                task_uuid = _create(client, "linear_4", "linear_workflow")
                result.e2e_ns.append(_finished(listener, task_uuid) - started)
                e2e_tasks.append(task_uuid)
                if i % 10 == 0:
                    print(f"  [{label}] linear_4 {i}/{workflows}", flush=True)
        result.floors.append(measure_floor(state.database_url))
        result.stage_parts_ms = stage_parts(state.database_url, e2e_tasks, LINEAR_4_STEPS)
    finally:
        try:
            listener.stop()
        finally:
            lifecycle.down(home)
            postgres.remove(home)
    return result


def _ms(ns: float) -> str:
    return f"{ns / 1e6:8.2f}"


def summary(samples: list[int]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": statistics.median(samples), "p95": cuts[94],
            "p99": cuts[98], "min": min(samples), "max": max(samples)}


def report(results: list[Measured]) -> str:
    lines = [f"{'metric':<34}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'min':>9}{'max':>9}"]
    for result in results:
        for name, samples in (("POST /v1/tasks (linear_3)", result.post_ns),
                              ("linear_4 end to end", result.e2e_ns)):
            s = summary(samples)
            lines.append(f"{name + ' [' + result.label + ']':<34}{s['n']:>5}{_ms(s['p50'])} "
                         f"{_ms(s['p95'])} {_ms(s['p99'])} {_ms(s['min'])} {_ms(s['max'])}")
        per_stage = statistics.median(result.e2e_ns) / len(LINEAR_4_STEPS)
        floor = result.floor
        lines.append(f"  linear_4 median per sequential stage [{result.label}]: "
                     f"{per_stage / 1e6:.2f} ms, {per_stage / floor.stage_ns:.1f}x its floor "
                     f"of {floor.stage_ns / 1e6:.2f} ms (tasker-core publishes ~64 ms)")
        lines.append("  stage parts p50 ms: " + ", ".join(
            f"{part} {result.stage_parts_ms[part]:.2f}" for part in PARTS))
        lines.extend(describe(floor))
        lines.append(f"  server settings [{result.label}]: {result.settings}")
    if len(results) == 2:
        ratio = statistics.median(results[0].post_ns) / statistics.median(results[1].post_ns)
        lines.append(f"POST median ratio {results[0].label}/{results[1].label}: {ratio:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--workflows", type=int, default=40)
    parser.add_argument("--only", choices=("durable", "relaxed"))
    args = parser.parse_args()
    configs = [("durable", False), ("relaxed", True)]
    results = [measure(label, relaxed, args.posts, args.workflows)
               for label, relaxed in configs if args.only in (None, label)]
    print(report(results))


if __name__ == "__main__":
    main()
