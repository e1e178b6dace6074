-- name: baseline_repetitions
-- The run-level values a comparison works on: per run and benchmark (suite, scenario, variant,
-- phase), each block's median in ns per call and its sample count, from a table or view
-- `samples` with baseline_samples' columns (run_id, suite, scenario, variant, phase, block,
-- duration_ns). No parameters.
SELECT suite, scenario, variant, phase, run_id, block,
       quantile_cont(duration_ns, 0.5) AS median_ns, count(*) AS n
FROM samples
GROUP BY suite, scenario, variant, phase, run_id, block
ORDER BY suite, scenario, TRY_CAST(variant AS BIGINT) NULLS FIRST, variant, phase, run_id, block
