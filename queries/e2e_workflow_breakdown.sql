-- name: e2e_workflow_breakdown
-- Each complete workflow's wall time by phase ('wait' where only the root is open), in integer
-- ns; per trace the rows sum exactly to the e2e.workflow span's Duration. The rule is in
-- e2e_breakdown.sql; needs e2e_workflows.sql run first. Parameters: $run_id.
SELECT trace_id, scenario, phase, attributed_ns
FROM e2e_attribution($run_id)
ORDER BY scenario, trace_id, phase
