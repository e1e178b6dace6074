-- name: derive_check
-- Derived against traced phases of the same workflows (spanbench's stack, where both exist),
-- per scenario and phase: n, the derived spans that have a traced span of the same name for the
-- same step (or task); median_diff_ns, the median of derived minus traced Duration over them;
-- workflows, the traces whose boundaries of this phase could be checked; disagreeing, how many
-- of those have a boundary outside the traced span of the operation that wrote it.
-- A derived boundary is a transition's created_at; it must lie inside the traced span that ran
-- the statement writing it (→ enqueued: publish, → in_progress: claim,
-- → enqueued_for_orchestration: submit, → complete/error: result.process, and the task's own
-- ends: task.initialize, task.finalize), less 1 µs: the record keeps microseconds. Checked:
-- the start of claim, execute, submit and result.process, the end of publish, claim, execute
-- and submit, and the end of task.initialize and task.finalize. Non-warm-up spans only.
-- Parameters: $run_id.
WITH derived AS MATERIALIZED (
    SELECT TraceId, Scenario, SpanName AS phase, SpanAttributes[attr().step_uuid] AS step,
           epoch_ns(Timestamp) AS s, epoch_ns(Timestamp) + Duration AS e, Duration AS ns,
           split_part(SpanAttributes[attr().derived_from], '..', 1) AS start_record,
           split_part(SpanAttributes[attr().derived_from], '..', 2) AS end_record
    FROM spans
    WHERE RunId = $run_id AND SpanAttributes[attr().source] = source().derived
      AND NOT coalesce(Warmup, false)
),
traced AS MATERIALIZED (
    SELECT TraceId, SpanName AS phase, SpanAttributes[attr().step_uuid] AS step,
           max(epoch_ns(Timestamp)) AS s,
           arg_max(epoch_ns(Timestamp) + Duration, epoch_ns(Timestamp)) AS e,
           arg_max(Duration, epoch_ns(Timestamp)) AS ns
    FROM spans
    WHERE RunId = $run_id AND coalesce(SpanAttributes[attr().source], '') <> source().derived
      AND SpanName IN (phase().publish, phase().claim, phase().execute, phase().submit,
                       phase().result_process, phase().task_initialize, phase().task_finalize)
      AND TraceId IN (SELECT DISTINCT TraceId FROM derived)
    GROUP BY ALL
),
writers AS (
    SELECT * FROM (VALUES ('step:enqueued', phase().publish), ('step:in_progress', phase().claim),
                          ('step:enqueued_for_orchestration', phase().submit),
                          ('step:enqueued_as_error_for_orchestration', phase().submit),
                          ('step:complete', phase().result_process),
                          ('step:error', phase().result_process)) AS w(record, phase)
),
boundaries AS (
    SELECT d.TraceId, d.Scenario, d.phase, d.step, d.s AS instant, w.phase AS writer
    FROM derived d JOIN writers w ON w.record = d.start_record
    WHERE d.phase IN (phase().claim, phase().execute, phase().submit, phase().result_process)
    UNION ALL
    SELECT d.TraceId, d.Scenario, d.phase, d.step, d.e, w.phase
    FROM derived d JOIN writers w ON w.record = d.end_record
    WHERE d.phase IN (phase().publish, phase().claim, phase().execute, phase().submit)
    UNION ALL
    SELECT TraceId, Scenario, phase, step, e, phase
    FROM derived WHERE phase IN (phase().task_initialize, phase().task_finalize)
),
checked AS (
    SELECT b.TraceId, b.Scenario, b.phase,
           NOT (t.s - 1000 <= b.instant AND b.instant <= t.e) AS outside
    FROM boundaries b
    JOIN traced t ON t.TraceId = b.TraceId AND t.phase = b.writer
                 AND t.step IS NOT DISTINCT FROM b.step
),
per_workflow AS (
    SELECT Scenario, phase, TraceId, bool_or(outside) AS disagrees
    FROM checked GROUP BY ALL
),
differences AS (
    SELECT d.Scenario, d.phase, d.ns - t.ns AS diff
    FROM derived d
    JOIN traced t ON t.TraceId = d.TraceId AND t.phase = d.phase
                 AND t.step IS NOT DISTINCT FROM d.step
)
SELECT coalesce(x.Scenario, w.Scenario) AS scenario, coalesce(x.phase, w.phase) AS phase,
       coalesce(x.n, 0) AS n, x.median_diff_ns,
       coalesce(w.workflows, 0) AS workflows, coalesce(w.disagreeing, 0) AS disagreeing
FROM (SELECT Scenario, phase, count(*) AS n, quantile_cont(diff, 0.5) AS median_diff_ns
      FROM differences GROUP BY ALL) x
FULL JOIN (SELECT Scenario, phase, count(*) AS workflows,
                  count(*) FILTER (WHERE disagrees) AS disagreeing
           FROM per_workflow GROUP BY ALL) w USING (Scenario, phase)
ORDER BY scenario, phase
