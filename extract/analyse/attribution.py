"""e2e_attribution (queries/e2e_workflows.sql) computed over Arrow arrays with numpy: the same
rule and the same steps, each a vectorised pass instead of a partitioned window or a join.

The SQL macro stays the rule's definition (and what the DuckDB CLI runs); this is the one pass
`e2e_analysis` takes at scale, where the macro's window over (workflow, depth) and its ASOF
join cost most of the analysis. Steps, as the macro numbers them:
1. DuckDB clips the complete workflows' spans to their roots and sorts them by (w, depth, start,
   span id); per (w, depth) a running maximum of the ends before each span cuts it to its piece.
2. Every piece adds 2^depth at its start and takes it away at its end; over all boundaries
   sorted by (w, b) the running sum is each workflow's mask of open depths, and an interval's
   winning depth is its mask's highest bit ('wait' when 0).
3. The winner is the piece of that depth that started last at or before the interval: a binary
   search among the pieces, laid out by (w, depth, start) on one int64 axis.
The axes hold each workflow's (or group's) time from its start, groups one after another; a run
whose summed spans would not fit in an int64 falls back to the macro.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from spanbench.vocabulary import WAIT_PHASE

CLIPPED_SQL = """
WITH roots AS (SELECT w, root_start, root_end FROM e2e_status($run_id) WHERE complete)
SELECT t.w, t.depth, t.name,
       greatest(t.start_ns, r.root_start) AS s, least(t.end_ns, r.root_end) AS e
FROM e2e_walk($run_id) t JOIN roots r USING (w)
WHERE t.depth > 0 AND greatest(t.start_ns, r.root_start) < least(t.end_ns, r.root_end)
ORDER BY t.w, t.depth, t.start_ns, t.SpanId
"""

ROOTS_SQL = ("SELECT w, root_start, root_end FROM e2e_status($run_id) WHERE complete "
             "ORDER BY w")

TOTALS_SQL = """
SELECT r.TraceId AS trace_id, r.Scenario AS scenario, p.phase,
       sum(c.ns)::BIGINT AS attributed_ns
