-- The work a worker does the moment it owns a step, as one function both the stack's workers
-- and the worker_execution driver call: count the attempt, and return what the handler needs
-- (its step name, the template's configuration, the task context, the parents' results).

CREATE OR REPLACE FUNCTION tasker.start_step_attempt(p_step_uuid uuid)
RETURNS TABLE (
    step_name text,
    attempts integer,
    context jsonb,
    configuration jsonb,
    dependency_results jsonb
) LANGUAGE sql AS $$
    WITH attempt AS (
        UPDATE tasker.workflow_steps
        SET attempts = attempts + 1, last_attempted_at = now(), in_process = true,
            updated_at = now()
        WHERE workflow_step_uuid = p_step_uuid
        RETURNING workflow_step_uuid, task_uuid, named_step_uuid, attempts
    )
    SELECT ns.name::text, a.attempts, t.context, nt.configuration,
           (SELECT COALESCE(jsonb_object_agg(pns.name, pws.results -> 'result'), '{}'::jsonb)
            FROM tasker.workflow_step_edges e
            JOIN tasker.workflow_steps pws ON pws.workflow_step_uuid = e.from_step_uuid
            JOIN tasker.named_steps pns ON pns.named_step_uuid = pws.named_step_uuid
            WHERE e.to_step_uuid = a.workflow_step_uuid)
    FROM attempt a
    JOIN tasker.named_steps ns ON ns.named_step_uuid = a.named_step_uuid
    JOIN tasker.tasks t ON t.task_uuid = a.task_uuid
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
$$;
