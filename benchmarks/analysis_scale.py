"""Full analysis of 1M and 10M spans in DuckDB, against the same statistics in pandas.

Needs numpy and pandas (and polars for the second peer), which the project does not depend
on: run it from a throwaway venv that also sees the project's packages, from the repository
root:

    python3 -m venv /tmp/pandas-venv
    echo "$PWD/.venv/lib/python3.11/site-packages" \
        > /tmp/pandas-venv/lib/python3.11/site-packages/spanbench.pth
    /tmp/pandas-venv/bin/pip install pandas polars
    /tmp/pandas-venv/bin/python -m benchmarks.analysis_scale [--spans 1000000 10000000]

Without polars the polars column is left out. Each repeat runs DuckDB, pandas and polars in
turn on the same files; the figures are medians of the repeats' wall times.

The data: e2e_latency workflow traces of the five templates (root, api.create_task, POST
/v1/tasks, task.initialize → discovery, publish; per step claim, execute, submit under its
publish, result.process under the submit → discovery, publish, task.finalize; half of them
untraced, ~2% warm-up, per-workflow speed and per-span noise), plus 20% flat worker_execution
spans, written as Parquet parts of the store's layout, vectorised with numpy and pyarrow.
DuckDB (the run's spans read into a temporary table once, open_runs in_memory, as the
reports do): phase_summary, phase_stats, worker_phases, e2e_breakdown, e2e_workflow_breakdown,
e2e_completeness and e2e_lifecycle through open_runs. pandas: per-phase count, mean, p50, p95,
p99; per-handler worker phases; and the same breakdown (depth by repeated merges, elementary
intervals, deepest-open winner) with completeness — map lookups done by pyarrow first.
polars (benchmarks/analysis_polars.py): the same statistics as pandas, lazy and multi-threaded.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import queries
from extract.analyse.breakdown import e2e_analysis
from extract.analyse.duckdb_runner import open_runs
from spanbench.vocabulary import Attr, Suite

LEVELS: dict[str, list[int]] = {"linear_3": [1, 1, 1], "linear_4": [1, 1, 1, 1],
                                "diamond_4": [1, 2, 1], "tree_7": [1, 2, 4],
                                "complex_dag_7": [1, 2, 3, 1]}
RUN = "scale"
T0 = 1_700_000_000_000_000_000
PART_ROWS = 8192
"""Spans per part file as the sink writes them: its converter turns 4 MiB of OTLP requests into
a part (extract/receive/converter.py CHUNK_BYTES), and a span of a real run rebuilt as OTLP protobuf
takes 500-650 bytes, so a part holds about 6-8 thousand spans."""
PER_STEP = {"claim": 1, "execute": 1, "submit": 1, "result.process": 1}
FIXED = {"api.create_task": 1, "task.initialize": 1, "task.finalize": 1}


def _template(levels: list[int]) -> list[tuple[str, int, float, float, int]]:
    """(name, parent index, start µs, end µs, step number or -1) of one traced workflow."""
    spans: list[tuple[str, int, float, float, int]] = []

    def add(name: str, parent: int, start: float, end: float, step: int = -1) -> int:
        spans.append((name, parent, start, end, step))
        return len(spans) - 1

    root = add("e2e.workflow", -1, 0, 0)
    create = add("api.create_task", root, 5, 0)
    post = add("POST /v1/tasks", create, 60, 0)
    init = add("task.initialize", post, 80, 0)
    add("discovery", init, 900, 1300)
    publishers = [add("publish", init, 1300 + 150 * j, 1450 + 150 * j, j)
                  for j in range(levels[0])]
    t = 1450 + 150 * levels[0]
    spans[init] = ("task.initialize", post, 80, t + 200, -1)
    spans[post] = ("POST /v1/tasks", create, 60, t + 400, -1)
    spans[create] = ("api.create_task", root, 5, t + 700, -1)
    step = 0
    for number, width in enumerate(levels):
        last_rp, ends = -1, 0.0
        for j in range(width):
            s = spans[publishers[j]][3] + 1500 + 400 * j
            add("claim", publishers[j], s, s + 1800, step)
            add("execute", publishers[j], s + 1800, s + 2600, step)
            add("submit", publishers[j], s + 2600, s + 4200, step)
            rp = add("result.process", len(spans) - 1, s + 5200, s + 9000, step)
            add("discovery", rp, s + 5400, s + 5900, step)
            if s + 9000 >= ends:
                last_rp, ends = rp, s + 9000
            step += 1
        start = spans[last_rp][2] + 800
        if number + 1 < len(levels):
            publishers = [add("publish", last_rp, start + 150 * j, start + 150 * (j + 1), step + j)
                          for j in range(levels[number + 1])]
        else:
            add("task.finalize", last_rp, start, start + 2500)
            ends = start + 2500
    spans[root] = ("e2e.workflow", -1, 0, ends + 3000, -1)
    return spans


def synthesize(spans: int, out: Path, rng: np.random.Generator) -> int:
    """Write about `spans` spans as run RUN's parts under `out`; returns how many were written."""
    e2e_budget = int(spans * 0.8)
    per_template = {name: len(_template(levels)) for name, levels in LEVELS.items()}
    mean_per_workflow = (np.mean(list(per_template.values())) + 2) / 2
    workflows_per_scenario = int(e2e_budget / mean_per_workflow / len(LEVELS))
    parts: list[pa.Table] = []
    workflow_base = 0
    for name, levels in LEVELS.items():
        parts += _scenario_tables(name, _template(levels), workflows_per_scenario,
                                  workflow_base, rng)
        workflow_base += workflows_per_scenario
    written = sum(t.num_rows for t in parts)
    parts.append(_flat_table(spans - written, rng))
    folder = out / RUN / "spans"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.concat_tables(parts, promote_options="default")
    rows_per_part = PART_ROWS
    for index, offset in enumerate(range(0, table.num_rows, rows_per_part)):
        pq.write_table(table.slice(offset, rows_per_part), folder / f"part-{index:04d}.parquet",
                       compression="zstd")
    return table.num_rows


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def _scenario_tables(scenario: str, template: list[tuple[str, int, float, float, int]],
                     count: int, base: int, rng: np.random.Generator) -> list[pa.Table]:
    names = np.array([t[0] for t in template], dtype=object)
    parents = np.array([t[1] for t in template])
    rel_start = np.array([t[2] for t in template])
    rel_end = np.array([t[3] for t in template])
    steps = np.array([t[4] for t in template])
    wf = np.arange(count)
    traced = wf % 2 == 0
    tables = []
    for is_traced in (True, False):
        chosen = wf[traced == is_traced]
        keep = np.arange(len(template)) if is_traced else np.array([0, 1])
        n_w, n_s = len(chosen), len(keep)
        speed = rng.lognormal(0.0, 0.25, n_w)
        starts_w = T0 + (base + chosen) * 100_000_000
        start = starts_w[:, None] + (rel_start[keep][None, :] * 1000 * speed[:, None])
        noise = rng.lognormal(0.0, 0.2, (n_w, n_s))
        noise[:, 0] = 1.0
        duration = (rel_end[keep] - rel_start[keep])[None, :] * 1000 * speed[:, None] * noise
        trace_no = np.repeat(base + chosen, n_s)
        span_no = trace_no * 1000 + np.tile(keep, n_w)
        parent_no = np.where(np.tile(parents[keep], n_w) >= 0,
                             trace_no * 1000 + np.tile(parents[keep], n_w), -1)
        name = np.tile(names[keep], n_w)
        step = np.tile(steps[keep], n_w)
        warmup = np.repeat(rng.random(n_w) < 0.02, n_s)
        trace_id = _ids("t", trace_no)
        step_id = pc.binary_join_element_wise(trace_id, _ids(":", step), "")
        name_arr = pa.array(name, pa.string())
        attributes = _attributes(name, trace_id, step_id, is_traced)
        tables.append(pa.table({
            "Timestamp": pa.array(start.ravel().astype(np.int64), pa.int64()).cast(
                pa.timestamp("ns", tz="UTC")),
            "EndTimestamp": pa.array(start.ravel().astype(np.int64)
                                     + duration.ravel().astype(np.int64)).cast(
                pa.timestamp("ns", tz="UTC")),
            "Duration": pa.array(duration.ravel().astype(np.int64)),
            "TraceId": trace_id,
            "SpanId": _ids("s", span_no),
            "ParentSpanId": pc.if_else(pa.array(parent_no >= 0), _ids("s", parent_no), ""),
            "SpanName": name_arr,
            "ServiceName": pa.array(np.where(np.isin(name, ["e2e.workflow", "api.create_task"]),
                                             "spanbench", "tasker"), pa.string()),
            "StatusCode": pa.array(np.full(len(name), "Unset"), pa.string()),
            "SpanAttributes": attributes,
            "RunId": pa.array(np.full(len(name), RUN), pa.string()),
            "Suite": pa.array(np.full(len(name), Suite.E2E_LATENCY), pa.string()),
            "Scenario": pa.array(np.full(len(name), scenario), pa.string()),
            "Phase": pc.if_else(pc.equal(name_arr, "POST /v1/tasks"), None, name_arr),
            "Iteration": pa.array(trace_no),
            "Warmup": pa.array(warmup),
        }))
    return tables


