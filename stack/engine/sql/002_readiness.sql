-- Readiness functions, with tasker-core's names and meanings.

-- Retry back-off when a step gave none: 100 ms doubled per attempt, at most 30 s.
CREATE OR REPLACE FUNCTION tasker.step_backoff(attempts integer, requested_seconds integer)
RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN requested_seconds IS NOT NULL THEN make_interval(secs => requested_seconds)
        ELSE make_interval(secs => least(30.0, 0.1 * power(2, greatest(attempts - 1, 0))))
    END
$$;

-- Readiness of the steps of one task (all of them when step_uuids is NULL).
CREATE OR REPLACE FUNCTION tasker.get_step_readiness_status(
    input_task_uuid uuid,
    step_uuids uuid[] DEFAULT NULL
) RETURNS TABLE (
    workflow_step_uuid uuid,
    task_uuid uuid,
    named_step_uuid uuid,
    name text,
    current_state text,
    dependencies_satisfied boolean,
    retry_eligible boolean,
    ready_for_execution boolean,
    last_failure_at timestamptz,
    next_retry_at timestamptz,
    total_parents integer,
    completed_parents integer,
    attempts integer,
    max_attempts integer,
    backoff_request_seconds integer,
    last_attempted_at timestamptz
) LANGUAGE sql STABLE AS $$
    WITH steps AS (
        SELECT ws.workflow_step_uuid, ws.task_uuid, ws.named_step_uuid, ns.name::text AS name,
               COALESCE(cur.to_state, 'pending')::text AS current_state,
               ws.attempts, ws.max_attempts, ws.retryable, ws.backoff_request_seconds,
               ws.last_attempted_at
        FROM tasker.workflow_steps ws
        JOIN tasker.named_steps ns ON ns.named_step_uuid = ws.named_step_uuid
        LEFT JOIN tasker.workflow_step_transitions cur
               ON cur.workflow_step_uuid = ws.workflow_step_uuid AND cur.most_recent
        WHERE ws.task_uuid = input_task_uuid
          AND (step_uuids IS NULL OR ws.workflow_step_uuid = ANY (step_uuids))
    ),
    parents AS (
        SELECT e.to_step_uuid,
               count(*)::integer AS total,
               (count(*) FILTER (WHERE pst.to_state IN ('complete', 'resolved_manually')))::integer
                   AS completed
        FROM tasker.workflow_step_edges e
        LEFT JOIN tasker.workflow_step_transitions pst
               ON pst.workflow_step_uuid = e.from_step_uuid AND pst.most_recent
        WHERE e.to_step_uuid IN (SELECT s.workflow_step_uuid FROM steps s)
        GROUP BY e.to_step_uuid
    ),
    failures AS (
        SELECT t.workflow_step_uuid, max(t.created_at) AS last_failure_at
        FROM tasker.workflow_step_transitions t
        WHERE t.workflow_step_uuid IN (SELECT s.workflow_step_uuid FROM steps s)
          AND t.to_state = 'error'
        GROUP BY t.workflow_step_uuid
    ),
    evaluated AS (
        SELECT s.*,
               COALESCE(p.total, 0) AS total_parents,
               COALESCE(p.completed, 0) AS completed_parents,
               f.last_failure_at,
               CASE WHEN s.current_state = 'waiting_for_retry'
                    THEN s.last_attempted_at + tasker.step_backoff(s.attempts, s.backoff_request_seconds)
               END AS next_retry_at,
               (s.attempts < s.max_attempts AND (s.retryable OR s.attempts = 0)) AS retry_eligible
        FROM steps s
        LEFT JOIN parents p ON p.to_step_uuid = s.workflow_step_uuid
        LEFT JOIN failures f ON f.workflow_step_uuid = s.workflow_step_uuid
    )
    SELECT e.workflow_step_uuid, e.task_uuid, e.named_step_uuid, e.name, e.current_state,
           e.total_parents = e.completed_parents AS dependencies_satisfied,
           e.retry_eligible,
           (e.current_state IN ('pending', 'waiting_for_retry')
            AND e.total_parents = e.completed_parents
            AND e.retry_eligible
            AND (e.next_retry_at IS NULL OR e.next_retry_at <= now())
           ) AS ready_for_execution,
           e.last_failure_at, e.next_retry_at, e.total_parents, e.completed_parents,
           e.attempts, e.max_attempts, e.backoff_request_seconds, e.last_attempted_at
    FROM evaluated e
    ORDER BY e.workflow_step_uuid
