-- State transitions and the queue send that wakes its listeners.

-- Move a task from p_from_state to p_to_state if and only if that is its current state.
-- p_from_state NULL means "from whatever state it is in". Returns whether the transition happened.
CREATE OR REPLACE FUNCTION tasker.transition_task_state_atomic(
    p_task_uuid uuid,
    p_from_state text,
    p_to_state text,
    p_processor_uuid uuid DEFAULT NULL,
    p_metadata jsonb DEFAULT '{}'
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    current_row tasker.task_transitions%ROWTYPE;
BEGIN
    SELECT * INTO current_row FROM tasker.task_transitions
    WHERE task_uuid = p_task_uuid AND most_recent
    FOR UPDATE;

    IF NOT FOUND THEN
        IF p_from_state IS NOT NULL THEN
            RETURN false;
        END IF;
        INSERT INTO tasker.task_transitions
            (task_uuid, from_state, to_state, processor_uuid, metadata, sort_key, most_recent)
        VALUES (p_task_uuid, NULL, p_to_state, p_processor_uuid, COALESCE(p_metadata, '{}'), 1, true);
        RETURN true;
    END IF;

    IF p_from_state IS NOT NULL AND current_row.to_state <> p_from_state THEN
        RETURN false;
    END IF;

    UPDATE tasker.task_transitions SET most_recent = false, updated_at = now()
    WHERE task_transition_uuid = current_row.task_transition_uuid;
    INSERT INTO tasker.task_transitions
        (task_uuid, from_state, to_state, processor_uuid, metadata, sort_key, most_recent)
    VALUES (p_task_uuid, current_row.to_state, p_to_state, p_processor_uuid,
            COALESCE(p_metadata, '{}'), current_row.sort_key + 1, true);
    RETURN true;
END;
$$;

-- Move a step to p_to_state if its current state is one of p_from_states.
-- Returns the state it left, or NULL when it was in none of them (nothing changed).
CREATE OR REPLACE FUNCTION tasker.transition_step_state_atomic(
    p_step_uuid uuid,
    p_from_states text[],
    p_to_state text,
    p_metadata jsonb DEFAULT '{}'
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    current_row tasker.workflow_step_transitions%ROWTYPE;
BEGIN
    SELECT * INTO current_row FROM tasker.workflow_step_transitions
    WHERE workflow_step_uuid = p_step_uuid AND most_recent
    FOR UPDATE;

    IF NOT FOUND OR NOT (current_row.to_state = ANY (p_from_states)) THEN
        RETURN NULL;
    END IF;

    UPDATE tasker.workflow_step_transitions SET most_recent = false, updated_at = now()
    WHERE workflow_step_transition_uuid = current_row.workflow_step_transition_uuid;
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent)
    VALUES (p_step_uuid, current_row.to_state, p_to_state, COALESCE(p_metadata, '{}'),
            current_row.sort_key + 1, true);
    RETURN current_row.to_state;
END;
$$;

-- The namespace a queue serves: worker_<namespace>_queue → <namespace>;
-- orchestration queues → 'orchestration'; anything else → the queue name.
CREATE OR REPLACE FUNCTION tasker.queue_namespace(queue_name text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN queue_name ~ '^worker_.+_queue$' THEN substring(queue_name FROM '^worker_(.+)_queue$')
        WHEN queue_name LIKE 'orchestration%' THEN 'orchestration'
        ELSE queue_name
    END
$$;

-- Send a message and, in the same transaction, notify pgmq_message_ready.<namespace> and
-- pgmq_message_ready. The payload carries the message itself when it stays under 7000 bytes
-- (NOTIFY payloads are limited to 8000).
CREATE OR REPLACE FUNCTION tasker.pgmq_send_with_notify(
    queue_name text,
    message jsonb,
    delay_seconds integer DEFAULT 0,
    headers jsonb DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    msg_id bigint;
    namespace text := tasker.queue_namespace(queue_name);
    payload jsonb;
    payload_text text;
BEGIN
    SELECT pgmq.send(queue_name, message, headers, delay_seconds) INTO msg_id;
    payload := jsonb_build_object(
        'event_type', 'message_ready',
        'msg_id', msg_id,
        'queue_name', queue_name,
        'namespace', namespace,
        'ready_at', clock_timestamp() + make_interval(secs => delay_seconds),
        'delay_seconds', delay_seconds);
    IF octet_length(message::text) + octet_length(payload::text) < 7000 THEN
        payload := payload || jsonb_build_object('message', message, 'headers', headers);
    END IF;
    payload_text := payload::text;
    PERFORM pg_notify('pgmq_message_ready.' || namespace, payload_text);
    PERFORM pg_notify('pgmq_message_ready', payload_text);
    RETURN msg_id;
END;
$$;

-- tasker-core's unqualified name, for callers that expect it in the public schema.
CREATE OR REPLACE FUNCTION public.pgmq_send_with_notify(
    queue_name text,
    message jsonb,
    delay_seconds integer DEFAULT 0
) RETURNS bigint LANGUAGE sql AS $$
    SELECT tasker.pgmq_send_with_notify(queue_name, message, delay_seconds, NULL)
$$;

SELECT pgmq.create('orchestration_step_results')
WHERE NOT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 'orchestration_step_results');
