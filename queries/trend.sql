-- name: trend
-- Each benchmark's (suite, scenario, phase) median and p95 per run, oldest first, from the
-- `history` view (read_parquet('<runs_dir>/_history/*.parquet')), and where a change began.
-- reference_ns: the median of the medians of the (up to) 5 runs before this one; change: this
-- run's median / reference - 1; a run is off (direction +1 or -1) when |change| > the suite's
-- noise threshold. change_began: this run is off, the run before it is not off in the same
-- direction, and the run after it is off in the same direction. A lone off run that the next
-- run does not confirm is noise; the newest run cannot be confirmed yet (its direction says
-- whether it is off). Parameters: $suite, $scenario (NULL = all; a scenario also matches its
-- load levels, 'name@c8', and dataset sizes, 'name+1000': macro bench_scenario_base), $thresholds (MAP(VARCHAR, DOUBLE) suite -> fraction, or text
-- '{sql_functions=0.15}'), $default_threshold (fraction for the other suites).
WITH selected AS (
    SELECT run_id, started_at, git_commit, suite, scenario, phase, n,
           p50_ns AS median_ns, p95_ns,
           coalesce(($thresholds::MAP(VARCHAR, DOUBLE))[suite],
                    $default_threshold::DOUBLE) AS threshold
    FROM history
    WHERE ($suite IS NULL OR suite = $suite)
      AND ($scenario IS NULL OR scenario = $scenario
           OR bench_scenario_base(scenario) = $scenario)
      AND p50_ns IS NOT NULL
),
referenced AS (
    SELECT *, median(median_ns) OVER (
                  PARTITION BY suite, scenario, phase ORDER BY started_at, run_id
                  ROWS BETWEEN 5 PRECEDING AND 1 PRECEDING) AS reference_ns
    FROM selected
),
moved AS (
    SELECT *, CASE WHEN reference_ns > 0 THEN median_ns / reference_ns - 1 END AS change
    FROM referenced
),
directed AS (
    SELECT *, CASE WHEN change > threshold THEN 1 WHEN change < -threshold THEN -1 ELSE 0 END
                  AS direction
    FROM moved
)
SELECT suite, scenario, phase, run_id, started_at, git_commit, n, median_ns, p95_ns,
       reference_ns, change, threshold, direction,
       coalesce(direction <> 0
                AND lag(direction, 1, 0) OVER run_order <> direction
                AND lead(direction) OVER run_order = direction, false) AS change_began
FROM directed
WINDOW run_order AS (PARTITION BY suite, scenario, phase ORDER BY started_at, run_id)
ORDER BY suite, scenario, phase, started_at, run_id