FROM (SELECT w, code, sum(ns) AS ns FROM {cells} GROUP BY w, code) c
JOIN e2e_status($run_id) r USING (w) JOIN {phases} p USING (code)
GROUP BY r.TraceId, r.Scenario, p.phase
"""

_HEADROOM = 2 ** 62
"""Step 1 lays the (w, depth) groups end to end on one int64 axis; beyond this it falls back
to the SQL macro (summed group spans of about 146 years)."""


def attribute(con: duckdb.DuckDBPyConnection, run_id: str, table: str) -> None:
    """Temporary table `table` with e2e_attribution(run_id)'s rows (trace_id, scenario, phase,
    attributed_ns). Reads the macros e2e_walk and e2e_status of the connection."""
    clipped = con.sql(CLIPPED_SQL, params={"run_id": run_id}).to_arrow_table()
    roots = con.sql(ROOTS_SQL, params={"run_id": run_id}).to_arrow_table()
    found = _cells(clipped, roots)
    if found is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    "SELECT * FROM e2e_attribution($run_id)", {"run_id": run_id})
        return
    cells, phases = found
    names = {"cells": f"{table}_cells", "phases": f"{table}_phases"}
    con.register(names["cells"], cells)
    con.register(names["phases"], phases)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS " + TOTALS_SQL.format(**names),
                    {"run_id": run_id})
    finally:
        for name in names.values():
            con.unregister(name)


class _Axis:
    """Groups of sorted rows laid end to end on one int64 axis: a value v of group g sits at
    offset[g] + (v - base[g]), so one sort or binary search orders (group, value) pairs."""

    def __init__(self, group: np.ndarray, base: np.ndarray, widths: np.ndarray) -> None:
        self.group, self.base = group, base
        self.offset = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.fits = float(widths.sum(dtype=np.float64)) < _HEADROOM

    def at(self, group: np.ndarray, value: np.ndarray) -> np.ndarray:
        return self.offset[group] + (value - self.base[group])


def _depth_groups(w: np.ndarray, depth: np.ndarray, s: np.ndarray, e: np.ndarray
                  ) -> tuple[_Axis, np.ndarray]:
    """The (w, depth) groups of spans sorted by (w, depth, start, span id) on one axis (from a
    group's first clipped start to past its last end), and each group's key w * 64 + depth."""
    first = np.ones(len(w), bool)
    first[1:] = (w[1:] != w[:-1]) | (depth[1:] != depth[:-1])
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    base = s[starts]
    widths = np.maximum.reduceat(e - base[group], starts) + 1
    return _Axis(group, base, widths), w[starts] * 64 + depth[starts]


def _piece_starts(axis: _Axis, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Each span's piece start (step 1): its start, or the latest end of the spans of its group
    before it when that is later."""
    running = np.maximum.accumulate(axis.at(axis.group, e))
    before = np.empty(len(s), np.int64)
    before[0] = s[0]
    later = axis.group[1:]
    before[1:] = np.where(later == axis.group[:-1],
                          running[:-1] - axis.offset[later] + axis.base[later], s[1:])
    return np.maximum(s, before)


def _highest_bit(mask: np.ndarray) -> np.ndarray:
    """The highest set bit of each positive mask (log2 of a double can round up a power)."""
    guess = np.floor(np.log2(mask.astype(np.float64))).astype(np.int64)
    return guess - (np.left_shift(np.int64(1), guess) > mask)


def _cells(clipped: pa.Table, roots: pa.Table) -> tuple[pa.Table, pa.Table] | None:
    """(w, code, ns) per elementary interval of every complete workflow (steps 1-3), and the
    phase of each code (code, phase)."""
    w = clipped["w"].to_numpy().astype(np.int64)
    depth = clipped["depth"].to_numpy().astype(np.int64)
    s = clipped["s"].to_numpy()
    e = clipped["e"].to_numpy()
    root_w = roots["w"].to_numpy().astype(np.int64)
    root_start = roots["root_start"].to_numpy()
    root_end = roots["root_end"].to_numpy()
    workflows = _Axis(np.empty(0, np.int64), root_start, root_end - root_start + 1)
    if not workflows.fits:
        return None
    start = s
    groups, group_keys = _Axis(w, w, w), w
    if len(w):
        groups, group_keys = _depth_groups(w, depth, s, e)
        if not groups.fits:
            return None
        start = _piece_starts(groups, s, e)
    kept = np.flatnonzero(start < e)
    names = clipped["name"].combine_chunks().dictionary_encode()
    wait = len(names.dictionary)  # the macro's coalesce: a span without a name counts as wait
    codes = names.indices.fill_null(wait).to_numpy().astype(np.int64)[kept]
    phases = pa.concat_arrays([names.dictionary, pa.array([WAIT_PHASE], pa.string())])
    bit = np.left_shift(np.int64(1), depth[kept])
    root_index = np.searchsorted(root_w, w[kept])
    in_order = np.arange(len(root_w))
    event_root = np.concatenate([root_index, root_index, in_order, in_order])
    event_w = np.concatenate([w[kept], w[kept], root_w, root_w])
    event_b = np.concatenate([start[kept], e[kept], root_start, root_end])
    delta = np.concatenate([bit, -bit, np.zeros(2 * len(root_w), np.int64)])
    # stable: timsort, fast on the sorted runs the pieces already come in
    order = np.argsort(workflows.at(event_root, event_b), kind="stable")
    event_w, event_b, delta = event_w[order], event_b[order], delta[order]
    mask = np.cumsum(delta)
    # Of the rows sharing a boundary only the last gets the interval up to the next one.
    ns = np.zeros(len(order), np.int64)
    ns[:-1] = np.where(event_w[1:] == event_w[:-1], event_b[1:] - event_b[:-1], 0)
    at = np.flatnonzero(ns > 0)
    cell_w, cell_b, cell_mask = event_w[at], event_b[at], mask[at]
    phase = np.full(len(at), wait, np.int64)
    open_ = np.flatnonzero(cell_mask > 0)
    if len(open_):
        winner_depth = _highest_bit(cell_mask[open_])
        group = np.searchsorted(group_keys, cell_w[open_] * 64 + winner_depth)
        piece = np.searchsorted(groups.at(groups.group[kept], start[kept]),
                                groups.at(group, cell_b[open_]), side="right") - 1
        phase[open_] = codes[piece]
    return (pa.table({"w": cell_w, "code": phase.astype(np.int32), "ns": ns[at]}),
            pa.table({"code": np.arange(len(phases), dtype=np.int32), "phase": phases}))
