-- name: baseline_compare
-- Baseline against current on the raw samples, per suite, scenario, variant and phase present
-- in both: the two medians (ns per call), the change of the median, and the Mann–Whitney U statistic's z
-- (average ranks for ties, tie-corrected variance, continuity correction of 0.5) — the caller
-- turns |z| into a two-sided p-value (erfc(|z| / sqrt 2)). z is NULL when every value ties.
-- Reads tables/views baseline_samples and current_samples (suite, scenario, variant, phase,
-- duration_ns), as written by baseline_samples. No parameters.
WITH pooled AS (
    SELECT suite, scenario, variant, phase, true AS base, duration_ns FROM baseline_samples
    UNION ALL
    SELECT suite, scenario, variant, phase, false AS base, duration_ns FROM current_samples
),
keyed AS (
    SELECT *, dense_rank() OVER (ORDER BY suite, scenario, variant, phase) AS g FROM pooled
),
ranked AS (
    SELECT g, base, duration_ns,
           rank() OVER (PARTITION BY g ORDER BY duration_ns)
               + (count(*) OVER (PARTITION BY g, duration_ns) - 1) / 2 AS r,
           count(*) OVER (PARTITION BY g, duration_ns) AS t
    FROM keyed
),
tests AS (
    SELECT g,
           count(*) FILTER (WHERE base) AS n1,
           count(*) FILTER (WHERE NOT base) AS n2,
           sum(r) FILTER (WHERE base) AS r1,
           sum(t * t - 1) AS ties
    FROM ranked
    GROUP BY g
),
medians AS (
    SELECT g, any_value(suite) AS suite, any_value(scenario) AS scenario,
           any_value(variant) AS variant, any_value(phase) AS phase,
           quantile_cont(duration_ns, 0.5) FILTER (WHERE base) AS baseline_ns,
           quantile_cont(duration_ns, 0.5) FILTER (WHERE NOT base) AS current_ns
    FROM keyed
    GROUP BY g
),
statistic AS (
    SELECT g, n1, n2, r1 - n1 * (n1 + 1) / 2 AS u,
           n1 * n2 / 12.0 * ((n1 + n2 + 1) - ties / ((n1 + n2) * (n1 + n2 - 1.0))) AS variance
    FROM tests
    WHERE n1 > 0 AND n2 > 0
)
SELECT m.suite, m.scenario, m.variant, m.phase,
       m.baseline_ns AS baseline_median_ns, m.current_ns AS current_median_ns,
       (m.current_ns - m.baseline_ns) / m.baseline_ns AS change,
       CASE WHEN s.variance > 0
            THEN greatest(abs(s.u - s.n1 * s.n2 / 2.0) - 0.5, 0) / sqrt(s.variance) END AS z,
       s.n1 AS n_baseline, s.n2 AS n_current
FROM statistic AS s JOIN medians AS m USING (g)
ORDER BY m.suite, m.scenario, TRY_CAST(m.variant AS BIGINT) NULLS FIRST, m.variant, m.phase