def _attributes(name: np.ndarray, trace_id: pa.Array, step_id: pa.Array,
                traced: bool) -> pa.MapArray:
    """SpanAttributes as the stack sets them (the keys the queries read, and a few more)."""
    n = len(name)
    columns: list[tuple[str, np.ndarray, pa.Array]] = []

    def put(key: str, where: np.ndarray, values: pa.Array | str) -> None:
        value = (pa.repeat(pa.scalar(values, pa.string()), n) if isinstance(values, str)
                 else values)
        if isinstance(value, pa.ChunkedArray):  # large inputs come back chunked
            value = value.combine_chunks()
        columns.append((key, where, value))

    worker = np.isin(name, ["claim", "execute", "submit"])
    put(Attr.STACK_TRACED, name == "e2e.workflow", "true" if traced else "false")
    put(Attr.CORRELATION_ID, np.ones(n, bool), trace_id)
    put(Attr.STEP_UUID, worker | (name == "publish") | (name == "result.process"), step_id)
    put(Attr.MESSAGING_MESSAGE_ID, worker, step_id)
    put(Attr.WORKER_ID, worker, "worker-1")
    put(Attr.HANDLER, np.isin(name, ["execute", "submit"]), "square")
    put(Attr.MESSAGING_OPERATION_TYPE, np.isin(name, ["publish", "submit"]), "send")
    put(Attr.DB_SYSTEM, name == "discovery", "postgresql")
    rows = np.concatenate([np.nonzero(where)[0] for _, where, _ in columns])
    keys = pa.concat_arrays([pa.repeat(pa.scalar(key, pa.string()), int(where.sum()))
                             for key, where, _ in columns])
    items = pa.concat_arrays([value.filter(pa.array(where)) for _, where, value in columns])
    order = np.argsort(rows, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int32)
    return pa.MapArray.from_arrays(pa.array(offsets), keys.take(pa.array(order)),
                                   items.take(pa.array(order)))


