-- name: e2e_completion
-- How e2e_latency saw its workflows complete, per bench.completion_source (pg_notify: the
-- system's finalization NOTIFY, stamped on arrival; db_poll / api_poll: the task's state polled,
-- each root carrying bench.completion_window_ns, the window its completion lies in). Measured
-- roots only (warm-up excluded); windows in ns, NULL where no root carries one.
-- Parameters: $run_id.
WITH roots AS (
    SELECT SpanAttributes[attr().completion_source] AS source,
           TRY_CAST(SpanAttributes[attr().completion_window] AS BIGINT) AS window_ns
    FROM spans
    WHERE RunId = $run_id AND Suite = suite().e2e_latency AND SpanName = phase().e2e_workflow
      AND NOT coalesce(Warmup, false)
      AND SpanAttributes[attr().completion_source] IS NOT NULL
)
SELECT source,
       count(*) AS workflows,
       count(window_ns) AS windowed,
       quantile_cont(window_ns, 0.5) AS p50_window_ns,
       quantile_cont(window_ns, 0.95) AS p95_window_ns,
       max(window_ns) AS max_window_ns
FROM roots
GROUP BY source
ORDER BY workflows DESC, source