$$;

-- Aggregate state of one task and what the orchestration should do next.
CREATE OR REPLACE FUNCTION tasker.get_task_execution_context(input_task_uuid uuid)
RETURNS TABLE (
    task_uuid uuid,
    named_task_uuid uuid,
    status text,
    total_steps integer,
    pending_steps integer,
    in_progress_steps integer,
    completed_steps integer,
    failed_steps integer,
    ready_steps integer,
    execution_status text,
    recommended_action text,
    completion_percentage numeric,
    health_status text
) LANGUAGE sql STABLE AS $$
    WITH readiness AS (
        SELECT * FROM tasker.get_step_readiness_status(input_task_uuid, NULL)
    ),
    counts AS (
        SELECT count(*)::integer AS total_steps,
               (count(*) FILTER (WHERE current_state IN ('pending', 'waiting_for_retry')))::integer
                   AS pending_steps,
               (count(*) FILTER (WHERE current_state IN
                   ('enqueued', 'in_progress', 'enqueued_for_orchestration')))::integer
                   AS in_progress_steps,
               (count(*) FILTER (WHERE current_state IN ('complete', 'resolved_manually')))::integer
                   AS completed_steps,
               (count(*) FILTER (WHERE current_state = 'error'))::integer AS failed_steps,
               (count(*) FILTER (WHERE ready_for_execution))::integer AS ready_steps,
               (count(*) FILTER (WHERE current_state = 'error' AND NOT retry_eligible))::integer
                   AS blocked_steps,
               (count(*) FILTER (WHERE current_state = 'waiting_for_retry'))::integer
                   AS retrying_steps
        FROM readiness
    ),
    decided AS (
        SELECT t.task_uuid, t.named_task_uuid,
               COALESCE(tt.to_state, 'pending')::text AS status,
               c.*,
               CASE
                   WHEN c.ready_steps > 0 THEN 'has_ready_steps'
                   WHEN c.in_progress_steps > 0 THEN 'processing'
                   WHEN c.failed_steps > 0 THEN 'blocked_by_failures'
                   WHEN c.completed_steps = c.total_steps THEN 'all_complete'
                   ELSE 'waiting_for_dependencies'
               END AS execution_status
        FROM tasker.tasks t
        CROSS JOIN counts c
        LEFT JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
        WHERE t.task_uuid = input_task_uuid
    )
    SELECT d.task_uuid, d.named_task_uuid, d.status, d.total_steps, d.pending_steps,
           d.in_progress_steps, d.completed_steps, d.failed_steps, d.ready_steps,
           d.execution_status,
           CASE d.execution_status
               WHEN 'has_ready_steps' THEN 'execute_ready_steps'
               WHEN 'processing' THEN 'wait_for_completion'
               WHEN 'blocked_by_failures' THEN 'handle_failures'
               WHEN 'all_complete' THEN 'finalize_task'
               ELSE 'wait_for_dependencies'
           END AS recommended_action,
           CASE WHEN d.total_steps = 0 THEN 0.0
                ELSE round(100.0 * d.completed_steps / d.total_steps, 2)
           END AS completion_percentage,
           CASE
               WHEN d.failed_steps > 0 THEN 'blocked'
               WHEN d.retrying_steps > 0 THEN 'recovering'
               ELSE 'healthy'
           END AS health_status
    FROM decided d
$$;

