-- name: e2e_workflows
-- Table macros the e2e queries share; run this file first (DuckDB CLI: .read it, then the
-- e2e_* query). They read the `spans` view; every call names its run: e2e_tree('<run_id>').
--
-- e2e_template_steps(): the number of steps of each e2e scenario's template — the one place
-- the expected counts come from.
-- e2e_tree(run): every span reachable from a measured workflow's root by the parent chain,
-- with its depth (root 0), [start_ns, end_ns) in integer ns (end = start + Duration), the root's
-- bounds, and the workflow's completeness. Workflows: e2e.workflow roots of the run, warm-up
-- excluded, only those the stack traced (bench.stack_traced = 'true').
-- Complete: the trace holds at least api.create_task, task.initialize and task.finalize once,
-- and claim, execute, submit and result.process once per template step; `missing` lists the
-- phases short of that ('template' when the scenario has no template here). A span whose
-- parent is lost is unreachable, so the phases under it count as missing.
CREATE OR REPLACE TEMP MACRO e2e_template_steps() AS TABLE
SELECT * FROM (VALUES ('linear_3', 3), ('linear_4', 4), ('diamond_4', 4), ('tree_7', 7),
                      ('complex_dag_7', 7)) AS t(scenario, steps);

CREATE OR REPLACE TEMP MACRO e2e_tree(run) AS TABLE
WITH RECURSIVE roots AS MATERIALIZED (
    SELECT TraceId, SpanId, Scenario, epoch_ns(Timestamp) AS root_start,
           epoch_ns(Timestamp) + Duration AS root_end
    FROM spans
    WHERE RunId = run AND SpanName = 'e2e.workflow' AND NOT coalesce(Warmup, false)
      AND SpanAttributes['bench.stack_traced'] = 'true'
),
candidates AS MATERIALIZED (
    SELECT s.TraceId, s.SpanId, s.ParentSpanId, s.SpanName AS name,
           epoch_ns(s.Timestamp) AS start_ns, epoch_ns(s.Timestamp) + s.Duration AS end_ns,
           s.SpanAttributes['messaging.operation.type'] AS messaging_operation,
           s.SpanAttributes['db.system.name'] AS db_system
    FROM spans s SEMI JOIN roots r ON s.TraceId = r.TraceId
    WHERE s.RunId = run AND s.SpanName <> 'e2e.workflow'
),
tree AS (
    SELECT TraceId, SpanId, 'e2e.workflow' AS name, 0 AS depth, root_start AS start_ns,
           root_end AS end_ns, NULL::VARCHAR AS messaging_operation, NULL::VARCHAR AS db_system
    FROM roots
    UNION ALL
    SELECT c.TraceId, c.SpanId, c.name, t.depth + 1, c.start_ns, c.end_ns,
           c.messaging_operation, c.db_system
    FROM candidates c JOIN tree t ON c.TraceId = t.TraceId AND c.ParentSpanId = t.SpanId
    WHERE t.depth < 1000
),
reached AS MATERIALIZED (SELECT * FROM tree),
counts AS (SELECT TraceId, name, count(*) AS n FROM reached GROUP BY TraceId, name),
expected AS (
    SELECT * FROM (VALUES ('api.create_task', 1, 0), ('task.initialize', 1, 0),
                          ('task.finalize', 1, 0), ('claim', 0, 1), ('execute', 0, 1),
                          ('submit', 0, 1), ('result.process', 0, 1)) AS x(phase, fixed, per_step)
),
status AS (
    SELECT r.TraceId, any_value(ts.steps) AS steps,
           CASE WHEN any_value(ts.steps) IS NULL THEN ['template']
                ELSE coalesce(list(x.phase ORDER BY x.phase) FILTER (
                    WHERE coalesce(c.n, 0) < x.fixed + x.per_step * ts.steps), [])
           END AS missing
    FROM roots r
    CROSS JOIN expected x
    LEFT JOIN e2e_template_steps() ts ON ts.scenario = r.Scenario
    LEFT JOIN counts c ON c.TraceId = r.TraceId AND c.name = x.phase
    GROUP BY r.TraceId
)
SELECT t.TraceId, r.Scenario, t.SpanId, t.name, t.depth, t.start_ns, t.end_ns,
       t.messaging_operation, t.db_system, r.root_start, r.root_end, s.steps, s.missing,
       len(s.missing) = 0 AS complete
FROM reached t JOIN roots r USING (TraceId) JOIN status s USING (TraceId);

-- e2e_attribution(run): each complete workflow's wall time by phase, in integer ns; see
-- e2e_breakdown.sql for the rule. Per trace the rows sum exactly to the root's Duration.
CREATE OR REPLACE TEMP MACRO e2e_attribution(run) AS TABLE
WITH spans_of AS MATERIALIZED (SELECT * FROM e2e_tree(run) WHERE complete),
clipped AS (
    SELECT TraceId, SpanId, name, depth, start_ns AS opened,
           greatest(start_ns, root_start) AS s, least(end_ns, root_end) AS e
    FROM spans_of
    WHERE depth > 0 AND greatest(start_ns, root_start) < least(end_ns, root_end)
),
roots AS (SELECT TraceId, Scenario, root_start, root_end FROM spans_of WHERE depth = 0),
bounds AS MATERIALIZED (
    SELECT TraceId, b, row_number() OVER w AS i, lead(b) OVER w AS b_next
    FROM (SELECT TraceId, s AS b FROM clipped
          UNION SELECT TraceId, e FROM clipped
          UNION SELECT TraceId, root_start FROM roots
          UNION SELECT TraceId, root_end FROM roots)
    WINDOW w AS (PARTITION BY TraceId ORDER BY b)
),
covering AS (
    SELECT c.TraceId, unnest(range(first.i, past.i)) AS i, c.name, c.depth, c.opened, c.SpanId
    FROM clipped c
    JOIN bounds first ON first.TraceId = c.TraceId AND first.b = c.s
    JOIN bounds past ON past.TraceId = c.TraceId AND past.b = c.e
),
winners AS (
    SELECT TraceId, i, arg_min(name, (-depth, opened, SpanId)) AS phase
    FROM covering
    GROUP BY TraceId, i
)
SELECT b.TraceId AS trace_id, r.Scenario AS scenario, coalesce(w.phase, 'wait') AS phase,
       sum(b.b_next - b.b)::BIGINT AS attributed_ns
FROM bounds b
JOIN roots r USING (TraceId)
LEFT JOIN winners w USING (TraceId, i)
WHERE b.b_next IS NOT NULL
GROUP BY b.TraceId, r.Scenario, coalesce(w.phase, 'wait');
