"""Load for e2e_latency: many workflows in flight, closed loop or open loop.

Closed loop (`--concurrency N`): N slots, each running one workflow and starting the next the
moment it finishes, so exactly N are in flight until the last ones drain. Latency is measured
from each workflow's own start; a slow stack slows the arrivals down with it (coordinated
omission is built into a closed loop, which is why the open loop exists).

Open loop (`--rate R`): workflows are due at fixed times decided before the run, R per second
on average: Poisson arrivals (exponential gaps, the default) or a fixed interval of 1/R. A
dispatcher starts each at its intended time, at most `max_in_flight` at once; when every slot
is busy the workflow waits for one. Its latency is measured from the *intended* start, so time
spent queueing behind a slow stack is counted, not hidden. A start more than
`LATE_START_NS` after its intended time is a late start; every workflow's lag is kept raw on its
span (`bench.start_lag_ns`).

The schedulers know nothing of workflows: they call `run_one(job, start)` from their own
threads; `run_one` must not raise (the driver wraps each workflow in its guard).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from instrument.recorder import AttrValue, PhaseRecorder
from spanbench.vocabulary import LOAD_LEVEL_SEPARATOR, Attr

ARRIVALS = ("poisson", "fixed")
LATE_START_NS = 1_000_000
"""A start this many ns after its intended time or more is counted late (1 ms)."""
DEFAULT_MAX_IN_FLIGHT = 64
"""Open loop: workflows in flight at most, unless --concurrency says otherwise."""
SAMPLES_PER_SLOT = 10
"""Closed loop default: each of the N slots measures this many workflows."""
OPEN_LOOP_SECONDS = 10.0
"""Open loop default: this many seconds of arrivals are measured..."""
OPEN_LOOP_WARMUP_SECONDS = 1.0
"""...after this many seconds of warm-up arrivals."""
_JOIN_POLL_S = 0.2

Job = TypeVar("Job")


@dataclass(frozen=True)
class Start:
    """When a workflow was due and when it started, both `time.perf_counter_ns()`."""

    intended_ns: int
    actual_ns: int

    @property
    def lag_ns(self) -> int:
        return self.actual_ns - self.intended_ns

    @property
    def late(self) -> bool:
        return self.lag_ns >= LATE_START_NS


@dataclass(frozen=True)
class LoadProfile:
    """How e2e_latency loads the stack. The default is the seed's: one workflow at a time."""

    concurrency: int | None = None
    """Closed loop: workflows in flight. Open loop: the most in flight (default 64)."""
    rate_per_s: float | None = None
    """Open loop when set: workflows started per second."""
    arrival: str = "poisson"
    seed: int | None = None
    """Seed of the Poisson arrivals (None: a fresh one)."""

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.rate_per_s is not None and not (math.isfinite(self.rate_per_s)
                                                and self.rate_per_s > 0):
            raise ValueError(f"rate must be a positive number of workflows/s, not "
                             f"{self.rate_per_s}")
        if self.arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}, not "
                             f"{self.arrival!r}")

    @property
    def open_loop(self) -> bool:
        return self.rate_per_s is not None

    @property
    def active(self) -> bool:
        """False for the seed's one-at-a-time run (concurrency 1, no rate)."""
        return self.open_loop or (self.concurrency or 1) > 1

    @property
    def in_flight(self) -> int:
        """Workflows in flight: exactly this many (closed loop) or at most (open loop)."""
        if self.open_loop:
            return self.concurrency or DEFAULT_MAX_IN_FLIGHT
        return self.concurrency or 1

    @property
    def level(self) -> str | None:
        """`c8` (closed loop, 8 in flight), `r20` (open loop, 20/s); None when not active."""
        if self.rate_per_s is not None:
            return f"r{self.rate_per_s:g}"
        return f"c{self.in_flight}" if self.active else None

    def scenario(self, name: str) -> str:
        """The scenario name a level's statistics go under: `linear_4@c8`."""
        return name if self.level is None else f"{name}{LOAD_LEVEL_SEPARATOR}{self.level}"

    def baggage(self) -> dict[str, AttrValue]:
        """The bench.* entries every span of a loaded workflow carries (the stack's too)."""
        if self.rate_per_s is not None:
            return {Attr.ARRIVAL_RATE: float(self.rate_per_s)}
        return {Attr.CONCURRENCY: self.in_flight} if self.active else {}

    def default_counts(self, samples: int, warmup: int) -> tuple[int, int]:
        """(samples, warm-up) per scenario when the user set neither: enough for the level."""
        if self.rate_per_s is not None:
            return (max(samples, math.ceil(self.rate_per_s * OPEN_LOOP_SECONDS)),
                    max(warmup, math.ceil(self.rate_per_s * OPEN_LOOP_WARMUP_SECONDS)))
        if self.active:
            return (max(samples, SAMPLES_PER_SLOT * self.in_flight),
                    max(warmup, self.in_flight))
        return samples, warmup

    def describe(self) -> dict[str, object]:
        """For run.json."""
        return {"mode": "open" if self.open_loop else "closed", "level": self.level,
                "concurrency": None if self.open_loop else self.in_flight,
                "max_in_flight": self.in_flight, "rate_per_s": self.rate_per_s,
                "arrival": self.arrival if self.open_loop else None,
                "seed": self.seed if self.open_loop else None, "late_start_ns": LATE_START_NS}


