-- name: baseline_samples
-- The raw samples a baseline keeps: one row per successful, non-warm-up span of one run (the
-- tracing tax's control workflows, bench.stack_traced false, left out as phase_stats does), in ns
-- per call (Duration / bench.batch_size: macro bench_per_call_ns), keyed like phase_stats (variant = bench.dataset_size).
-- Parameters: $run_id.
SELECT Suite AS suite, Scenario AS scenario,
       bench_dataset_size(SpanAttributes) AS variant, Phase AS phase,
       bench_per_call_ns(Duration, SpanAttributes) AS duration_ns
FROM spans
WHERE RunId = $run_id AND Suite IS NOT NULL AND Phase IS NOT NULL
  AND NOT coalesce(Warmup, false) AND StatusCode <> 'Error'
  AND NOT bench_tax_control(SpanAttributes)
  AND NOT bench_derived(SpanAttributes)
ORDER BY suite, scenario, variant, phase, duration_ns
