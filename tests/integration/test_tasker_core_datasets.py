"""Datasets in tasker-core's schema: the planned rows load, tasker-core's step-result audit
trigger is off only while they load, and tasker-core's functions read the dataset."""

from __future__ import annotations

import psycopg

from instrument.workload import dataset_load, datasets

SCHEMA, TABLE, TRIGGER = dataset_load.AUDIT_TRIGGER
TRIGGER_STATE_SQL = ("SELECT tgenabled FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                     "AND tgname = %s")


def _trigger_state(conn: psycopg.Connection) -> str | None:
    row = conn.execute(TRIGGER_STATE_SQL, (f"{SCHEMA}.{TABLE}", TRIGGER)).fetchone()
    return None if row is None else str(row[0])


def test_a_dataset_loads_without_audit_rows_and_leaves_the_trigger_on(
        tasker_core_db: str) -> None:
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        assert _trigger_state(conn) == "O", "tasker-core's schema no longer has the trigger"
    dataset = datasets.seed_dataset(tasker_core_db, 300)
    audited_states = {"enqueued_for_orchestration", "complete", "waiting_for_retry"}
    assert any(state in audited_states for plan in dataset.plans for state in plan.step_states)
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        assert _trigger_state(conn) == "O"
        audit = conn.execute(f"SELECT count(*) FROM {dataset_load.AUDIT_TABLE}").fetchone()
        assert audit == (0,)
        ready = conn.execute("SELECT count(*) FROM tasker.get_next_ready_tasks(1000)").fetchone()
        assert ready is not None and ready[0] > 0
    assert dataset.counts["tasks"] == 300


def test_the_trigger_is_on_again_after_a_load_that_fails(tasker_core_db: str) -> None:
    try:
        with dataset_load.audit_trigger_off(tasker_core_db) as switched:
            assert switched
            with psycopg.connect(tasker_core_db) as conn:
                assert _trigger_state(conn) == "D"
            raise RuntimeError("the load failed")
    except RuntimeError:
        pass
    with psycopg.connect(tasker_core_db) as conn:
        assert _trigger_state(conn) == "O"


def test_a_schema_without_the_trigger_is_left_alone(fresh_db: str) -> None:
    with dataset_load.audit_trigger_off(fresh_db) as switched:
        assert not switched
