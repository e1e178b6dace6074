-- name: e2e_workflows
-- Table macros the e2e queries share; run this file first (DuckDB CLI: .read it, then the
-- e2e_* query). They read the `spans` view; every call names its run: e2e_status('<run_id>').
--
-- e2e_template_steps(): the number of steps of each e2e scenario's template — the one place
-- the expected counts come from.
-- e2e_walk(run): every span reachable from a measured workflow's root by the parent chain: the
-- workflow's number w, the span's id, its depth (root 0) and [start_ns, end_ns) in integer ns
-- (end = start + Duration). Workflows: e2e.workflow roots of the run, warm-up
-- excluded, only those the stack traced (bench.stack_traced = 'true'). A span whose parent is
-- lost is unreachable, and so is everything under it. A span is named by its phase (the phase
-- map's, else its span name); a deployment's span joined to the workflow by its ids
-- (bench.stitched.from) walks only when the map gives it a phase. Derived spans (bench.source = 'derived')
-- are left out; with the variable bench_derived_view set true (SET VARIABLE), the walk holds
-- the root, the driver's api.create_task and the derived spans only, of every measured
-- workflow, traced by the stack or not: the same queries then give the derived breakdown.
-- e2e_status(run): one row per workflow: w, TraceId, Scenario, the root's bounds, the template's
-- steps, and completeness. Complete: the walk reached at least api.create_task,
-- task.initialize and task.finalize once, and claim, execute, submit and result.process once per
-- template step; `missing` lists the phases short of that ('template' when the scenario has no
-- template in e2e_template_steps; 'depth' when a span lies deeper than 62 levels, beyond what
-- e2e_attribution handles). A load level's scenario (linear_4@c8) has its base's template.
-- 'template' and 'depth' are this file's own labels (for a reader of the completeness table, no
-- code reads them); every phase name and attribute key comes from queries/macros.py (phase(),
-- attr()), 'wait' too (phase().wait: the HTML report colours it).
CREATE OR REPLACE TEMP MACRO e2e_template_steps() AS TABLE
SELECT * FROM (VALUES ('linear_3', 3), ('linear_4', 4), ('diamond_4', 4), ('tree_7', 7),
                      ('complex_dag_7', 7)) AS t(scenario, steps);

CREATE OR REPLACE TEMP MACRO e2e_roots(run) AS TABLE
WITH named AS MATERIALIZED (  -- by name first: the attribute map is read for the roots only
    SELECT TraceId, SpanId, Scenario, Timestamp, Duration, SpanAttributes
    FROM spans
    WHERE RunId = run AND SpanName = phase().e2e_workflow AND NOT coalesce(Warmup, false)
)
SELECT row_number() OVER (ORDER BY TraceId, SpanId) AS w, TraceId, SpanId, Scenario,
       epoch_ns(Timestamp) AS root_start, epoch_ns(Timestamp) + Duration AS root_end
FROM named
WHERE bench_stack_traced(SpanAttributes) OR coalesce(getvariable('bench_derived_view'), false);

CREATE OR REPLACE TEMP MACRO e2e_walk(run) AS TABLE
WITH RECURSIVE roots AS MATERIALIZED (SELECT w, TraceId, SpanId FROM e2e_roots(run)),
candidates AS MATERIALIZED (
    SELECT r.w, s.SpanId, s.ParentSpanId, coalesce(s.Phase, s.SpanName) AS name,
           epoch_ns(s.Timestamp) AS start_ns, epoch_ns(s.Timestamp) + s.Duration AS end_ns,
           s.SpanAttributes[attr().messaging_operation_type] AS messaging_operation,
           s.SpanAttributes[attr().db_system] AS db_system,
           TRY_CAST(s.SpanAttributes[attr().transitions] AS BIGINT) AS transitions,
           s.SpanName = phase().e2e_workflow AND s.SpanId = r.SpanId AS is_root
    FROM spans s JOIN roots r ON s.TraceId = r.TraceId
    WHERE s.RunId = run
      AND (s.Phase IS NOT NULL OR s.SpanAttributes[attr().stitched_from] IS NULL)
      AND CASE WHEN coalesce(getvariable('bench_derived_view'), false)
               THEN s.SpanId = r.SpanId OR s.SpanName = phase().api_create_task
                    OR s.SpanAttributes[attr().source] = source().derived
               ELSE NOT bench_derived(s.SpanAttributes) END
),
tree AS (
    SELECT w, SpanId, name, 0 AS depth, start_ns, end_ns, messaging_operation, db_system,
           transitions
    FROM candidates WHERE is_root
    UNION ALL
    SELECT c.w, c.SpanId, c.name, t.depth + 1, c.start_ns, c.end_ns, c.messaging_operation,
           c.db_system, c.transitions
    FROM candidates c JOIN tree t ON c.w = t.w AND c.ParentSpanId = t.SpanId
    WHERE NOT c.is_root AND t.depth < 1000
)
SELECT * FROM tree;

