"""The statistics of benchmarks/analysis_scale.py's pandas peer, in polars (lazy, multi-threaded).

Same inputs (pyarrow reads the parts and looks up the map keys), same statistics: per-phase
count, mean, std, min, max, p50, p95, p99; per-handler worker phases; the e2e breakdown (depth
by repeated joins, elementary intervals, deepest-open winner) with completeness. Run from the
throwaway venv analysis_scale's docstring describes, with polars installed beside pandas.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spanbench.vocabulary import Attr, Suite

KEYS = (Attr.STACK_TRACED, Attr.WORKER_ID, Attr.STEP_UUID, Attr.MESSAGING_MESSAGE_ID,
        Attr.HANDLER, Attr.MESSAGING_OPERATION_TYPE)


def polars_analysis(runs_dir: Path, run: str, steps: dict[str, int],
                    fixed: tuple[str, ...], per_step: tuple[str, ...]) -> dict[str, int]:
    """Row counts of each statistic, as analysis_scale.pandas_analysis returns them."""
    table = pq.read_table(runs_dir / run / "spans", columns=[
        "Timestamp", "Duration", "TraceId", "SpanId", "ParentSpanId", "SpanName", "StatusCode",
        "SpanAttributes", "RunId", "Suite", "Scenario", "Phase", "Warmup"])
    attributes = table["SpanAttributes"]
    for key in KEYS:
        table = table.append_column(key, pc.map_lookup(attributes, key, "first"))
    spans = pl.from_arrow(table.drop(["SpanAttributes"]))
    assert isinstance(spans, pl.DataFrame)
    df = spans.lazy().filter((pl.col("RunId") == run) & ~pl.col("Warmup").fill_null(False))
    counts: dict[str, int] = {}
    ok = df.filter((pl.col("StatusCode") != "Error") & pl.col("Phase").is_not_null())
    duration = pl.col("Duration")
    counts["phase_stats"] = ok.group_by("Suite", "Scenario", "Phase").agg(
        duration.count().alias("n"), duration.mean().alias("mean"),
        duration.std().alias("std"), duration.min().alias("min"), duration.max().alias("max"),
        *[duration.quantile(q, "linear").alias(f"p{q}") for q in (0.5, 0.95, 0.99)],
    ).collect().height
    worker = ok.filter((pl.col("Suite") == Suite.E2E_LATENCY)
                       & pl.col("SpanName").is_in(["claim", "execute", "submit"])
                       & pl.col(Attr.WORKER_ID).is_not_null())
    cycle = [Attr.STEP_UUID, Attr.MESSAGING_MESSAGE_ID]
    handlers = worker.group_by(cycle).agg(pl.col(Attr.HANDLER).max().alias("cycle_handler"))
    counts["worker_phases"] = (
        worker.join(handlers, on=cycle).filter(pl.col("cycle_handler").is_not_null())
        .group_by("cycle_handler", "SpanName")
        .agg(duration.count(), duration.mean().alias("mean"), duration.median().alias("p50"),
             duration.quantile(0.95, "linear").alias("p95"))
        .collect().height)
    by_phase, complete = _breakdown(df, steps, fixed, per_step)
    counts["e2e_workflow_breakdown"] = by_phase.height
    counts["e2e_completeness"] = complete
    return counts


def _breakdown(df: pl.LazyFrame, steps: dict[str, int], fixed: tuple[str, ...],
               per_step: tuple[str, ...]) -> tuple[pl.DataFrame, int]:
    roots = df.filter((pl.col("SpanName") == "e2e.workflow")
                      & (pl.col(Attr.STACK_TRACED) == "true")).select(
        "TraceId", "SpanId", "Scenario").collect()
    start = pl.col("Timestamp").dt.epoch("ns")
    spans = df.filter(pl.col("TraceId").is_in(roots["TraceId"].implode())).select(
        "TraceId", "SpanId", "ParentSpanId", pl.col("SpanName").alias("name"),
        start.alias("start"), (start + pl.col("Duration")).alias("end")).collect()
    frontier = spans.filter(pl.col("SpanId").is_in(roots["SpanId"].implode())
                            & (pl.col("name") == "e2e.workflow")).with_columns(
        pl.lit(0, pl.Int64).alias("depth"))
    reached = [frontier]
    children = spans.filter(pl.col("name") != "e2e.workflow")
    while frontier.height:
        parents = frontier.select("TraceId", pl.col("SpanId").alias("ParentSpanId"), "depth")
        frontier = children.join(parents, on=["TraceId", "ParentSpanId"]).with_columns(
            pl.col("depth") + 1)
        reached.append(frontier)
    tree = pl.concat(reached)
    expected = pl.DataFrame(
        {"name": [*fixed, *per_step], "fixed": [1] * len(fixed) + [0] * len(per_step),
         "per_step": [0] * len(fixed) + [1] * len(per_step)})
    have = tree.group_by("TraceId", "name").len()
    shortfalls = (
        roots.with_columns(pl.col("Scenario").replace_strict(steps, default=None).alias("steps"))
        .join(expected, how="cross")
        .join(have, on=["TraceId", "name"], how="left")
        .group_by("TraceId")
        .agg((pl.col("len").fill_null(0)
              >= pl.col("fixed") + pl.col("per_step") * pl.col("steps"))
             .fill_null(False).all().alias("ok")))
    kept = shortfalls.filter(pl.col("ok"))["TraceId"]
    root_bounds = tree.filter(pl.col("depth") == 0).select(
        "TraceId", pl.col("start").alias("rs"), pl.col("end").alias("re"))
    tree = (tree.filter(pl.col("TraceId").is_in(kept.implode()))
            .join(root_bounds, on="TraceId")
            .with_columns(pl.max_horizontal("start", "rs").alias("s"),
                          pl.min_horizontal("end", "re").alias("e")))
    clipped = tree.filter((pl.col("depth") > 0) & (pl.col("s") < pl.col("e")))
    kept_roots = tree.filter(pl.col("depth") == 0)
    bounds = (pl.concat([frame.select("TraceId", pl.col(side).alias("b"))
                         for frame in (clipped, kept_roots) for side in ("s", "e")])
              .unique().sort("TraceId", "b")
              .with_columns(pl.int_range(pl.len()).over("TraceId").alias("i"),
                            (pl.col("b").shift(-1).over("TraceId") - pl.col("b"))
                            .alias("length")))
    first = (clipped.join(bounds.select("TraceId", pl.col("b").alias("s"), "i"),
                          on=["TraceId", "s"])
             .join(bounds.select("TraceId", pl.col("b").alias("e"), pl.col("i").alias("past")),
                   on=["TraceId", "e"]))
    covering = (first.with_columns(pl.int_ranges("i", "past").alias("i"))
                .explode("i")
                .sort(["TraceId", "i", "depth", "start", "SpanId"],
                      descending=[False, False, True, False, False]))
    winners = covering.unique(["TraceId", "i"], keep="first", maintain_order=True).select(
        "TraceId", "i", "name")
    cells = (bounds.filter(pl.col("length").is_not_null())
             .join(winners, on=["TraceId", "i"], how="left")
             .with_columns(pl.col("name").fill_null("wait")))
    by_phase = cells.group_by("TraceId", "name").agg(pl.col("length").sum())
    return by_phase, kept.len()
