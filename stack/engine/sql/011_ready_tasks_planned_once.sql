-- get_next_ready_tasks plans each limit bucket once per session, as 010 meant to.
--
-- 010's CREATE OR REPLACE dropped 008's SET clause. Its bucket statements end in LIMIT p_limit,
-- a parameter, so the plan cache gave each of them five custom plans before keeping a generic
-- one, and each custom plan took 4-10 ms to make at 100k tasks (EXPLAIN: planning 3.7-10.6 ms,
-- execution 0.2-2 ms). The sql_functions suite cycles through limits 1, 5, 10, 25 and 50, so
-- four of each limit's ten measured calls paid for planning. The generic plan is the one that
-- matters: each bucket's limit is a constant, so it walks tasks_incomplete_idx and stops early.

ALTER FUNCTION tasker.get_next_ready_tasks(integer) SET plan_cache_mode = force_generic_plan;
