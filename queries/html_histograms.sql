-- name: html_histograms
-- Each phase's per-call durations, counted in log-spaced bins between its min and max, for the
-- HTML report's distribution charts. The samples are phase_stats.sql's: warm-up and failed
-- calls and the tracing tax's control workflows excluded, Duration / bench.batch_size per call (bench_per_call_ns), grouped by suite, scenario, variant
-- (bench.dataset_size) and phase, so a phase's counts sum to its n there. Bins: ceil(sqrt(n))
-- clamped to [5, 40], one when min = max; bin i covers [lo (hi/lo)^(i/bins), lo (hi/lo)^((i+1)/bins))
-- and the last one includes hi. A duration below 1 ns counts as 1 ns (a log scale has no 0).
-- Only non-empty bins are returned. Parameters: $run_id.
WITH measured AS (
    SELECT Suite AS suite, Scenario AS scenario, Phase AS phase,
           bench_dataset_size(SpanAttributes) AS variant,
           greatest(bench_per_call_ns(Duration, SpanAttributes), 1) AS v
    FROM spans
    WHERE RunId = $run_id AND Suite IS NOT NULL AND Phase IS NOT NULL
      AND NOT coalesce(Warmup, false) AND NOT (StatusCode = 'Error')
      AND NOT bench_tax_control(SpanAttributes)
      AND NOT bench_derived(SpanAttributes)
),
ranged AS (
    SELECT *, count(*) OVER g AS n, min(v) OVER g AS lo, max(v) OVER g AS hi
    FROM measured
    WINDOW g AS (PARTITION BY suite, scenario, variant, phase)
),
sized AS (
    SELECT *, CASE WHEN hi > lo THEN least(40, greatest(5, ceil(sqrt(n))))::INTEGER ELSE 1 END
                  AS bins
    FROM ranged
)
SELECT suite, scenario, variant, phase, n, lo, hi, bins,
       CASE WHEN bins = 1 THEN 0
            ELSE least(bins - 1, floor(bins * ln(v / lo) / ln(hi / lo)))::INTEGER END AS bin,
       count(*) AS count
FROM sized
GROUP BY ALL
ORDER BY suite, scenario, variant NULLS FIRST, phase, bin
