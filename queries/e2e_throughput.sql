-- name: e2e_throughput
-- Per e2e_latency scenario of one run (a load level is its own scenario: linear_4@c8, @r20):
-- workflows completed per second over the measured window, and the open loop's late starts.
-- Measured: e2e.workflow roots, warm-up excluded. completed counts roots without an error
-- status; the window runs from the earliest root start to the latest root end (for the open
-- loop a root starts at its intended time); throughput_per_s = completed / window. late_starts
-- counts roots whose bench.start_lag_ns is at least $late_ns (NULL in a closed loop, which has no
-- intended start); max_start_lag_ns is the worst lag.
-- A window of 0 ns (one workflow) has no throughput (NULL).
-- concurrency and arrival_rate come from the roots' bench.* attributes (NULL when absent).
-- Parameters: $run_id, $late_ns.
WITH roots AS (
    SELECT Scenario AS scenario,
           epoch_ns(Timestamp) AS start_ns, epoch_ns(Timestamp) + Duration AS end_ns,
           StatusCode = 'Error' AS failed,
           bench_concurrency(SpanAttributes) AS concurrency,
           bench_arrival_rate(SpanAttributes) AS arrival_rate,
           bench_start_lag_ns(SpanAttributes) AS lag_ns
    FROM spans
    WHERE RunId = $run_id AND Suite = suite().e2e_latency AND SpanName = phase().e2e_workflow
      AND NOT coalesce(Warmup, false)
)
SELECT scenario,
       max(concurrency) AS concurrency,
       max(arrival_rate) AS arrival_rate,
       count(*) FILTER (WHERE NOT failed) AS completed,
       count(*) FILTER (WHERE failed) AS errors,
       max(end_ns) - min(start_ns) AS window_ns,
       count(*) FILTER (WHERE NOT failed) / (nullif(max(end_ns) - min(start_ns), 0) / 1e9)
           AS throughput_per_s,
       CASE WHEN count(lag_ns) > 0 THEN count(*) FILTER (WHERE lag_ns >= $late_ns) END
           AS late_starts,
       max(lag_ns) AS max_start_lag_ns
FROM roots
GROUP BY scenario
ORDER BY scenario
