"""The floor of one workflow stage on a cluster: the raw costs a stage cannot avoid.

A sequential stage of the reference stack needs two wake-ups (LISTEN/NOTIFY: orchestration →
worker, worker → orchestration), two reads (the worker's pgmq.read, the orchestration's) and
three short write transactions (claim, submit with its send, result processing with its send).
Each is measured here raw, from a client on the same machine, against the cluster the stack
runs on:

- notify: `SELECT pg_notify(...)` on one connection until a LISTEN connection has it;
- send: `SELECT pgmq.send(...)` in autocommit, i.e. a one-row write and its commit;
- read: `SELECT * FROM pgmq.read(...)` of one waiting message (it, too, writes and commits).

    python -m benchmarks.stack_floor [--samples 200]   # on a throwaway cluster of its own
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from stack.local import migrate, postgres

CHANNEL = "spanbench_floor"
QUEUE = "spanbench_floor"
WARMUP = 20


@dataclass(frozen=True)
class Floor:
    """p50 of each raw cost, in nanoseconds."""

    notify_ns: float
    send_ns: float
    read_ns: float

    @property
    def stage_ns(self) -> float:
        """Two wake-ups, two reads and three short write transactions (a send each)."""
        return 2 * self.notify_ns + 2 * self.read_ns + 3 * self.send_ns


def _notify_round_trips(database_url: str, samples: int) -> list[int]:
    durations: list[int] = []
    with psycopg.connect(database_url, autocommit=True) as listening, \
            psycopg.connect(database_url, autocommit=True) as sending:
        listening.execute(f"LISTEN {CHANNEL}")
        for i in range(WARMUP + samples):
            started = time.perf_counter_ns()
            sending.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(i)))
            received = next(listening.notifies(timeout=5.0, stop_after=1), None)
            if received is None:
                raise TimeoutError("a NOTIFY did not arrive in 5 s")
            if i >= WARMUP:
                durations.append(time.perf_counter_ns() - started)
    return durations


def _send_and_read(database_url: str, samples: int) -> tuple[list[int], list[int]]:
    sends: list[int] = []
    reads: list[int] = []
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=0) as conn:
        conn.execute("SELECT pgmq.create(%s)", (QUEUE,))
        try:
            for i in range(WARMUP + samples):
                started = time.perf_counter_ns()
                conn.execute("SELECT pgmq.send(%s, %s::jsonb)", (QUEUE, '{"floor": true}'))
                sent = time.perf_counter_ns()
                rows = conn.execute("SELECT * FROM pgmq.read(%s, %s, %s)",
                                    (QUEUE, 30, 1)).fetchall()
                read = time.perf_counter_ns()
                if len(rows) != 1:
                    raise RuntimeError(f"pgmq.read returned {len(rows)} messages, not 1")
                conn.execute("SELECT pgmq.delete(%s, %s::bigint)", (QUEUE, rows[0][0]))
                if i >= WARMUP:
                    sends.append(sent - started)
                    reads.append(read - sent)
        finally:
            conn.execute("SELECT pgmq.drop_queue(%s)", (QUEUE,))
    return sends, reads


def measure_floor(database_url: str, samples: int = 200) -> Floor:
    """The floor's parts on the cluster behind `database_url` (pgmq must be installed)."""
    notify = _notify_round_trips(database_url, samples)
    sends, reads = _send_and_read(database_url, samples)
    return Floor(statistics.median(notify), statistics.median(sends), statistics.median(reads))


def describe(floor: Floor) -> list[str]:
    return [
        f"  LISTEN/NOTIFY round trip p50 {floor.notify_ns / 1e6:.2f} ms, "
        f"pgmq.send p50 {floor.send_ns / 1e6:.2f} ms, pgmq.read p50 {floor.read_ns / 1e6:.2f} ms",
        f"  floor of one stage (2 wake-ups + 2 reads + 3 short transactions): "
        f"{floor.stage_ns / 1e6:.2f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--relaxed", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="spanbench-floor-"))
    try:
        info = postgres.ensure_started(home, relaxed=args.relaxed)
        migrate.migrate(info.database_url)
        print("\n".join(describe(measure_floor(info.database_url, args.samples))))
    finally:
        postgres.stop(home)
        postgres.remove(home)


if __name__ == "__main__":
    main()
