-- name: baseline_samples
-- The raw samples a baseline keeps: one row per successful, non-warm-up span of one run (the
-- tracing tax's control workflows, bench.stack_traced false, left out as phase_stats does), in ns
-- per call (Duration / bench.batch_size: macro bench_per_call_ns), keyed like phase_stats
-- (variant = bench.dataset_size), each with its repetition: `block` numbers the benchmark's
-- samples cut, in start-time order, into contiguous blocks (0 first) — as many as $blocks,
-- fewer when the benchmark has fewer than $min_block samples a block, at least one.
-- Parameters: $run_id, $blocks, $min_block.
WITH samples AS (
    SELECT RunId AS run_id, Suite AS suite, Scenario AS scenario,
           bench_dataset_size(SpanAttributes) AS variant, Phase AS phase,
           bench_per_call_ns(Duration, SpanAttributes) AS duration_ns,
           row_number() OVER benchmark - 1 AS position,
           count(*) OVER (PARTITION BY Suite, Scenario, bench_dataset_size(SpanAttributes), Phase)
               AS n
    FROM spans
    WHERE RunId = $run_id AND Suite IS NOT NULL AND Phase IS NOT NULL
      AND NOT coalesce(Warmup, false) AND StatusCode <> 'Error'
      AND NOT bench_tax_control(SpanAttributes)
      AND NOT bench_derived(SpanAttributes)
    WINDOW benchmark AS (PARTITION BY Suite, Scenario, bench_dataset_size(SpanAttributes), Phase
                         ORDER BY Timestamp, SpanId)
)
SELECT run_id, suite, scenario, variant, phase,
       (position * greatest(1, least($blocks, n // $min_block)) // n)::INTEGER AS block,
       duration_ns
FROM samples
ORDER BY suite, scenario, variant, phase, block, duration_ns
