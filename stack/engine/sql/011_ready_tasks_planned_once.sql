-- get_next_ready_tasks plans each limit bucket once per session, as 010 meant to.
--
-- 010's CREATE OR REPLACE dropped 008's SET clause. Its bucket statements end in LIMIT p_limit,
-- a parameter, so the plan cache gave each of them five custom plans before keeping a generic
-- one, and each custom plan took 4-10 ms to make at 100k tasks (EXPLAIN: planning 3.7-10.6 ms,
-- execution 0.2-2 ms). The sql_functions suite cycles through limits 1, 5, 10, 25 and 50, so
-- four of each limit's ten measured calls paid for planning. The generic plan is the one that
-- matters: each bucket's limit is a constant, so it walks tasks_incomplete_idx and stops early.

CREATE OR REPLACE FUNCTION tasker.get_next_ready_tasks(p_limit integer DEFAULT 5)
RETURNS TABLE (
    task_uuid uuid,
    task_name text,
    priority integer,
    namespace_name text,
    ready_steps_count integer,
    computed_priority numeric,
    current_state text
) LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF p_limit <= 1 THEN
        RETURN QUERY SELECT * FROM tasker.ready_tasks_in_order() LIMIT 1;
    ELSIF p_limit <= 5 THEN
        RETURN QUERY SELECT * FROM (SELECT * FROM tasker.ready_tasks_in_order() LIMIT 5) r
                     LIMIT p_limit;
    ELSIF p_limit <= 10 THEN
        RETURN QUERY SELECT * FROM (SELECT * FROM tasker.ready_tasks_in_order() LIMIT 10) r
                     LIMIT p_limit;
    ELSIF p_limit <= 25 THEN
        RETURN QUERY SELECT * FROM (SELECT * FROM tasker.ready_tasks_in_order() LIMIT 25) r
                     LIMIT p_limit;
    ELSIF p_limit <= 50 THEN
        RETURN QUERY SELECT * FROM (SELECT * FROM tasker.ready_tasks_in_order() LIMIT 50) r
                     LIMIT p_limit;
    ELSE
        RETURN QUERY EXECUTE 'SELECT * FROM tasker.ready_tasks_in_order() LIMIT $1' USING p_limit;
    END IF;
END;
$$;
