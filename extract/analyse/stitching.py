"""Joining a deployment's own spans to the run's workflows, in the analysis.

A deployment that does not carry the driver's trace context (tasker-core starts a trace per
operation) exports spans without `bench.run_id`: the sink files them under the `unassigned`
run. A run's analysis takes those whose `correlation_id`, `task_uuid` or `step_uuid` is one its
own spans carry (the driver's, the stack's, the derived ones) into the workflow trace holding
that id: same trace id, run, suite, scenario, iteration and warm-up flag as the workflow's root,
parented under their own parent when it joined too and under the root otherwise, with the
trace id they were exported in as `bench.stitched.from`. A span without any of the ids joins
with the spans of its own trace when they all name the same workflow. The rest (an HTTP/2
library's frames, idle long polls) stays where it is stored and in no phase of the run.
"""

from __future__ import annotations

from typing import Final

import duckdb

from spanbench.vocabulary import Attr

STITCHED: Final = "spans_stitched"
_KEYS: Final = (Attr.CORRELATION_ID, Attr.TASK_UUID, Attr.STEP_UUID)
MARGIN: Final = "'1 minute'"
"""How far before the runs' first span and after their last a deployment's span may start."""


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _keys_of(alias: str) -> str:
    return "[" + ", ".join(f"{alias}.SpanAttributes[{_text(key)}]" for key in _KEYS) + "]"


def stitch(con: duckdb.DuckDBPyConnection, own: str, unassigned: str) -> int:
    """Create table STITCHED from the view `unassigned` (spans without a run) joined to the
    workflows of the view `own` (the runs' spans); the number of spans that joined. Only spans
    that start within MARGIN of the runs' own spans are looked at, so an `unassigned` run
    that grows over many runs is pruned by its Parquet statistics."""
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {STITCHED} AS
WITH bounds AS MATERIALIZED (
    SELECT min(Timestamp) - INTERVAL {MARGIN} AS first, max(EndTimestamp) + INTERVAL {MARGIN}
           AS last
    FROM {own}
),
candidates AS MATERIALIZED (
    SELECT u.* FROM {unassigned} u, bounds b WHERE u.Timestamp BETWEEN b.first AND b.last
),
keyed AS MATERIALIZED (
    SELECT DISTINCT k.key, s.RunId, s.TraceId
    FROM {own} s, unnest({_keys_of('s')}) AS k(key)
    WHERE k.key IS NOT NULL AND s.RunId IS NOT NULL
),
workflows AS MATERIALIZED (
    SELECT s.RunId, s.TraceId, arg_min(s.SpanId, s.Timestamp) AS root_id,
           arg_min(s.Suite, s.Timestamp) AS Suite, arg_min(s.Scenario, s.Timestamp) AS Scenario,
           arg_min(s.Iteration, s.Timestamp) AS Iteration,
           arg_min(s.Warmup, s.Timestamp) AS Warmup
    FROM {own} s SEMI JOIN keyed k ON k.RunId = s.RunId AND k.TraceId = s.TraceId
    WHERE coalesce(s.ParentSpanId, '') = ''
    GROUP BY s.RunId, s.TraceId
),
span_matches AS MATERIALIZED (
    SELECT c.TraceId, c.SpanId, min(k.RunId) AS run, min(k.TraceId) AS workflow,
           count(DISTINCT (k.RunId, k.TraceId)) AS n
    FROM candidates c, unnest({_keys_of('c')}) AS ck(key)
    JOIN keyed k ON k.key = ck.key
    GROUP BY c.TraceId, c.SpanId
),
trace_matches AS (
    SELECT TraceId, min(run) AS run, min(workflow) AS workflow
    FROM span_matches WHERE n = 1
    GROUP BY TraceId HAVING count(DISTINCT (run, workflow)) = 1
),
matched AS MATERIALIZED (
    SELECT c.*, coalesce(sm.run, tm.run) AS _run, coalesce(sm.workflow, tm.workflow) AS _workflow
    FROM candidates c
    LEFT JOIN span_matches sm ON sm.TraceId = c.TraceId AND sm.SpanId = c.SpanId
    LEFT JOIN trace_matches tm ON tm.TraceId = c.TraceId
    WHERE CASE WHEN sm.SpanId IS NOT NULL THEN sm.n = 1 ELSE tm.TraceId IS NOT NULL END
)
SELECT m.* EXCLUDE (_run, _workflow) REPLACE (
    w.TraceId AS TraceId,
    CASE WHEN p.SpanId IS NULL THEN w.root_id ELSE m.ParentSpanId END AS ParentSpanId,
    map_concat(m.SpanAttributes, MAP {{{_text(Attr.STITCHED_FROM)}: m.TraceId}})
        AS SpanAttributes,
    w.RunId AS RunId, w.Suite AS Suite, w.Scenario AS Scenario, w.Iteration AS Iteration,
    w.Warmup AS Warmup)
FROM matched m
JOIN workflows w ON w.RunId = m._run AND w.TraceId = m._workflow
LEFT JOIN matched p ON p.TraceId = m.TraceId AND p.SpanId = m.ParentSpanId
                   AND p._run = m._run AND p._workflow = m._workflow
""")
    [(count,)] = con.execute(f"SELECT count(*) FROM {STITCHED}").fetchall()
    return int(count)
