-- name: e2e_lifecycle
-- Per scenario, what one workflow step costs as seen in its traces (complete, stack-traced,
-- non-warm-up workflows; totals over the scenario divided by its template steps):
-- spans per step (every span reachable from the root, root included); messages per step (PGMQ
-- sends: spans with messaging.operation.type = 'send', i.e. publish and submit); DB operations
-- per step from statement-level DB spans (db.system.name set on a span that is not one of the
-- lifecycle's phase spans, macro lifecycle_phases) — NULL when the traces have none, as the
-- reference stack's do: its claim, submit and initialize phases run several statements inside
-- one span; state transitions per step from the tasker.transitions count each stack phase
-- stamps (NULL when no span carries one).
-- Set beside tasker-core's published ~19 DB operations and 2 MQ round trips per step.
-- 'send' is OpenTelemetry's value of messaging.operation.type, not a spanbench name.
-- Needs e2e_workflows.sql run first. Parameters: $run_id.
WITH complete AS (
    SELECT t.*, s.Scenario, s.steps
    FROM e2e_walk($run_id) t JOIN e2e_status($run_id) s USING (w)
    WHERE s.complete
),
per_scenario AS (
    SELECT Scenario,
           count(*) AS spans,
           count(*) FILTER (WHERE messaging_operation = 'send') AS messages,
           count(*) FILTER (WHERE db_system IS NOT NULL
                            AND NOT list_contains(lifecycle_phases(), name)) AS db_operations,
           sum(transitions) AS transitions,
           sum(steps) FILTER (WHERE depth = 0) AS steps
    FROM complete
    GROUP BY Scenario
)
SELECT Scenario AS scenario,
       spans / steps AS spans_per_step,
       messages / steps AS messages_per_step,
       CASE WHEN db_operations > 0 THEN db_operations / steps END AS db_operations_per_step,
       19 AS tasker_db_operations_per_step,
       2 AS tasker_mq_round_trips_per_step,
       transitions / steps AS transitions_per_step
FROM per_scenario
ORDER BY scenario
