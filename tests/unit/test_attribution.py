"""extract.analyse.attribution gives exactly the rows of the SQL macro e2e_attribution."""

from __future__ import annotations

import random

import duckdb
import pytest

import queries
from extract.analyse import attribution
from extract.analyse.breakdown import MACROS, e2e_analysis, workflow_breakdowns
from tests.e2e_traces import DIAMOND, Drawn, Workflow, spans_view, table_rows


def _generated_run(rng: random.Random, workflows: int) -> list[Workflow]:
    """DIAMOND workflows with random subtrees (overlapping siblings, equal and shared
    boundaries, zero-length spans, children outliving parents, spans outside the root, deep
    chains), some incomplete, overlapping in time or not."""
    flows = []
    for number in range(workflows):
        spans = [s for s in DIAMOND if rng.random() > 0.02]
        ids = [s.span_id for s in spans] + ["root"]
        for extra in range(rng.randint(0, 40)):
            start = rng.randint(-10, 110)
            span_id = f"x{extra:02d}"
            spans.append(Drawn(rng.choice(["a", "b", "claim", "execute"]), span_id,
                               rng.choice(ids[-5:] if rng.random() < 0.3 else ids), start,
                               start + rng.choice([0, 1, 1, 2, 3, 5, 8, 20, 40, 200])))
            ids.append(span_id)
        flows.append(Workflow(f"t{number:03d}", rng.choice(["diamond_4", "linear_3"]),
                              tuple(spans), end=100 + rng.randint(-5, 5),
                              offset=rng.choice([0, 7, 1000 * number])))
    return flows


@pytest.mark.parametrize("seed", range(12))
def test_the_vectorised_attribution_gives_the_macros_rows(seed: int) -> None:
    con = spans_view(_generated_run(random.Random(seed), 30))
    by_macro = workflow_breakdowns(con, "r")
    assert by_macro, "the run should hold complete workflows"
    workflows = e2e_analysis(con, "r", with_workflows=True).workflows
    assert workflows is not None
    assert table_rows(workflows) == by_macro


def test_a_55_level_chain_and_a_run_without_complete_workflows() -> None:
    chain = tuple(Drawn(f"hop{i}", f"h{i}", f"h{i - 1}" if i else "root", 80, 90)
                  for i in range(55))
    con = spans_view([Workflow("t1", "diamond_4", (*DIAMOND, *chain))])
    workflows = e2e_analysis(con, "r", with_workflows=True).workflows
    assert workflows is not None and table_rows(workflows) == workflow_breakdowns(con, "r")
    empty = spans_view([Workflow("t1", "diamond_4", DIAMOND[:3])])
    workflows = e2e_analysis(empty, "r", with_workflows=True).workflows
    assert workflows is not None and workflows.num_rows == 0


def test_attribute_writes_the_macros_table() -> None:
    con: duckdb.DuckDBPyConnection = spans_view(_generated_run(random.Random(99), 10))
    con.execute(queries.load()[MACROS].sql)
    attribution.attribute(con, "r", "vectorised")
    con.execute("CREATE TEMP TABLE by_macro AS SELECT * FROM e2e_attribution('r')")
    assert con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                       "WHERE table_name = 'vectorised' ORDER BY column_index").fetchall() == \
        con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                    "WHERE table_name = 'by_macro' ORDER BY column_index").fetchall()
    assert con.execute("SELECT count(*) FROM (SELECT * FROM vectorised EXCEPT ALL "
                       "SELECT * FROM by_macro UNION ALL (SELECT * FROM by_macro "
                       "EXCEPT ALL SELECT * FROM vectorised))").fetchall() == [(0,)]
