-- name: worker_phases
-- The stack's own workers, from the traces of one suite (e.g. e2e_latency): claim, execute and
-- submit per handler, and worker.total (claim start to submit end) per worker cycle — to set
-- beside the worker_execution driver's own measurements of the same phases.
-- A cycle is the spans of one step message (step_uuid, messaging.message.id). A claim carries no
-- handler (the worker learns it by claiming), so it takes its cycle's; claims of duplicate
-- messages, which never execute, are left out. Warm-up excluded; p95 only from 20 samples.
-- Durations in ns. Phase names and attribute keys come from queries/macros.py (phase(), attr()).
-- Parameters: $run_id, $suite.
WITH worker AS (
    SELECT SpanName AS phase, Duration, Timestamp, EndTimestamp,
           SpanAttributes[attr().step_uuid] AS step,
           SpanAttributes[attr().messaging_message_id] AS message,
           SpanAttributes[attr().handler] AS handler
    FROM spans
    WHERE RunId = $run_id AND Suite = $suite AND NOT coalesce(Warmup, false)
      AND SpanName IN (phase().claim, phase().execute, phase().submit)
      AND SpanAttributes[attr().worker_id] IS NOT NULL
      AND StatusCode <> 'Error' AND NOT bench_derived(SpanAttributes)
),
cycles AS (
    SELECT step, message, max(handler) AS handler,
           min(Timestamp) FILTER (WHERE phase = phase().claim) AS claimed_at,
           max(EndTimestamp) FILTER (WHERE phase = phase().submit) AS submitted_at
    FROM worker
    GROUP BY step, message
),
durations AS (
    SELECT c.handler, w.phase, w.Duration AS duration_ns
    FROM worker w JOIN cycles c USING (step, message)
    WHERE c.handler IS NOT NULL
    UNION ALL
    SELECT handler, phase().worker_total, epoch_ns(submitted_at) - epoch_ns(claimed_at)
    FROM cycles
    WHERE handler IS NOT NULL AND claimed_at IS NOT NULL AND submitted_at IS NOT NULL
)
SELECT handler,
       phase,
       count(*) AS n,
       avg(duration_ns) AS mean_ns,
       quantile_cont(duration_ns, 0.5) AS p50_ns,
       CASE WHEN count(*) >= 20 THEN quantile_cont(duration_ns, 0.95) END AS p95_ns
FROM durations
GROUP BY handler, phase
ORDER BY handler, phase