-- Tasks that have at least one step ready to run, highest computed priority first.
-- computed_priority adds one point per minute of waiting, at most ten, so old tasks are not starved.
CREATE OR REPLACE FUNCTION tasker.get_next_ready_tasks(p_limit integer DEFAULT 5)
RETURNS TABLE (
    task_uuid uuid,
    task_name text,
    priority integer,
    namespace_name text,
    ready_steps_count integer,
    computed_priority numeric,
    current_state text
) LANGUAGE sql STABLE AS $$
    SELECT t.task_uuid, nt.name::text, t.priority, tn.name::text,
           ready.n::integer,
           t.priority + least(10, extract(epoch FROM now() - t.created_at) / 60.0)::numeric,
           tt.to_state::text
    FROM tasker.tasks t
    JOIN tasker.task_transitions tt
      ON tt.task_uuid = t.task_uuid AND tt.most_recent
     AND tt.to_state IN ('pending', 'initializing', 'enqueuing_steps', 'steps_in_process',
                         'evaluating_results', 'waiting_for_dependencies', 'waiting_for_retry')
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    JOIN tasker.task_namespaces tn ON tn.task_namespace_uuid = nt.task_namespace_uuid
    CROSS JOIN LATERAL (
        SELECT count(*) AS n
        FROM tasker.workflow_steps ws
        JOIN tasker.workflow_step_transitions st
          ON st.workflow_step_uuid = ws.workflow_step_uuid AND st.most_recent
         AND st.to_state IN ('pending', 'waiting_for_retry')
        WHERE ws.task_uuid = t.task_uuid
          AND ws.attempts < ws.max_attempts
          AND (ws.retryable OR ws.attempts = 0)
          AND NOT EXISTS (
              SELECT 1
              FROM tasker.workflow_step_edges e
              JOIN tasker.workflow_step_transitions pst
                ON pst.workflow_step_uuid = e.from_step_uuid AND pst.most_recent
              WHERE e.to_step_uuid = ws.workflow_step_uuid
                AND pst.to_state NOT IN ('complete', 'resolved_manually'))
          AND (st.to_state = 'pending' OR ws.last_attempted_at IS NULL
               OR ws.last_attempted_at + tasker.step_backoff(ws.attempts, ws.backoff_request_seconds)
                  <= now())
    ) ready
    WHERE NOT t.complete AND ready.n > 0
    ORDER BY 6 DESC, t.created_at
    LIMIT p_limit
$$;

-- Every ancestor of a step, with its distance (1 = direct parent).
CREATE OR REPLACE FUNCTION tasker.get_step_transitive_dependencies(target_step_uuid uuid)
RETURNS TABLE (
    workflow_step_uuid uuid,
    task_uuid uuid,
    named_step_uuid uuid,
    step_name text,
    results jsonb,
    processed boolean,
    distance integer
) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors AS (
        SELECT e.from_step_uuid AS step_uuid, 1 AS distance
        FROM tasker.workflow_step_edges e
        WHERE e.to_step_uuid = target_step_uuid
        UNION
        SELECT e.from_step_uuid, a.distance + 1
        FROM ancestors a
        JOIN tasker.workflow_step_edges e ON e.to_step_uuid = a.step_uuid
    ),
    nearest AS (
        SELECT step_uuid, min(distance) AS distance FROM ancestors GROUP BY step_uuid
    )
    SELECT ws.workflow_step_uuid, ws.task_uuid, ws.named_step_uuid, ns.name::text,
           ws.results, ws.processed, n.distance
    FROM nearest n
    JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = n.step_uuid
    JOIN tasker.named_steps ns ON ns.named_step_uuid = ws.named_step_uuid
    ORDER BY n.distance, ns.name
$$;

-- Depth of every step of a task: roots are level 0, a step is one deeper than its deepest parent.
CREATE OR REPLACE FUNCTION tasker.calculate_dependency_levels(input_task_uuid uuid)
RETURNS TABLE (workflow_step_uuid uuid, dependency_level integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE levels AS (
        SELECT ws.workflow_step_uuid AS step_uuid, 0 AS level
        FROM tasker.workflow_steps ws
        WHERE ws.task_uuid = input_task_uuid
          AND NOT EXISTS (SELECT 1 FROM tasker.workflow_step_edges e
                          WHERE e.to_step_uuid = ws.workflow_step_uuid)
        UNION ALL
        SELECT e.to_step_uuid, l.level + 1
        FROM levels l
        JOIN tasker.workflow_step_edges e ON e.from_step_uuid = l.step_uuid
    )
    SELECT step_uuid, max(level)::integer FROM levels GROUP BY step_uuid ORDER BY 2, 1
$$;
