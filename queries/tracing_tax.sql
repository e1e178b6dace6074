-- name: tracing_tax
-- Per e2e_latency scenario of one run: the durations (ns) of the measured e2e.workflow roots the
-- stack traced and of those it was told not to trace (bench.stack_traced true / false), for the
-- tracing tax (extract.analyse.tracing_tax). Warm-up and failed workflows excluded; roots
-- without bench.stack_traced are neither.
-- Parameters: $run_id.
SELECT Scenario AS scenario,
       list(Duration ORDER BY Timestamp) FILTER (WHERE bench_stack_traced(SpanAttributes))
           AS traced_ns,
       list(Duration ORDER BY Timestamp) FILTER (WHERE bench_tax_control(SpanAttributes))
           AS untraced_ns
FROM spans
WHERE RunId = $run_id AND Suite = suite().e2e_latency AND SpanName = phase().e2e_workflow
  AND NOT coalesce(Warmup, false) AND StatusCode IS DISTINCT FROM 'Error'
GROUP BY Scenario
ORDER BY Scenario
