-- Task identity as tasker-core enforces it (its migrations 20260110000002 and 20260120000001):
-- each named task has an identity strategy, and no two tasks share an identity_hash, so a
-- repeated request under the strict strategy (same template, same context) is refused with 409.
-- The hash itself is computed by the orchestration (stack.engine.orchestration.identity).

CREATE TYPE tasker.identity_strategy AS ENUM ('strict', 'caller_provided', 'always_unique');

ALTER TABLE tasker.named_tasks
    ADD COLUMN identity_strategy tasker.identity_strategy NOT NULL DEFAULT 'strict';

-- Before this version the hash included the correlation id, and repeated idempotency keys or
-- dataset rows could share one: such tasks get a hash of their own, so the index can be built.
UPDATE tasker.tasks
SET identity_hash = 'pre-006-' || task_uuid::text
WHERE identity_hash IN (
    SELECT identity_hash FROM tasker.tasks GROUP BY identity_hash HAVING count(*) > 1
);

CREATE UNIQUE INDEX idx_tasks_identity_hash ON tasker.tasks (identity_hash);
