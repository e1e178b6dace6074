-- name: e2e_completeness
-- Per scenario, how many measured workflow traces hold every span their template implies
-- (complete) and how many do not (incomplete, left out of the breakdown), and per phase how many
-- workflows were short of it ('template' when the scenario has no template in
-- e2e_template_steps). Stack-traced, non-warm-up workflows only; needs e2e_workflows.sql run
-- first. Parameters: $run_id.
WITH workflows AS (SELECT Scenario, missing, complete FROM e2e_status($run_id)),
shortfalls AS (
    SELECT Scenario, unnest(missing) AS phase FROM workflows
)
SELECT w.Scenario AS scenario,
       count(*) FILTER (WHERE complete) AS complete,
       count(*) FILTER (WHERE NOT complete) AS incomplete,
       coalesce((SELECT map(list(phase ORDER BY phase), list(n ORDER BY phase))
                 FROM (SELECT phase, count(*) AS n FROM shortfalls s
                       WHERE s.Scenario = w.Scenario GROUP BY phase)),
                MAP {}) AS missing
FROM workflows w
GROUP BY w.Scenario
ORDER BY scenario
