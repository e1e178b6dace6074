"""The phase map's SQL macros give each span what the map's own rules give it in Python."""

from __future__ import annotations

import duckdb
import pytest

from queries import phase_map_sql
from spanbench import phase_map
from spanbench.phase_map import PhaseMap, parse
from spanbench.vocabulary import Attr, Source

RULES = '''
[[span]]
name = "*"
when = { target = "h2::*" }

[[span]]
name = "finalize_task"
phase = "task.finalize"
when = { success = "true", kind = "task" }

[[span]]
name = "finalize_task"
phase = "result.process"
'''

SPANS: list[tuple[str | None, dict[str, str], str | None]] = [
    ("finalize_task", {"success": "true", "kind": "task"}, None),
    ("finalize_task", {"success": "true"}, "stored"),
    ("finalize_task", {"kind": "task"}, None),
    ("finalize_task", {"target": "h2::codec"}, "stored"),
    ("poll", {"target": "h2::codec"}, "stored"),
    ("poll", {"target": "tokio::io"}, "stored"),
    ("poll", {}, None),
    (None, {"target": "h2::codec"}, "stored"),
    (None, {}, "stored"),
    ("submit", {"bench.suite": "step_enqueueing", Attr.SOURCE: Source.TRACED}, "stored"),
    ("submit", {"bench.suite": "step_enqueueing", Attr.SOURCE: Source.DRIVER}, "stored"),
    ("submit", {"bench.suite": "step_enqueueing"}, "stored"),
    ("submit", {Attr.SOURCE: Source.DERIVED}, None),
    ("result.process", {"bench.suite": "step_enqueueing", "tasker.ready_steps": "0"}, "x"),
    ("result.process", {"bench.suite": "step_enqueueing", "tasker.ready_steps": "2"}, "x"),
    ("discovery", {"bench.suite": "task_initialization",
                   "tasker.discovery.cause": "result.process"}, "stored"),
    ("e2e.workflow", {}, "e2e.workflow"),
    ("api.create_task", {Attr.SOURCE: Source.DRIVER}, "api.create_task"),
]


def _expected(rules: PhaseMap, name: str | None, attributes: dict[str, str],
              phase: str | None) -> tuple[str | None, bool]:
    rule = rules.rule_for(name, attributes)  # type: ignore[arg-type]  # a NULL name too
    known = rule is not None
    if attributes.get(Attr.SOURCE) in (Source.DRIVER, Source.DERIVED) or rule is None:
        return phase, known
    return rule.phase, known


@pytest.mark.parametrize("rules", [parse(RULES, "test"), phase_map.builtin("spanbench"),
                                   phase_map.builtin("tasker-core")],
                         ids=["test", "spanbench", "tasker-core"])
def test_the_macros_agree_with_the_rules_span_by_span(rules: PhaseMap) -> None:
    con = phase_map_sql.define(duckdb.connect(), rules)
    for name, attributes, phase in SPANS:
        got = con.execute(
            "SELECT bench_mapped_phase($name, $attributes::MAP(VARCHAR, VARCHAR), $phase), "
            "bench_phase_known($name, $attributes::MAP(VARCHAR, VARCHAR))",
            {"name": name, "attributes": attributes, "phase": phase}).fetchone()
        mapped, known = _expected(rules, name, attributes, phase)
        assert got == (mapped, known), (name, attributes, phase)
