-- A worker that learnt of a step message from its NOTIFY (the payload carries the message)
-- takes that one message and claims its step in one statement, instead of a pgmq.read of the
-- whole queue first: a round trip less per stage, and the worker that loses the race gets no
-- row back instead of reading the queue for nothing.

-- Take message p_msg_id of p_queue as pgmq.read would (visible now, not locked by another
-- reader: hidden for p_vt seconds, read_ct counted), then claim its step (009's claim_step,
-- which deletes a duplicate). No row when the message was gone, hidden or being taken by
-- another worker; a row of read_ct alone (the rest NULL) when it was a duplicate; otherwise
-- the message's read_ct and claim_step's row.
CREATE OR REPLACE FUNCTION tasker.take_and_claim_step(
    p_queue text,
    p_msg_id bigint,
    p_vt integer,
    p_step_uuid uuid,
    p_metadata jsonb
) RETURNS TABLE (
    read_ct integer,
    step_name text,
    attempts integer,
    context jsonb,
    configuration jsonb,
    dependency_results jsonb
) LANGUAGE plpgsql AS $$
DECLARE
    qtable text := pgmq.format_table_name(p_queue, 'q');
    taken_read_ct integer;
BEGIN
    EXECUTE format(
        $QUERY$
        UPDATE pgmq.%1$I m
        SET last_read_at = clock_timestamp(),
            vt = clock_timestamp() + make_interval(secs => $2),
            read_ct = m.read_ct + 1
        WHERE m.msg_id = (SELECT q.msg_id FROM pgmq.%1$I q
                          WHERE q.msg_id = $1 AND q.vt <= clock_timestamp()
                          FOR UPDATE SKIP LOCKED)
        RETURNING m.read_ct
        $QUERY$, qtable)
    INTO taken_read_ct USING p_msg_id, p_vt;
    IF taken_read_ct IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT taken_read_ct, c.step_name, c.attempts, c.context, c.configuration,
               c.dependency_results
        FROM (SELECT 1) AS one
        LEFT JOIN tasker.claim_step(p_step_uuid, p_queue, p_msg_id, taken_read_ct, p_metadata) c
            ON true;
END;
$$;
