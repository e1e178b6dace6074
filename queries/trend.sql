-- name: trend
-- Each benchmark's (suite, scenario, phase) median and p95 per run, oldest first, from the
-- `history` view (read_parquet('<runs_dir>/_history/*.parquet')), and where a change began.
-- A run is judged against the runs before it on the same host (an unknown host is one host):
-- reference_ns: the median of the medians of the (up to) 5 runs before this one; spread: the
-- robust relative spread ($mad_to_sigma × median absolute deviation / median) of the medians of
-- the (up to) 20 runs before it, when there are at least $min_values of them (spread_runs);
-- threshold: the greater of the suite's noise floor and $spread_multiple × spread.
-- change: this run's median / reference - 1; a run is off (direction +1 or -1) when |change| >
-- threshold. change_began: this run is off, the run before it is not off in the same direction,
-- and the run after it is off in the same direction. A lone off run that the next run does not
-- confirm is noise; the newest run cannot be confirmed yet (its direction says whether it is
-- off). Parameters: $suite, $scenario (NULL = all; a scenario also matches its load levels,
-- 'name@c8', and dataset sizes, 'name+1000': macro bench_scenario_base), $thresholds
-- (MAP(VARCHAR, DOUBLE) suite -> floor, or text '{sql_functions=0.15}'), $default_threshold
-- (floor of the other suites), $spread_multiple, $mad_to_sigma, $min_values.
WITH selected AS (
    SELECT run_id, started_at, git_commit, coalesce(host, '') AS host_key, suite, scenario,
           phase, n, p50_ns AS median_ns, p95_ns,
           coalesce(($thresholds::MAP(VARCHAR, DOUBLE))[suite],
                    $default_threshold::DOUBLE) AS floor
    FROM history
    WHERE ($suite IS NULL OR suite = $suite)
      AND ($scenario IS NULL OR scenario = $scenario
           OR bench_scenario_base(scenario) = $scenario)
      AND p50_ns IS NOT NULL
),
referenced AS (
    SELECT *,
           median(median_ns) OVER (same_host ROWS BETWEEN 5 PRECEDING AND 1 PRECEDING)
               AS reference_ns,
           median(median_ns) OVER before AS spread_centre_ns,
           mad(median_ns) OVER before AS spread_mad_ns,
           count(median_ns) OVER before AS spread_runs
    FROM selected
    WINDOW same_host AS (PARTITION BY suite, scenario, phase, host_key
                         ORDER BY started_at, run_id),
           before AS (same_host ROWS BETWEEN 20 PRECEDING AND 1 PRECEDING)
),
calibrated AS (
    SELECT *,
           CASE WHEN spread_runs >= $min_values AND spread_centre_ns > 0
                THEN $mad_to_sigma * spread_mad_ns / spread_centre_ns END AS spread,
           CASE WHEN reference_ns > 0 THEN median_ns / reference_ns - 1 END AS change
    FROM referenced
),
barred AS (
    SELECT *, greatest(floor, coalesce($spread_multiple * spread, 0)) AS threshold
    FROM calibrated
),
directed AS (
    SELECT *, CASE WHEN change > threshold THEN 1 WHEN change < -threshold THEN -1 ELSE 0 END
                  AS direction
    FROM barred
)
SELECT suite, scenario, phase, run_id, started_at, git_commit, n, median_ns, p95_ns,
       reference_ns, change, threshold, floor, spread, spread_runs, direction,
       coalesce(direction <> 0
                AND lag(direction, 1, 0) OVER run_order <> direction
                AND lead(direction) OVER run_order = direction, false) AS change_began
FROM directed
WINDOW run_order AS (PARTITION BY suite, scenario, phase, host_key ORDER BY started_at, run_id)
ORDER BY suite, scenario, phase, started_at, run_id
