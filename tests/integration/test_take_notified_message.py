"""tasker.take_and_claim_step (012): a notified message is taken once, as pgmq.read would take
it; a message another consumer holds, or one already gone, is not taken."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

QUEUE = "worker_take_test_queue"
TAKE_SQL = "SELECT * FROM tasker.take_and_claim_step(%s, %s, 30, %s, %s)"


def _take(conn: psycopg.Connection[Any], msg_id: int, step: uuid.UUID) -> list[dict[str, Any]]:
    return conn.execute(TAKE_SQL, (QUEUE, msg_id, step, Jsonb({"worker_id": "t"}))).fetchall()


def _send(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pgmq.send(%s, %s::jsonb) AS msg_id", (QUEUE, '{"n": 1}')).fetchone()
    assert row is not None
    return int(row["msg_id"])


def _left(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return conn.execute(f"SELECT msg_id, read_ct FROM pgmq.q_{QUEUE} ORDER BY msg_id").fetchall()


def test_a_message_of_no_waiting_step_is_taken_once_and_deleted(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT pgmq.create(%s)", (QUEUE,))
        msg_id = _send(conn)
        first = _take(conn, msg_id, uuid.uuid4())
        second = _take(conn, msg_id, uuid.uuid4())
        left = _left(conn)
    # taken (read_ct counted), then claim_step found no enqueued step: a duplicate, deleted
    assert [(row["read_ct"], row["step_name"]) for row in first] == [(1, None)]
    assert second == []
    assert left == []


def test_a_message_another_consumer_read_is_not_taken(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT pgmq.create(%s)", (QUEUE,))
        msg_id = _send(conn)
        read = conn.execute("SELECT msg_id FROM pgmq.read(%s, 30, 1)", (QUEUE,)).fetchall()
        taken = _take(conn, msg_id, uuid.uuid4())
        left = _left(conn)
    assert [row["msg_id"] for row in read] == [msg_id]
    assert taken == []
    assert left == [{"msg_id": msg_id, "read_ct": 1}]
