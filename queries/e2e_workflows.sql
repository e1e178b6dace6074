-- name: e2e_workflows
-- Table macros the e2e queries share; run this file first (DuckDB CLI: .read it, then the
-- e2e_* query). They read the `spans` view; every call names its run: e2e_status('<run_id>').
--
-- e2e_template_steps(): the number of steps of each e2e scenario's template — the one place
-- the expected counts come from.
-- e2e_walk(run): every span reachable from a measured workflow's root by the parent chain: the
-- workflow's number w, the span's number id, its depth (root 0) and [start_ns, end_ns) in
-- integer ns (end = start + Duration). Workflows: e2e.workflow roots of the run, warm-up
-- excluded, only those the stack traced (bench.stack_traced = 'true'). A span whose parent is
-- lost is unreachable, and so is everything under it.
-- e2e_status(run): one row per workflow: w, TraceId, Scenario, the root's bounds, the template's
-- steps, and completeness. Complete: the walk reached at least api.create_task,
-- task.initialize and task.finalize once, and claim, execute, submit and result.process once per
-- template step; `missing` lists the phases short of that ('template' when the scenario has no
-- template in e2e_template_steps).
CREATE OR REPLACE TEMP MACRO e2e_template_steps() AS TABLE
SELECT * FROM (VALUES ('linear_3', 3), ('linear_4', 4), ('diamond_4', 4), ('tree_7', 7),
                      ('complex_dag_7', 7)) AS t(scenario, steps);

CREATE OR REPLACE TEMP MACRO e2e_roots(run) AS TABLE
SELECT row_number() OVER (ORDER BY TraceId, SpanId) AS w, TraceId, SpanId, Scenario,
       epoch_ns(Timestamp) AS root_start, epoch_ns(Timestamp) + Duration AS root_end
FROM spans
WHERE RunId = run AND SpanName = 'e2e.workflow' AND NOT coalesce(Warmup, false)
  AND SpanAttributes['bench.stack_traced'] = 'true';

CREATE OR REPLACE TEMP MACRO e2e_walk(run) AS TABLE
WITH RECURSIVE roots AS MATERIALIZED (SELECT w, TraceId, SpanId FROM e2e_roots(run)),
candidates AS MATERIALIZED (
    SELECT row_number() OVER () AS id, r.w, s.SpanId, s.ParentSpanId, s.SpanName AS name,
           epoch_ns(s.Timestamp) AS start_ns, epoch_ns(s.Timestamp) + s.Duration AS end_ns,
           s.SpanAttributes['messaging.operation.type'] AS messaging_operation,
           s.SpanAttributes['db.system.name'] AS db_system,
           TRY_CAST(s.SpanAttributes['tasker.transitions'] AS BIGINT) AS transitions,
           s.SpanName = 'e2e.workflow' AND s.SpanId = r.SpanId AS is_root
    FROM spans s JOIN roots r ON s.TraceId = r.TraceId
    WHERE s.RunId = run
),
edges AS MATERIALIZED (
    SELECT child.id, parent.id AS parent
    FROM candidates child
    JOIN candidates parent ON child.w = parent.w AND child.ParentSpanId = parent.SpanId
    WHERE NOT child.is_root
),
tree AS (
    SELECT id, 0 AS depth FROM candidates WHERE is_root
    UNION ALL
    SELECT e.id, t.depth + 1 FROM edges e JOIN tree t ON e.parent = t.id
    WHERE t.depth < 1000
)
SELECT c.w, c.id, c.SpanId, c.name, t.depth, c.start_ns, c.end_ns, c.messaging_operation,
       c.db_system, c.transitions
FROM tree t JOIN candidates c USING (id);

CREATE OR REPLACE TEMP MACRO e2e_status(run) AS TABLE
WITH counts AS (SELECT w, name, count(*) AS n FROM e2e_walk(run) GROUP BY w, name),
expected AS (
    SELECT * FROM (VALUES ('api.create_task', 1, 0), ('task.initialize', 1, 0),
                          ('task.finalize', 1, 0), ('claim', 0, 1), ('execute', 0, 1),
                          ('submit', 0, 1), ('result.process', 0, 1)) AS x(phase, fixed, per_step)
),
shortfalls AS (
    SELECT r.w, any_value(ts.steps) AS steps,
           CASE WHEN any_value(ts.steps) IS NULL THEN ['template']
                ELSE coalesce(list(x.phase ORDER BY x.phase) FILTER (
                    WHERE coalesce(c.n, 0) < x.fixed + x.per_step * ts.steps), [])
           END AS missing
    FROM e2e_roots(run) r
    CROSS JOIN expected x
    LEFT JOIN e2e_template_steps() ts ON ts.scenario = r.Scenario
    LEFT JOIN counts c ON c.w = r.w AND c.name = x.phase
    GROUP BY r.w
)
SELECT r.w, r.TraceId, r.Scenario, r.root_start, r.root_end, s.steps, s.missing,
       len(s.missing) = 0 AS complete
FROM e2e_roots(run) r JOIN shortfalls s USING (w);

-- e2e_attribution(run): each complete workflow's wall time by phase, in integer ns; see
-- e2e_breakdown.sql for the rule. Per trace the rows sum exactly to the root's Duration.
CREATE OR REPLACE TEMP MACRO e2e_attribution(run) AS TABLE
WITH roots AS MATERIALIZED (
    SELECT w, TraceId, Scenario, root_start, root_end FROM e2e_status(run) WHERE complete
),
clipped AS MATERIALIZED (
    SELECT t.w, t.name, (-t.depth, t.start_ns, t.SpanId) AS priority,
           greatest(t.start_ns, r.root_start) AS s, least(t.end_ns, r.root_end) AS e
    FROM e2e_walk(run) t JOIN roots r USING (w)
    WHERE t.depth > 0 AND greatest(t.start_ns, r.root_start) < least(t.end_ns, r.root_end)
),
bounds AS MATERIALIZED (
    SELECT w, b, row_number() OVER win AS i, lead(b) OVER win AS b_next
    FROM (SELECT w, s AS b FROM clipped
          UNION SELECT w, e FROM clipped
          UNION SELECT w, root_start FROM roots
          UNION SELECT w, root_end FROM roots)
    WINDOW win AS (PARTITION BY w ORDER BY b)
),
covering AS (
    SELECT c.w, unnest(range(first.i, past.i)) AS i, c.name, c.priority
    FROM clipped c
    JOIN bounds first ON first.w = c.w AND first.b = c.s
    JOIN bounds past ON past.w = c.w AND past.b = c.e
),
winners AS (
    SELECT w, i, arg_min(name, priority) AS phase FROM covering GROUP BY w, i
)
SELECT r.TraceId AS trace_id, r.Scenario AS scenario, coalesce(n.phase, 'wait') AS phase,
       sum(n.ns)::BIGINT AS attributed_ns
FROM (SELECT b.w, w.phase, sum(b.b_next - b.b) AS ns
      FROM bounds b LEFT JOIN winners w USING (w, i)
      WHERE b.b_next IS NOT NULL
      GROUP BY b.w, w.phase) n
JOIN roots r USING (w)
GROUP BY r.TraceId, r.Scenario, coalesce(n.phase, 'wait');
