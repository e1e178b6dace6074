-- name: e2e_breakdown
-- Where an e2e workflow's wall time goes, per scenario: for each phase the median and p95 (from
-- 20 workflows) of its attributed time across workflows, in ns, and its share of the scenario's
-- total wall time (shares sum to 1 per scenario). Needs e2e_workflows.sql run first.
-- Attribution rule (macro e2e_attribution): within each complete, stack-traced, non-warm-up
-- workflow trace, every span reachable from the e2e.workflow root is clipped to the root's
-- [start, end); the boundaries of all clipped spans cut the root into elementary intervals; each
-- interval goes to exactly ONE phase: the deepest span open over it (depth along the parent
-- chain, the most specific work), ties broken by earliest start, then smallest span id — so
-- parallel branches are counted once, never twice; an interval where only the root is open is
-- 'wait'. Integer ns throughout: a workflow's phases sum exactly to its root's Duration.
-- A workflow missing a span its template implies is left out (see e2e_completeness).
-- Phases absent from a workflow count as 0 ns in its scenario's median and p95.
-- Parameters: $run_id.
WITH attributed AS (SELECT * FROM e2e_attribution($run_id)),
workflows AS (SELECT DISTINCT trace_id, scenario FROM attributed),
phases AS (SELECT DISTINCT scenario, phase FROM attributed),
filled AS (
    SELECT w.scenario, p.phase, coalesce(a.attributed_ns, 0) AS ns
    FROM workflows w
    JOIN phases p USING (scenario)
    LEFT JOIN attributed a ON a.trace_id = w.trace_id AND a.phase = p.phase
)
SELECT scenario,
       phase,
       quantile_cont(ns, 0.5) AS median_ns,
       CASE WHEN count(*) >= 20 THEN quantile_cont(ns, 0.95) END AS p95_ns,
       sum(ns) / sum(sum(ns)) OVER (PARTITION BY scenario) AS share,
       count(*) AS n_workflows
FROM filled
GROUP BY scenario, phase
ORDER BY scenario, share DESC, phase
