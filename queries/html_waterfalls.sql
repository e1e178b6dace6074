-- name: html_waterfalls
-- The spans of two workflow traces per e2e scenario, for the HTML report's waterfalls: the
-- median workflow (rank (n + 1) // 2 by the root's Duration, ties by TraceId) and the slowest.
-- Workflows: e2e.workflow roots of the run, warm-up excluded, only those the stack traced
-- (bench.stack_traced = 'true'), as e2e_workflows.sql counts them. Every span of the run with
-- the trace's TraceId is returned, its start relative to the root's (offset_ns, may be
-- negative for a clock that ran ahead) and its Duration; nesting is left to the caller (by
-- ParentSpanId). `which` is this query's own label, 'median' or 'slowest', shown as it is.
-- Names (suite, phase) come from queries/macros.py. Parameters: $run_id.
WITH roots AS (
    SELECT Scenario AS scenario, TraceId AS trace_id, SpanId AS root_id, Duration AS root_ns,
           epoch_ns(Timestamp) AS root_start,
           row_number() OVER (PARTITION BY Scenario ORDER BY Duration, TraceId) AS rank,
           count(*) OVER (PARTITION BY Scenario) AS workflows
    FROM spans
    WHERE RunId = $run_id AND Suite = suite().e2e_latency AND SpanName = phase().e2e_workflow
      AND NOT coalesce(Warmup, false) AND bench_stack_traced(SpanAttributes)
),
picked AS (
    SELECT 'median' AS which, * FROM roots WHERE rank = (workflows + 1) // 2
    UNION ALL
    SELECT 'slowest' AS which, * FROM roots WHERE rank = workflows
)
SELECT p.scenario, p.which, p.trace_id, p.root_id, p.root_ns, p.workflows,
       s.SpanId AS span_id, s.ParentSpanId AS parent_id, s.SpanName AS name,
       coalesce(s.Phase, s.SpanName) AS phase, s.ServiceName AS service,
       epoch_ns(s.Timestamp) - p.root_start AS offset_ns, s.Duration AS duration_ns,
       s.StatusCode = 'Error' AS failed
FROM picked p
JOIN spans s ON s.TraceId = p.trace_id AND s.RunId = $run_id
    AND NOT bench_derived(s.SpanAttributes)
ORDER BY p.scenario, p.which, offset_ns, s.SpanId