CREATE OR REPLACE TEMP MACRO e2e_status(run) AS TABLE
WITH walked AS (SELECT w, name, depth FROM e2e_walk(run)),
counts AS (SELECT w, name, count(*) AS n FROM walked GROUP BY w, name),
too_deep AS (SELECT DISTINCT w FROM walked WHERE depth > 62),
expected AS (
    SELECT * FROM (VALUES (phase().api_create_task, 1, 0), (phase().task_initialize, 1, 0),
                          (phase().task_finalize, 1, 0), (phase().claim, 0, 1),
                          (phase().execute, 0, 1), (phase().submit, 0, 1),
                          (phase().result_process, 0, 1)) AS x(phase, fixed, per_step)
),
shortfalls AS (
    SELECT r.w, any_value(ts.steps) AS steps,
           CASE WHEN any_value(ts.steps) IS NULL THEN ['template']
                ELSE coalesce(list(x.phase ORDER BY x.phase) FILTER (
                    WHERE coalesce(c.n, 0) < x.fixed + x.per_step * ts.steps), [])
           END AS missing
    FROM e2e_roots(run) r
    CROSS JOIN expected x
    LEFT JOIN e2e_template_steps() ts ON ts.scenario = bench_load_base(r.Scenario)
    LEFT JOIN counts c ON c.w = r.w AND c.name = x.phase
    GROUP BY r.w
)
SELECT r.w, r.TraceId, r.Scenario, r.root_start, r.root_end, s.steps,
       CASE WHEN d.w IS NULL THEN s.missing ELSE list_append(s.missing, 'depth') END AS missing,
       len(s.missing) = 0 AND d.w IS NULL AS complete
FROM e2e_roots(run) r JOIN shortfalls s USING (w) LEFT JOIN too_deep d USING (w);

-- e2e_attribution(run): each complete workflow's wall time by phase, in integer ns; see
-- e2e_breakdown.sql for the rule (the deepest open span wins, then the earliest start, then the
-- smallest span id). Per trace the rows sum exactly to the root's Duration. How:
-- 1. Within one depth, the earliest start wins, so a span keeps only its part after every span
--    of its depth ordered before it: [max(start, their latest end), end) — one piece, and the
--    pieces of a depth never overlap (`pieces`).
-- 2. At any instant at most one piece per depth is open, so the set of open depths is a bit
--    mask, the running sum of +2^depth at each piece's start and -2^depth at its end (one
--    running sum over all workflows in (w, boundary) order: each workflow's adds to 0); between
--    consecutive boundaries the winner's depth is the mask's highest bit, 'wait' when it is 0.
-- 3. The winner is the piece of that depth that started last at or before the boundary
--    (an ASOF join).
CREATE OR REPLACE TEMP MACRO e2e_attribution(run) AS TABLE
WITH roots AS MATERIALIZED (
    SELECT w, TraceId, Scenario, root_start, root_end FROM e2e_status(run) WHERE complete
),
clipped AS (
    SELECT t.w, t.depth, t.name, t.start_ns, t.SpanId,
           greatest(t.start_ns, r.root_start) AS s, least(t.end_ns, r.root_end) AS e
    FROM e2e_walk(run) t JOIN roots r USING (w)
    WHERE t.depth > 0 AND greatest(t.start_ns, r.root_start) < least(t.end_ns, r.root_end)
),
pieces AS MATERIALIZED (
    SELECT w, depth, name, greatest(s, coalesce(before, s)) AS s, e
    FROM (SELECT *, max(e) OVER (PARTITION BY w, depth ORDER BY start_ns, SpanId
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
          FROM clipped)
    WHERE greatest(s, coalesce(before, s)) < e
),
boundaries AS (
    SELECT w, s AS b, 1::BIGINT << depth AS delta FROM pieces
    UNION ALL SELECT w, e, -(1::BIGINT << depth) FROM pieces
    UNION ALL SELECT w, root_start, 0 FROM roots
    UNION ALL SELECT w, root_end, 0 FROM roots
),
masks AS (
    -- One sort of every boundary, no partitions: a workflow's deltas sum to 0, so the running
    -- sum over all of them is each workflow's own mask. Of the rows sharing a boundary the last
    -- holds the mask after all of them, and the others get 0 ns; a workflow's last row gets
    -- none.
    SELECT w, b, CASE WHEN lead(w) OVER win = w THEN lead(b) OVER win - b END AS ns,
           sum(delta) OVER win AS mask
    FROM boundaries
    WINDOW win AS (ORDER BY w, b ROWS UNBOUNDED PRECEDING)
),
cells AS (
    SELECT w, b, ns,
           CASE WHEN mask > 0 THEN floor(log2(mask))::INTEGER END AS guess, mask
    FROM masks WHERE ns > 0
),
deepest AS (  -- log2 of a double can round up to the next power of two
    SELECT w, b, ns, CASE WHEN (1::BIGINT << guess) > mask THEN guess - 1 ELSE guess END AS depth
    FROM cells
),
named AS (
    SELECT d.w, p.name AS phase, d.ns
    FROM deepest d ASOF LEFT JOIN pieces p ON p.w = d.w AND p.depth = d.depth AND p.s <= d.b
)
SELECT r.TraceId AS trace_id, r.Scenario AS scenario, coalesce(n.phase, phase().wait) AS phase,
       sum(n.ns)::BIGINT AS attributed_ns
FROM (SELECT w, phase, sum(ns) AS ns FROM named GROUP BY w, phase) n
JOIN roots r USING (w)
GROUP BY r.TraceId, r.Scenario, coalesce(n.phase, phase().wait);
