-- A worker's claim and submit, each as one function: the worker sends one statement per
-- transaction (its own implicit transaction, one round trip with the commit) instead of a
-- pipeline of three to four statements that needed two round trips each.
-- The states, metadata and messages are those the worker's Python wrote before.

-- Take the step (enqueued → in_progress; after a redelivery, read_ct > 1, an in_progress step
-- is taken over) and count the attempt, returning what start_step_attempt returns. A message
-- whose step is in neither state is a duplicate: it is deleted and no row comes back.
CREATE OR REPLACE FUNCTION tasker.claim_step(
    p_step_uuid uuid,
    p_queue text,
    p_msg_id bigint,
    p_read_ct integer,
    p_metadata jsonb
) RETURNS TABLE (
    step_name text,
    attempts integer,
    context jsonb,
    configuration jsonb,
    dependency_results jsonb
) LANGUAGE plpgsql AS $$
DECLARE
    taken boolean;
BEGIN
    taken := tasker.transition_step_state_atomic(
        p_step_uuid, ARRAY['enqueued'], 'in_progress', p_metadata) IS NOT NULL;
    IF NOT taken AND p_read_ct > 1 THEN
        taken := tasker.transition_step_state_atomic(
            p_step_uuid, ARRAY['in_progress'], 'in_progress',
            p_metadata || '{"taken_over": true}'::jsonb) IS NOT NULL;
    END IF;
    IF NOT taken THEN
        PERFORM pgmq.delete(p_queue, p_msg_id);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM tasker.start_step_attempt(p_step_uuid);
END;
$$;

-- Hand the outcome to the orchestration: in_progress → enqueued_for_orchestration, the stored
-- results, the result message (with its NOTIFY) on p_results_queue; then delete the step's
-- message. Returns false (and only deletes) when another worker's submission won.
CREATE OR REPLACE FUNCTION tasker.submit_step_result(
    p_step_uuid uuid,
    p_queue text,
    p_msg_id bigint,
    p_metadata jsonb,
    p_results jsonb,
    p_results_queue text,
    p_result_message jsonb,
    p_headers jsonb
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    moved boolean;
BEGIN
    moved := tasker.transition_step_state_atomic(
        p_step_uuid, ARRAY['in_progress'], 'enqueued_for_orchestration', p_metadata) IS NOT NULL;
    IF moved THEN
        UPDATE tasker.workflow_steps SET results = p_results, updated_at = now()
        WHERE workflow_step_uuid = p_step_uuid;
        PERFORM tasker.pgmq_send_with_notify(p_results_queue, p_result_message, 0, p_headers);
    END IF;
    PERFORM pgmq.delete(p_queue, p_msg_id);
    RETURN moved;
END;
$$;
