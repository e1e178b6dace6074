-- start_step_attempt (005) as PL/pgSQL: same arguments, same rows, same effect.
--
-- A LANGUAGE sql function whose body writes is planned again on every call (0.98 ms p50 of
-- server time per claim here, most of it planning); PL/pgSQL keeps the statement's plan for
-- the life of the session, and a worker's pooled connections live as long as the worker.

CREATE OR REPLACE FUNCTION tasker.start_step_attempt(p_step_uuid uuid)
RETURNS TABLE (
    step_name text,
    attempts integer,
    context jsonb,
    configuration jsonb,
    dependency_results jsonb
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
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
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid;
END;
$$;
