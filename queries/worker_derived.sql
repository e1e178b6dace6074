-- name: worker_derived
-- worker_execution's claim, execute and submit as derived from the deployment's transitions of
-- each task's step (bench.source = derived, nested in the driver's worker.task spans): per
-- scenario and phase, n, mean (from 2 samples), standard deviation, median, p95 (from 20
-- samples) and p99 (from 100) in ns, warm-up excluded, and the service the derived spans name
-- (`<system>.derived`).
-- Parameters: $run_id.
SELECT Scenario AS scenario,
       Phase AS phase,
       count(*) AS n,
       CASE WHEN count(*) >= 2 THEN avg(Duration) END AS mean_ns,
       stddev_samp(Duration) AS std_ns,
       quantile_cont(Duration, 0.5) AS p50_ns,
       CASE WHEN count(*) >= 20 THEN quantile_cont(Duration, 0.95) END AS p95_ns,
       CASE WHEN count(*) >= 100 THEN quantile_cont(Duration, 0.99) END AS p99_ns,
       any_value(ServiceName) AS service
FROM spans
WHERE RunId = $run_id AND Suite = suite().worker_execution
  AND bench_derived(SpanAttributes) AND NOT coalesce(Warmup, false)
  AND Phase IN (phase().claim, phase().execute, phase().submit)
GROUP BY Scenario, Phase
ORDER BY scenario, list_position([phase().claim, phase().execute, phase().submit], phase)
