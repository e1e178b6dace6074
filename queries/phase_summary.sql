-- name: phase_summary
-- Per suite, scenario, variant and phase of one run: sample count and latency in ns per call, warm-up
-- excluded, and the tracing tax's control workflows (bench.stack_traced false). The variant tells apart what one scenario measures under different conditions:
-- sql_functions' dataset size (bench.dataset_size), NULL elsewhere.
-- A span covering bench.batch_size calls counts as that many calls of Duration / batch_size
-- (macro bench_per_call_ns, queries/macros.py).
-- p95 needs at least 20 samples and p99 at least 100; below that they are NULL.
-- Parameters: $run_id.
WITH measured AS (
    SELECT Suite, Scenario, Phase, StatusCode,
           bench_dataset_size(SpanAttributes) AS variant,
           bench_batch_size(SpanAttributes) AS batch,
           bench_per_call_ns(Duration, SpanAttributes) AS per_call_ns
    FROM spans
    WHERE RunId = $run_id AND Suite IS NOT NULL AND NOT coalesce(Warmup, false)
      AND NOT bench_tax_control(SpanAttributes)
      AND NOT bench_derived(SpanAttributes)
)
SELECT Suite AS suite,
       Scenario AS scenario,
       variant,
       Phase AS phase,
       count(*) FILTER (WHERE StatusCode <> 'Error') AS n,
       count(*) FILTER (WHERE StatusCode = 'Error') AS errors,
       avg(per_call_ns) FILTER (WHERE StatusCode <> 'Error') AS mean_ns,
       quantile_cont(per_call_ns, 0.5) FILTER (WHERE StatusCode <> 'Error') AS p50_ns,
       CASE WHEN count(*) FILTER (WHERE StatusCode <> 'Error') >= 20
            THEN quantile_cont(per_call_ns, 0.95) FILTER (WHERE StatusCode <> 'Error')
       END AS p95_ns,
       CASE WHEN count(*) FILTER (WHERE StatusCode <> 'Error') >= 100
            THEN quantile_cont(per_call_ns, 0.99) FILTER (WHERE StatusCode <> 'Error')
       END AS p99_ns,
       max(batch) AS batch_size
FROM measured
GROUP BY Suite, Scenario, variant, Phase
ORDER BY suite, scenario, TRY_CAST(variant AS BIGINT) NULLS FIRST, phase
