-- tasker schema: the tables of tasker-core's data model that the reference stack needs.
-- Current state lives in the transition tables (the row with most_recent = true), as in tasker-core.
-- Transitions are stamped with clock_timestamp(): when they happened, not when their transaction began.

CREATE SCHEMA IF NOT EXISTS tasker;

-- UUID v7: 48-bit Unix milliseconds, then random bits; version nibble 0111, RFC 4122 variant.
-- Built from gen_random_uuid() (v4) by overlaying the timestamp and flipping two version bits.
CREATE OR REPLACE FUNCTION tasker.uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

CREATE TABLE tasker.task_namespaces (
    task_namespace_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    name varchar(64) NOT NULL UNIQUE,
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasker.named_tasks (
    named_task_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    task_namespace_uuid uuid NOT NULL REFERENCES tasker.task_namespaces,
    name varchar(64) NOT NULL,
    version varchar(16) NOT NULL DEFAULT '0.1.0',
    description text,
    configuration jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_namespace_uuid, name, version)
);

CREATE TABLE tasker.named_steps (
    named_step_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    name varchar(128) NOT NULL UNIQUE,
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasker.tasks (
    task_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    named_task_uuid uuid NOT NULL REFERENCES tasker.named_tasks,
    complete boolean NOT NULL DEFAULT false,
    requested_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    initiator varchar(128),
    source_system varchar(128),
    reason varchar(128),
    tags jsonb,
    context jsonb,
    identity_hash varchar(128) NOT NULL,
    priority integer NOT NULL DEFAULT 0,
    correlation_id uuid NOT NULL,
    parent_correlation_id uuid,
    -- W3C trace context of the task's creation (not in tasker-core): lets retries that the
    -- readiness sweep enqueues later join the workflow's trace.
    trace_context jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_incomplete_idx ON tasker.tasks (priority DESC, created_at) WHERE NOT complete;
CREATE INDEX tasks_correlation_idx ON tasker.tasks (correlation_id);
CREATE INDEX tasks_named_task_idx ON tasker.tasks (named_task_uuid);

CREATE TABLE tasker.workflow_steps (
    workflow_step_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    task_uuid uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    named_step_uuid uuid NOT NULL REFERENCES tasker.named_steps,
    retryable boolean NOT NULL DEFAULT true,
    max_attempts integer NOT NULL DEFAULT 3,
    in_process boolean NOT NULL DEFAULT false,
    processed boolean NOT NULL DEFAULT false,
    processed_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_attempted_at timestamptz,
    backoff_request_seconds integer,
    inputs jsonb,
    results jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_uuid, named_step_uuid)
);

CREATE TABLE tasker.workflow_step_edges (
    workflow_step_edge_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    from_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    to_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    name varchar(64) NOT NULL DEFAULT 'provides',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (from_step_uuid, to_step_uuid),
    CHECK (from_step_uuid <> to_step_uuid)
);
CREATE INDEX workflow_step_edges_to_idx ON tasker.workflow_step_edges (to_step_uuid);

CREATE TABLE tasker.workflow_step_transitions (
    workflow_step_transition_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    workflow_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    from_state varchar(64),
    to_state varchar(64) NOT NULL CHECK (to_state IN (
        'pending', 'enqueued', 'in_progress', 'enqueued_for_orchestration',
        'complete', 'error', 'waiting_for_retry', 'cancelled', 'resolved_manually')),
    metadata jsonb NOT NULL DEFAULT '{}',
    sort_key integer NOT NULL,
    most_recent boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_step_uuid, sort_key)
);
CREATE UNIQUE INDEX workflow_step_transitions_current_idx
    ON tasker.workflow_step_transitions (workflow_step_uuid) INCLUDE (to_state) WHERE most_recent;

CREATE TABLE tasker.task_transitions (
    task_transition_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
    task_uuid uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    from_state varchar(64),
    to_state varchar(64) NOT NULL CHECK (to_state IN (
        'pending', 'initializing', 'enqueuing_steps', 'steps_in_process', 'evaluating_results',
        'waiting_for_dependencies', 'waiting_for_retry', 'blocked_by_failures',
        'complete', 'error', 'cancelled', 'resolved_manually')),
    processor_uuid uuid,
    metadata jsonb NOT NULL DEFAULT '{}',
    sort_key integer NOT NULL,
    most_recent boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_uuid, sort_key)
);
CREATE UNIQUE INDEX task_transitions_current_idx
    ON tasker.task_transitions (task_uuid) INCLUDE (to_state) WHERE most_recent;
