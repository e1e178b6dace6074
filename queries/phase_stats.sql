-- name: phase_stats
-- Full statistics per suite, scenario, variant and phase of one run, in ns per call; warm-up
-- excluded, errors counted (not averaged); the tracing tax's control workflows (e2e, stack told
-- not to trace: bench.stack_traced false) excluded. variant = bench.dataset_size (sql_functions), else
-- NULL; a span covering bench.batch_size calls counts as Duration / batch_size per call (macro
-- bench_per_call_ns, queries/macros.py).
-- Percentiles interpolate linearly (quantile_cont). Each p50/p95/p99 has a distribution-free 95%
-- interval from order statistics: with B ~ Binomial(n, q), the lower bound is the l-th smallest
-- sample, l = 1 + max{k : P(B <= k) <= 0.025}, the upper the u-th, u = 1 + min{k : P(B <= k)
-- >= 0.975}; NULL where n is too small for such ranks (e.g. n < 6 for the median).
-- The mean needs 2 calls (n >= 2, or one batch of several), p95 n >= 20 and p99 n >= 100, else
-- NULL. Outliers: Tukey fences on the quartiles, as Criterion counts them (mild beyond 1.5 IQR
-- but within 3 IQR; severe beyond 3 IQR).
-- Parameters: $run_id.
WITH measured AS (
    SELECT Suite AS suite, Scenario AS scenario, Phase AS phase,
           bench_dataset_size(SpanAttributes) AS variant,
           StatusCode = 'Error' AS failed,
           bench_batch_size(SpanAttributes) AS batch,
           bench_per_call_ns(Duration, SpanAttributes) AS v
    FROM spans
    WHERE RunId = $run_id AND Suite IS NOT NULL AND Phase IS NOT NULL
      AND NOT coalesce(Warmup, false) AND NOT bench_derived(SpanAttributes)
      AND NOT bench_tax_control(SpanAttributes)
),
summary AS (
    SELECT suite, scenario, variant, phase,
           count(*) FILTER (WHERE NOT failed) AS n,
           count(*) FILTER (WHERE failed) AS errors,
           avg(v) FILTER (WHERE NOT failed) AS mean_ns,
           stddev_samp(v) FILTER (WHERE NOT failed) AS std_ns,
           list_sort(list(v) FILTER (WHERE NOT failed)) AS sorted,
           max(batch) AS batch_size
    FROM measured
    GROUP BY suite, scenario, variant, phase
),
quantiles AS (  -- quantile_cont's linear interpolation, read off the sorted samples
    SELECT *, sorted[1] AS min_ns, sorted[n] AS max_ns,
           list_transform([0.25, 0.5, 0.75, 0.95, 0.99], lambda q: CASE WHEN n > 0 THEN
               sorted[1 + floor(q * (n - 1))::BIGINT]
               + (q * (n - 1) - floor(q * (n - 1)))
                 * (sorted[1 + ceil(q * (n - 1))::BIGINT] - sorted[1 + floor(q * (n - 1))::BIGINT])
           END) AS qs
    FROM summary
),
keyed AS MATERIALIZED (
    SELECT *, row_number() OVER () AS g, qs[3] - qs[1] AS iqr FROM quantiles
),
levels AS (
    SELECT g, n, q,
           greatest(0, floor(n * q - 15 * sqrt(n * q * (1 - q))) - 1)::BIGINT AS k_from,
           least(n, ceil(n * q + 15 * sqrt(n * q * (1 - q))) + 2)::BIGINT AS k_to
    FROM keyed, (VALUES (0.5, 1), (0.95, 20), (0.99, 100)) AS l(q, min_n)
    WHERE n >= min_n
),
binomial AS (
    -- Only k within 15 standard deviations of n q: the mass left out is far below 1e-15.
    SELECT g, q, k,
           sum(exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
                   + k * ln(q) + (n - k) * ln(1 - q)))
               OVER (PARTITION BY g, q ORDER BY k) AS cdf
    FROM levels, range(k_from, k_to) AS r(k)
),
ranks AS (
    SELECT g, q,
           1 + max(k) FILTER (WHERE cdf <= 0.025) AS lo_rank,
           1 + min(k) FILTER (WHERE cdf >= 0.975) AS hi_rank
    FROM binomial
    GROUP BY g, q
),
intervals AS (
    SELECT g, q, sorted[lo_rank] AS lo, sorted[hi_rank] AS hi
    FROM ranks JOIN keyed USING (g)
)
SELECT s.suite, s.scenario, s.variant, s.phase, s.n, s.errors,
       CASE WHEN s.n * s.batch_size >= 2 THEN s.mean_ns END AS mean_ns,
       s.std_ns, s.min_ns, s.max_ns,
       s.qs[2] AS p50_ns, c50.lo AS p50_lo, c50.hi AS p50_hi,
       CASE WHEN s.n >= 20 THEN s.qs[4] END AS p95_ns, c95.lo AS p95_lo, c95.hi AS p95_hi,
       CASE WHEN s.n >= 100 THEN s.qs[5] END AS p99_ns, c99.lo AS p99_lo, c99.hi AS p99_hi,
       coalesce(len(list_filter(s.sorted, lambda x: (x < s.qs[1] - 1.5 * s.iqr
                                                     AND x >= s.qs[1] - 3 * s.iqr)
                                                    OR (x > s.qs[3] + 1.5 * s.iqr
                                                        AND x <= s.qs[3] + 3 * s.iqr))), 0)
           AS outliers_mild,
       coalesce(len(list_filter(s.sorted, lambda x: x < s.qs[1] - 3 * s.iqr
                                                    OR x > s.qs[3] + 3 * s.iqr)), 0)
           AS outliers_severe,
       s.batch_size
FROM keyed AS s
LEFT JOIN intervals AS c50 ON c50.g = s.g AND c50.q = 0.5
LEFT JOIN intervals AS c95 ON c95.g = s.g AND c95.q = 0.95
LEFT JOIN intervals AS c99 ON c99.g = s.g AND c99.q = 0.99
ORDER BY s.suite, s.scenario, TRY_CAST(s.variant AS BIGINT) NULLS FIRST, s.variant, s.phase
