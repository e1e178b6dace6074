-- name: calibration
-- What the same benchmarks did before on the same host: per (suite, scenario, phase) of the
-- `history` view (scenario spelled `scenario+size` where a dataset size is part of it), the
-- medians (p50_ns) of its up to $window newest runs on host $host that started before $before
-- (the judged run's start; NULL: any time), other than run $run_id, as a list, newest first.
-- Parameters: $host, $run_id, $before, $window.
WITH recent AS (
    SELECT suite, scenario, phase, run_id, started_at, p50_ns,
           row_number() OVER (PARTITION BY suite, scenario, phase
                              ORDER BY started_at DESC, run_id DESC) AS age
    FROM history
    WHERE host = $host AND run_id <> $run_id AND p50_ns > 0
      AND ($before IS NULL OR started_at < $before)
)
SELECT suite, scenario, phase, list(p50_ns ORDER BY age) AS medians_ns
FROM recent
WHERE age <= $window
GROUP BY suite, scenario, phase
ORDER BY suite, scenario, phase