def _flat_table(count: int, rng: np.random.Generator) -> pa.Table:
    """worker_execution spans: claim, execute, submit per iteration, no parents of interest."""
    name = np.resize(np.array(["claim", "execute", "submit"], dtype=object), count)
    handler = rng.choice(np.array(["noop", "calculation", "database"], dtype=object), count)
    stamps = T0 + np.arange(count, dtype=np.int64) * 50_000
    durations = rng.lognormal(14.0, 0.5, count).astype(np.int64)
    no_attributes = pa.MapArray.from_arrays(pa.array(np.zeros(count + 1, np.int32)),
                                            pa.array([], pa.string()), pa.array([], pa.string()))
    return pa.table({
        "Timestamp": pa.array(stamps).cast(pa.timestamp("ns", tz="UTC")),
        "EndTimestamp": pa.array(stamps + durations).cast(pa.timestamp("ns", tz="UTC")),
        "Duration": pa.array(durations),
        "TraceId": _ids("x", np.arange(count) // 3),
        "SpanId": _ids("f", np.arange(count)),
        "ParentSpanId": pa.array(np.full(count, ""), pa.string()),
        "SpanName": pa.array(name, pa.string()),
        "ServiceName": pa.array(np.full(count, "spanbench"), pa.string()),
        "StatusCode": pa.array(np.where(rng.random(count) < 0.001, "Error", "Unset"), pa.string()),
        "SpanAttributes": no_attributes,
        "RunId": pa.array(np.full(count, RUN), pa.string()),
        "Suite": pa.array(np.full(count, Suite.WORKER_EXECUTION), pa.string()),
        "Scenario": pa.array(handler, pa.string()),
        "Phase": pa.array(name, pa.string()),
        "Iteration": pa.array(np.arange(count) // 3),
        "Warmup": pa.array(np.zeros(count, bool)),
    })


def duckdb_analysis(runs_dir: Path) -> dict[str, int]:
    """Every analysis query over the run, from the Parquet files (read into memory once, as a
    report reads them); returns row counts."""
    con = open_runs(runs_dir, [RUN], connection=duckdb.connect(), in_memory=True)
    loaded = queries.load()
    counts = {name: len(con.execute(loaded[name].sql, {"run_id": RUN}).fetchall())
              for name in ("phase_summary", "phase_stats") if name in loaded}
    worker_phases = {"run_id": RUN, "suite": Suite.E2E_LATENCY}
    counts["worker_phases"] = len(con.execute(loaded["worker_phases"].sql,
                                              worker_phases).fetchall())
    e2e = e2e_analysis(con, RUN, with_workflows=True)
    counts["e2e_breakdown"] = len(e2e.breakdown)
    counts["e2e_workflow_breakdown"] = 0 if e2e.workflows is None else len(e2e.workflows)
    counts["e2e_completeness"] = sum(row.complete for row in e2e.completeness)
    counts["e2e_lifecycle"] = len(e2e.lifecycle)
    return counts


def pandas_analysis(runs_dir: Path) -> dict[str, int]:
    """The same statistics with pandas (pyarrow only reads the files and looks up map keys)."""
    table = pq.read_table(runs_dir / RUN / "spans", columns=[
        "Timestamp", "Duration", "TraceId", "SpanId", "ParentSpanId", "SpanName", "StatusCode",
        "SpanAttributes", "RunId", "Suite", "Scenario", "Phase", "Warmup"])
    attributes = table["SpanAttributes"]
    for key in (Attr.STACK_TRACED, Attr.WORKER_ID, Attr.STEP_UUID, Attr.MESSAGING_MESSAGE_ID,
                Attr.HANDLER, Attr.MESSAGING_OPERATION_TYPE):
        table = table.append_column(key, pc.map_lookup(attributes, key, "first"))
    df = table.drop(["SpanAttributes"]).to_pandas()
    df = df[(df["RunId"] == RUN) & ~df["Warmup"].fillna(False)]
    counts: dict[str, int] = {}
    ok = df[(df["StatusCode"] != "Error") & df["Phase"].notna()]
    grouped = ok.groupby(["Suite", "Scenario", "Phase"])["Duration"]
    summary = grouped.agg(["count", "mean", "std", "min", "max"])
    quantiles = grouped.quantile([0.5, 0.95, 0.99]).unstack()
    counts["phase_stats"] = len(summary.join(quantiles))
    worker = ok[(ok["Suite"] == Suite.E2E_LATENCY)
                & ok["SpanName"].isin(["claim", "execute", "submit"])
                & ok[Attr.WORKER_ID].notna()]
    cycle_handler = worker.groupby([Attr.STEP_UUID, Attr.MESSAGING_MESSAGE_ID])[Attr.HANDLER].max()
    worker = worker.join(cycle_handler.rename("cycle_handler"),
                         on=[Attr.STEP_UUID, Attr.MESSAGING_MESSAGE_ID])
    counts["worker_phases"] = len(worker.groupby(["cycle_handler", "SpanName"])["Duration"]
                                  .agg(["count", "mean", "median",
                                        lambda s: s.quantile(0.95)]))
    by_phase, complete = _pandas_breakdown(df)
    counts["e2e_workflow_breakdown"] = len(by_phase)
    counts["e2e_completeness"] = complete
    return counts


def _pandas_breakdown(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    roots = df[(df["SpanName"] == "e2e.workflow") & (df[Attr.STACK_TRACED] == "true")]
    start = df["Timestamp"].astype("int64")
    spans = pd.DataFrame({"TraceId": df["TraceId"], "SpanId": df["SpanId"],
                          "ParentSpanId": df["ParentSpanId"], "name": df["SpanName"],
                          "start": start, "end": start + df["Duration"]})
    spans = spans[spans["TraceId"].isin(roots["TraceId"])]
    frontier = spans[spans["SpanId"].isin(roots["SpanId"])
                     & (spans["name"] == "e2e.workflow")].assign(depth=0)
    reached = [frontier]
    children = spans[spans["name"] != "e2e.workflow"]
    while len(frontier):
        frontier = children.merge(frontier[["TraceId", "SpanId", "depth"]].rename(
            columns={"SpanId": "ParentSpanId"}), on=["TraceId", "ParentSpanId"])
        frontier["depth"] += 1
        reached.append(frontier)
    tree = pd.concat(reached, ignore_index=True)
    root_bounds = tree[tree["depth"] == 0].set_index("TraceId")[["start", "end"]]
    scenario = roots.set_index("TraceId")["Scenario"]
    counts = tree.groupby(["TraceId", "name"]).size().unstack(fill_value=0)
    steps = scenario.map({name: sum(levels) for name, levels in LEVELS.items()})
    ok = pd.Series(True, index=counts.index)
    for phase, n in {**FIXED, **PER_STEP}.items():
        need = n * (steps.reindex(counts.index) if phase in PER_STEP else 1)
        have = counts.get(phase, 0)
        ok &= have >= need
    tree = tree[tree["TraceId"].isin(ok[ok].index)]
    bounds_of = root_bounds.reindex(tree["TraceId"]).to_numpy()
    tree = tree.assign(s=np.maximum(tree["start"], bounds_of[:, 0]),
                       e=np.minimum(tree["end"], bounds_of[:, 1]))
    clipped = tree[(tree["depth"] > 0) & (tree["s"] < tree["e"])]
    kept_roots = tree[tree["depth"] == 0]
    bounds = pd.concat([clipped[["TraceId", "s"]].rename(columns={"s": "b"}),
                        clipped[["TraceId", "e"]].rename(columns={"e": "b"}),
                        kept_roots[["TraceId", "s"]].rename(columns={"s": "b"}),
                        kept_roots[["TraceId", "e"]].rename(columns={"e": "b"})])
    bounds = bounds.drop_duplicates().sort_values(["TraceId", "b"], ignore_index=True)
    bounds["i"] = bounds.groupby("TraceId").cumcount()
    bounds["length"] = bounds.groupby("TraceId")["b"].shift(-1) - bounds["b"]
    first = clipped.merge(bounds[["TraceId", "b", "i"]], left_on=["TraceId", "s"],
                          right_on=["TraceId", "b"])
    first = first.merge(bounds[["TraceId", "b", "i"]].rename(columns={"i": "past"}),
                        left_on=["TraceId", "e"], right_on=["TraceId", "b"])
    repeat = (first["past"] - first["i"]).to_numpy()
    rows = np.repeat(np.arange(len(first)), repeat)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    covering = first.iloc[rows][["TraceId", "name", "depth", "start", "SpanId"]].assign(
        i=first["i"].to_numpy()[rows] + offset)
    covering = covering.sort_values(["TraceId", "i", "depth", "start", "SpanId"],
                                    ascending=[True, True, False, True, True])
    winners = covering.drop_duplicates(["TraceId", "i"])[["TraceId", "i", "name"]]
    cells = bounds.dropna(subset=["length"]).merge(winners, on=["TraceId", "i"], how="left")
    cells["name"] = cells["name"].fillna("wait")
    by_phase = cells.groupby(["TraceId", "name"])["length"].sum().reset_index()
    return by_phase, int(ok.sum())


def polars_peer() -> Callable[[Path], dict[str, int]] | None:
    """The polars peer, or None when polars is not installed."""
    try:
        from benchmarks.analysis_polars import polars_analysis
    except ImportError:
        return None
    steps = {name: sum(levels) for name, levels in LEVELS.items()}
    return lambda runs: polars_analysis(runs, RUN, steps, tuple(FIXED), tuple(PER_STEP))


def _interleaved(peers: dict[str, Callable[[Path], Any]], runs: Path, repeats: int
                 ) -> dict[str, tuple[float, float, Any]]:
    """Each peer's median wall time and median CPU time (all of the process's threads) over
    `repeats` rounds, each round running every peer in turn, and its last result. On a shared
    machine the CPU time is the steadier figure: other work stretches the wall time."""
    walls: dict[str, list[float]] = {name: [] for name in peers}
    cpus: dict[str, list[float]] = {name: [] for name in peers}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, run in peers.items():
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = run(runs)
            cpus[name].append(time.process_time() - cpu)
            walls[name].append(time.perf_counter() - wall)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]), results[name])
            for name in peers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--dir", type=Path, default=None, help="where to write the Parquet")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    peers: dict[str, Callable[[Path], Any]] = {"DuckDB": duckdb_analysis,
                                               "pandas": pandas_analysis}
    polars = polars_peer()
    if polars is not None:
        import polars as pl
        peers["polars"] = polars
    print(f"duckdb {duckdb.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"pyarrow {pa.__version__}"
          + (f", polars {pl.__version__}" if polars is not None else ", no polars"))
    for n in args.spans:
        with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
            runs = Path(scratch)
            began = time.perf_counter()
            written = synthesize(n, runs, rng)
            made = time.perf_counter() - began
            repeats = args.repeats if n <= 2_000_000 else 1
            measured = _interleaved(peers, runs, repeats)
            duck_wall, duck_cpu, _ = measured["DuckDB"]
            print(f"{written:>11,} spans (synthesized in {made:.1f} s), median of {repeats}, "
                  "interleaved; wall s, CPU s, each peer's as a multiple of DuckDB's:")
            for name, (wall, cpu, rows) in measured.items():
                print(f"    {name:<7} wall {wall:6.2f} ({wall / duck_wall:4.1f}x)  "
                      f"CPU {cpu:6.2f} ({cpu / duck_cpu:4.1f}x)  rows {rows}")


if __name__ == "__main__":
    main()
