-- name: derive_workflows
-- The workflows derived spans attach to: each e2e.workflow root of the run that names its task
-- (task_uuid), with its trace and span ids, its attributes (the run's bench.* values are copied
-- from them) and the driver's api.create_task child, if any, with its bounds in ns. Derived
-- spans themselves are never roots. Parameters: $run_id.
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
  AND r.SpanName = phase().e2e_workflow
  AND r.SpanAttributes[attr().task_uuid] IS NOT NULL
  AND coalesce(r.SpanAttributes[attr().source], '') <> source().derived
GROUP BY ALL
ORDER BY r.TraceId
