"""Per-step lifecycle counts from complete e2e traces."""

from __future__ import annotations

from extract.analyse.breakdown import LifecycleRow, lifecycle_counts
from tests.e2e_traces import DIAMOND, Drawn, Workflow, spans_view


def test_spans_and_messages_per_step_with_no_statement_level_db_spans() -> None:
    con = spans_view([Workflow("t1", "diamond_4", DIAMOND), Workflow("t2", "diamond_4", DIAMOND)])
    # 29 spans (root included) and 8 sends (4 publish, 4 submit) over 4 steps, per workflow;
    # discovery carries db.* attributes but is a phase span, not a statement.
    assert lifecycle_counts(con, "r") == [LifecycleRow("diamond_4", 29 / 4, 2.0, None, 19, 2)]


def test_db_operations_per_step_from_statement_spans() -> None:
    statement = Drawn("SELECT", "sql1", "claimA", 12, 13, {"db.system.name": "postgresql"})
    incomplete = tuple(s for s in DIAMOND if s.name != "task.finalize")
    con = spans_view([Workflow("t1", "diamond_4", (*DIAMOND, statement)),
                      Workflow("t2", "diamond_4", incomplete)])
    [row] = lifecycle_counts(con, "r")
    assert row.spans_per_step == 30 / 4
    assert row.db_operations_per_step == 1 / 4


def test_transitions_per_step_sum_what_the_stack_phases_stamp() -> None:
    import dataclasses

    def stamped(span: Drawn) -> Drawn:  # as the reference stack stamps a diamond_4 workflow
        count = {"task.initialize": 4 + 4, "publish": 1, "claim": 1, "submit": 1,
                 "result.process": 1, "task.finalize": 1}.get(span.name)
        if count is None:
            return span
        return dataclasses.replace(
            span, attributes={**span.attributes, "tasker.transitions": str(count)})

    con = spans_view([Workflow("t1", "diamond_4", tuple(stamped(s) for s in DIAMOND))])
    [row] = lifecycle_counts(con, "r")
    # 8 at creation, per step publish + claim + submit + result = 4, and 1 at finalisation
    assert row.transitions_per_step == (8 + 4 * 4 + 1) / 4
