-- name: derive_workflows
-- The workflows derived spans attach to: each driver span of the run for one task the
-- deployment ran from its API, naming that task (task_uuid) — e2e_latency's e2e.workflow roots
-- and worker_execution's worker.task roots —, with its trace and span ids, its attributes (the
-- run's bench.* values are copied from them) and the driver's api.create_task child, if any,
-- with its bounds in ns. Derived spans themselves are never roots. Parameters: $run_id.
SELECT r.TraceId AS trace_id,
       r.SpanId AS span_id,
       r.SpanAttributes[attr().task_uuid] AS task_uuid,
       r.SpanAttributes[attr().correlation_id] AS correlation_id,
       r.SpanAttributes AS attributes,
       r.SpanAttributeTypes AS attribute_types,
       epoch_ns(r.Timestamp) AS root_start_ns,
       epoch_ns(r.Timestamp) + r.Duration AS root_end_ns,
       any_value(p.SpanId) AS post_span_id,
       any_value(epoch_ns(p.Timestamp)) AS post_start_ns,
       any_value(epoch_ns(p.Timestamp) + p.Duration) AS post_end_ns
FROM spans r
LEFT JOIN spans p
    ON p.RunId = r.RunId AND p.TraceId = r.TraceId AND p.ParentSpanId = r.SpanId
   AND p.SpanName = phase().api_create_task
WHERE r.RunId = $run_id
  AND r.SpanName IN (phase().e2e_workflow, phase().worker_task)
  AND r.SpanAttributes[attr().task_uuid] IS NOT NULL
  AND coalesce(r.SpanAttributes[attr().source], '') <> source().derived
GROUP BY ALL
ORDER BY r.TraceId