def arrival_offsets_ns(count: int, rate_per_s: float, arrival: str,
                       rng: random.Random | None = None) -> list[int]:
    """Intended starts of `count` workflows, in ns after the first (which is at 0)."""
    if arrival == "fixed":
        return [round(index * 1e9 / rate_per_s) for index in range(count)]
    if arrival != "poisson":
        raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}, not {arrival!r}")
    rng = rng or random.Random()
    offsets, at = [], 0.0
    for index in range(count):
        if index:
            at += rng.expovariate(rate_per_s) * 1e9
        offsets.append(round(at))
    return offsets


_DONE = object()


class _Threads:
    """Worker threads whose first unexpected error (a bug: run_one must not raise) stops the
    rest and is raised in the caller; Ctrl-C in the caller stops dispatching too."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._error: BaseException | None = None

    def guarded(self, body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except BaseException as error:
                if self._error is None:
                    self._error = error
                self.stopping.set()
        return run

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    @contextmanager
    def stop_on_interrupt(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.stopping.set()
            raise


def closed_loop(jobs: Sequence[Job], concurrency: int,
                run_one: Callable[[Job, Start], None],
                clock: Callable[[], int] = time.perf_counter_ns) -> None:
    """Run `jobs` in order on `concurrency` slots, each starting its next job as soon as its
    last one finished; returns when all are done."""
    pending = iter(jobs)
    taking = threading.Lock()
    threads = _Threads()

    def slot() -> None:
        while not threads.stopping.is_set():
            with taking:
                job = next(pending, _DONE)
            if job is _DONE:
                return
            now = clock()
            run_one(job, Start(now, now))  # type: ignore[arg-type]

    workers = [threading.Thread(target=threads.guarded(slot), name=f"spanbench-load-{index}",
                                daemon=True) for index in range(min(concurrency, len(jobs)))]
    with threads.stop_on_interrupt():
        for worker in workers:
            worker.start()
        for worker in workers:
            while worker.is_alive():
                worker.join(_JOIN_POLL_S)
    threads.raise_error()


def open_loop(jobs: Sequence[Job], offsets_ns: Sequence[int], max_in_flight: int,
              run_one: Callable[[Job, Start], None],
              clock: Callable[[], int] = time.perf_counter_ns,
              sleep: Callable[[float], None] = time.sleep) -> None:
    """Start job i at `offsets_ns[i]` after the first, at most `max_in_flight` at once; a job
    due while every slot is busy starts when one frees (late). Returns when all are done."""
    if len(offsets_ns) != len(jobs):
        raise ValueError(f"{len(jobs)} jobs but {len(offsets_ns)} intended starts")
    slots = threading.BoundedSemaphore(max_in_flight)
    threads = _Threads()

    def started(job: Job, start: Start) -> None:
        try:
            run_one(job, start)
        finally:
            slots.release()

    with ThreadPoolExecutor(max_in_flight, thread_name_prefix="spanbench-load") as pool, \
            threads.stop_on_interrupt():
        first_ns = clock()
        for job, offset in zip(jobs, offsets_ns, strict=True):
            while not slots.acquire(timeout=_JOIN_POLL_S):
                if threads.stopping.is_set():
                    break
            if threads.stopping.is_set():
                break
            intended_ns = first_ns + offset
            wait_ns = intended_ns - clock()
            if wait_ns > 0:
                sleep(wait_ns / 1e9)
            start = Start(intended_ns, clock())  # dispatched: a free slot is waiting
            pool.submit(threads.guarded(lambda j=job, at=start: started(j, at)))
    threads.raise_error()


class SharedRecorder:
    """One PhaseRecorder fed by many threads.

    A workflow's root phase gets its end (the NOTIFY receipt) after its `with` block has
    queued it; a flush in another thread in between would export it unfinished. So a root
    is finished inside `finishing()`, and `flush()` takes the same lock.
    """

    def __init__(self, recorder: PhaseRecorder) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()

    def finishing(self) -> threading.Lock:
        return self._lock

    def flush(self) -> None:
        with self._lock:
            self._recorder.flush()
