-- name: phase_stats
-- Full statistics per suite, scenario, variant and phase of one run, in ns per call; warm-up
-- excluded, errors counted (not averaged). variant = bench.dataset_size (sql_functions), else
-- NULL; a span covering bench.batch_size calls counts as Duration / batch_size per call.
-- Percentiles interpolate linearly (quantile_cont). Each p50/p95/p99 has a distribution-free 95%
-- interval from order statistics: with B ~ Binomial(n, q), the lower bound is the l-th smallest
-- sample, l = 1 + max{k : P(B <= k) <= 0.025}, the upper the u-th, u = 1 + min{k : P(B <= k)
-- >= 0.975}; NULL where n is too small for such ranks (e.g. n < 6 for the median).
-- p95 needs n >= 20 and p99 n >= 100, else NULL. Outliers: Tukey fences on the quartiles, as
-- Criterion counts them (mild beyond 1.5 IQR but within 3 IQR; severe beyond 3 IQR).
-- Parameters: $run_id.
WITH measured AS (
    SELECT Suite AS suite, Scenario AS scenario, Phase AS phase,
           SpanAttributes['bench.dataset_size'] AS variant,
           StatusCode = 'Error' AS failed,
           coalesce(TRY_CAST(SpanAttributes['bench.batch_size'] AS BIGINT), 1) AS batch,
           Duration / coalesce(TRY_CAST(SpanAttributes['bench.batch_size'] AS BIGINT), 1) AS v
    FROM spans
    WHERE RunId = $run_id AND Suite IS NOT NULL AND Phase IS NOT NULL
      AND NOT coalesce(Warmup, false)
),
grouped AS (
    SELECT *, dense_rank() OVER (ORDER BY suite, scenario, variant, phase) AS g
    FROM measured
),
summary AS (
    SELECT g, any_value(suite) AS suite, any_value(scenario) AS scenario,
           any_value(variant) AS variant, any_value(phase) AS phase,
           count(*) FILTER (WHERE NOT failed) AS n,
           count(*) FILTER (WHERE failed) AS errors,
           avg(v) FILTER (WHERE NOT failed) AS mean_ns,
           stddev_samp(v) FILTER (WHERE NOT failed) AS std_ns,
           min(v) FILTER (WHERE NOT failed) AS min_ns,
           max(v) FILTER (WHERE NOT failed) AS max_ns,
           quantile_cont(v, 0.25) FILTER (WHERE NOT failed) AS q1,
           quantile_cont(v, 0.5) FILTER (WHERE NOT failed) AS p50_ns,
           quantile_cont(v, 0.75) FILTER (WHERE NOT failed) AS q3,
           quantile_cont(v, 0.95) FILTER (WHERE NOT failed) AS p95_all,
           quantile_cont(v, 0.99) FILTER (WHERE NOT failed) AS p99_all,
           max(batch) AS batch_size
    FROM grouped
    GROUP BY g
),
ok AS (
    SELECT g, v, row_number() OVER (PARTITION BY g ORDER BY v) AS rank
    FROM grouped
    WHERE NOT failed
),
outliers AS (
    SELECT ok.g,
           count(*) FILTER (WHERE v < q1 - 3 * (q3 - q1) OR v > q3 + 3 * (q3 - q1)) AS severe,
           count(*) FILTER (WHERE (v < q1 - 1.5 * (q3 - q1) AND v >= q1 - 3 * (q3 - q1))
                               OR (v > q3 + 1.5 * (q3 - q1) AND v <= q3 + 3 * (q3 - q1))) AS mild
    FROM ok JOIN summary USING (g)
    GROUP BY ok.g
),
levels AS (
    SELECT g, n, q
    FROM summary, (VALUES (0.5, 1), (0.95, 20), (0.99, 100)) AS l(q, min_n)
    WHERE n >= min_n
),
binomial AS (
    SELECT g, q, k,
           sum(exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
                   + k * ln(q) + (n - k) * ln(1 - q)))
               OVER (PARTITION BY g, q ORDER BY k) AS cdf
    FROM levels, range(0, n) AS r(k)
),
ranks AS (
    SELECT g, q,
           1 + max(k) FILTER (WHERE cdf <= 0.025) AS lo_rank,
           1 + min(k) FILTER (WHERE cdf >= 0.975) AS hi_rank
    FROM binomial
    GROUP BY g, q
),
intervals AS (
    SELECT ranks.g, ranks.q, lo.v AS lo, hi.v AS hi
    FROM ranks
    LEFT JOIN ok AS lo ON lo.g = ranks.g AND lo.rank = ranks.lo_rank
    LEFT JOIN ok AS hi ON hi.g = ranks.g AND hi.rank = ranks.hi_rank
)
SELECT s.suite, s.scenario, s.variant, s.phase, s.n, s.errors,
       s.mean_ns, s.std_ns, s.min_ns, s.max_ns,
       s.p50_ns, c50.lo AS p50_lo, c50.hi AS p50_hi,
       CASE WHEN s.n >= 20 THEN s.p95_all END AS p95_ns, c95.lo AS p95_lo, c95.hi AS p95_hi,
       CASE WHEN s.n >= 100 THEN s.p99_all END AS p99_ns, c99.lo AS p99_lo, c99.hi AS p99_hi,
       coalesce(o.mild, 0) AS outliers_mild, coalesce(o.severe, 0) AS outliers_severe,
       s.batch_size
FROM summary AS s
LEFT JOIN outliers AS o USING (g)
LEFT JOIN intervals AS c50 ON c50.g = s.g AND c50.q = 0.5
LEFT JOIN intervals AS c95 ON c95.g = s.g AND c95.q = 0.95
LEFT JOIN intervals AS c99 ON c99.g = s.g AND c99.q = 0.99
ORDER BY s.suite, s.scenario, TRY_CAST(s.variant AS BIGINT) NULLS FIRST, s.variant, s.phase
