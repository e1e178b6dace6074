-- name: unmapped_spans
-- The deployment's spans of a run that no rule of the phase map knows and that carry no
-- bench.phase of their own, per suite and span name: what a user would add to a phase map
-- (--phase-map FILE) to attribute them. Driver and derived spans are spanbench's own and never
-- listed. Needs the macro bench_phase_known (queries/phase_map_sql.py; open_runs defines it).
-- Parameters: $run_id.
SELECT Suite AS suite, SpanName AS span_name, count(*) AS spans
FROM spans
WHERE RunId = $run_id AND Phase IS NULL
  AND NOT coalesce(SpanAttributes[attr().source] IN (source().driver, source().derived), false)
  AND NOT bench_phase_known(SpanName, SpanAttributes)
GROUP BY Suite, SpanName
ORDER BY spans DESC, suite, span_name
