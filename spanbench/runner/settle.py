"""After the drivers flush, spans of an external sink are still on their way: wait for quiet.

With an external OTLP endpoint (a Collector, a `spanbench collect` elsewhere) the run cannot ask
the sink whether it is done: stack services hold spans in their batch processors (5 s by
default), the Collector batches, the sink seals a segment after a second and then converts and
uploads it. So the run polls its span count until it has not changed for a quiet period.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

from extract.analyse.duckdb_runner import NoSpansError, open_runs
from extract.store.runstore import RunStore
from spanbench import settings


def _catalogued_quiet_s() -> float:
    default = settings.variable(settings.SETTLE_S).default
    if not isinstance(default, int | float):
        raise TypeError(f"{settings.SETTLE_S} must be declared with a number of seconds")
    return float(default)


DEFAULT_QUIET_S = _catalogued_quiet_s()
"""SPANBENCH_SETTLE_S's default in spanbench/settings.py: longer than the stack's batch delay
(5 s) plus the Collector's batch and the sink's segment."""
DEFAULT_TIMEOUT_S = 120.0
POLL_S = 1.0


def span_count(runs: RunStore, run_id: str) -> int:
    """Spans of the run in the store now (0 before its first part lands)."""
    try:
        connection = open_runs(runs, [run_id])
    except NoSpansError:
        return 0
    try:
        row = connection.execute("SELECT count(*) FROM spans").fetchone()
    except duckdb.Error:
        return 0  # a part being replaced between listing and reading: try again next poll
    finally:
        connection.close()
    return int(row[0]) if row else 0


def wait_until_quiet(count: Callable[[], int], quiet_s: float = DEFAULT_QUIET_S,
                     timeout_s: float = DEFAULT_TIMEOUT_S, poll_s: float = POLL_S,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> tuple[int, bool]:
    """Poll `count` until it stayed the same for `quiet_s`; (last count, whether it settled)."""
    start = clock()
    last = count()
    changed_at = start
    while True:
        now = clock()
        if now - changed_at >= quiet_s:
            return last, True
        if now - start >= timeout_s:
            return last, False
        sleep(poll_s)
        current = count()
        if current != last:
            last, changed_at = current, clock()
