"""The vocabulary is the one place names are spelled: code and SQL take them from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from queries import macros
from spanbench.security import check_file_name
from spanbench.units import format_compact_ms, format_fixed_ms, format_ns, ms
from spanbench.vocabulary import (
    STACK_PHASES,
    SUITES,
    WAIT_PHASE,
    Attr,
    Phase,
    Suite,
    base_scenario,
    dataset_size,
    load_level,
    sql_phase,
    with_dataset_size,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("spanbench", "extract", "instrument", "stack", "queries")
DEV_SCRIPTS = ("benchmarks", "fuzz")
VOCABULARY = ROOT / "spanbench" / "vocabulary.py"
RAW_NAME = re.compile(r"bench\.[a-z_.]*|sql\.[a-z_]*|handler\.(?:direct|framework|foreign|result)")
BENCH_KEY = re.compile(r"\bbench\.[a-z_]+(?:\.[a-z_]+)*")
KNOWN_KEYS = {value for value in vars(Attr).values()
              if isinstance(value, str) and value.startswith("bench.")}

PHASE_NAMES = frozenset(macros.constants(Phase).values()) | {WAIT_PHASE}
ATTRIBUTE_KEYS = frozenset(macros.constants(Attr).values())
NAMES = PHASE_NAMES | frozenset(SUITES) | ATTRIBUTE_KEYS
"""Every name a query or a module could type instead of taking it from the vocabulary."""
PYTHON_NAMES = PHASE_NAMES | frozenset(SUITES) | {key for key in ATTRIBUTE_KEYS if "." in key}
"""The names a Python string may not be: the bare keys (task_uuid, handler, namespace…) are
also the fields of the stack's messages and requests and its table columns, which are not
span attributes; as a quoted literal in SQL, every name counts."""
SQL_LITERAL = re.compile(r"'((?:[^']|'')*)'")
LOOKS_LIKE_SQL = re.compile(r"\b(?:SELECT|WHERE)\b")


def _python_files(folders: tuple[str, ...] = PRODUCT) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))
            if path != VOCABULARY]


def _sql_files() -> list[Path]:
    return sorted((ROOT / "queries").glob("*.sql"))


def _code_strings(source: str) -> list[tuple[int, str]]:
    """(line, value) of a module's string constants, docstrings left out."""
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def names_in_sql(sql: str) -> list[str]:
    """The vocabulary names a piece of SQL spells as string literals, comments left out."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [literal.replace("''", "'") for literal in SQL_LITERAL.findall(code)
            if literal.replace("''", "'") in NAMES]


def names_in_python(source: str) -> list[tuple[int, str]]:
    """(line, name) of the vocabulary names a module spells: a string that is one, or a quoted
    literal in a string of SQL."""
    spelled = []
    for line, value in _code_strings(source):
        if value in PYTHON_NAMES:
            spelled.append((line, value))
        elif LOOKS_LIKE_SQL.search(value):
            spelled.extend((line, name) for name in names_in_sql(value))
    return spelled


def test_no_product_module_spells_a_bench_key_or_a_phase_itself() -> None:
    spelled = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
               for path in _python_files(PRODUCT + DEV_SCRIPTS)
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and RAW_NAME.fullmatch(node.value)]
    assert spelled == [], "use spanbench.vocabulary's constants:\n" + "\n".join(spelled)


def test_no_product_module_spells_a_phase_suite_or_attribute_key() -> None:
    spelled = [f"{path.relative_to(ROOT)}:{line}: {name!r}" for path in _python_files()
               for line, name in names_in_python(path.read_text(encoding="utf-8"))]
    assert spelled == [], "use spanbench.vocabulary's constants:\n" + "\n".join(spelled)


def test_no_query_spells_a_phase_suite_or_attribute_key() -> None:
    spelled = [f"{path.name}: {name!r}" for path in _sql_files()
               for name in names_in_sql(path.read_text(encoding="utf-8"))]
    assert spelled == [], "use phase(), suite(), attr() of queries/macros.py:\n" + "\n".join(
        spelled)


@pytest.mark.parametrize("sql", [
    "SELECT 1 FROM spans WHERE SpanName = 'e2e.workflow'",
    "SELECT SpanAttributes['step_uuid'] FROM spans",
    "SELECT 1 FROM spans WHERE Suite = 'e2e_latency'  -- e2e_latency",
    "SELECT coalesce(phase, 'wait')",
])
def test_a_name_typed_into_sql_is_found(sql: str) -> None:
    assert len(names_in_sql(sql)) == 1
    assert names_in_python(f"QUERY = {sql!r}\n") == [(1, names_in_sql(sql)[0])]


@pytest.mark.parametrize("sql", [
    "SELECT 1 FROM spans WHERE SpanName = phase().e2e_workflow  -- not 'e2e.workflow'",
    "SELECT 'template', 'median', StatusCode = 'Error'",
])
def test_a_name_from_the_macros_or_a_comment_is_not(sql: str) -> None:
    assert names_in_sql(sql) == []


def test_a_name_typed_into_python_is_found() -> None:
    source = ('"""A docstring may name e2e_latency."""\n'
              'SUITE = "e2e_latency"\nROOT = "e2e.workflow"\nKEY = "worker.id"\n'
              'FIELD = "task_uuid"\n')
    assert names_in_python(source) == [(2, "e2e_latency"), (3, "e2e.workflow"),
                                        (4, "worker.id")]


def test_the_name_macros_spell_the_vocabulary() -> None:
    con = macros.define(duckdb.connect())
    row = con.execute("SELECT phase().e2e_workflow, phase().wait, suite().e2e_latency, "
                      "attr().worker_id, attr().batch_size, lifecycle_phases()").fetchone()
    assert row[:5] == (Phase.E2E_WORKFLOW, WAIT_PHASE, Suite.E2E_LATENCY, Attr.WORKER_ID,
                       Attr.BATCH_SIZE)
    assert row[5] == [Phase.API_CREATE_TASK, *STACK_PHASES, Phase.E2E_WORKFLOW]
    phases, suites, keys = con.execute("SELECT phase(), suite(), attr()").fetchone()
    assert set(phases.values()) == PHASE_NAMES and tuple(suites.values()) == SUITES
    assert set(keys.values()) == ATTRIBUTE_KEYS


def test_no_query_spells_a_bench_key_outside_its_comments() -> None:
    spelled = [f"{path.name}:{number}: {line.strip()}"
               for path in _sql_files()
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if "bench." in line.split("--", 1)[0]]
    assert spelled == [], "use the macros of queries/macros.py:\n" + "\n".join(spelled)


def _texts(path: Path) -> list[str]:
    """A module's string constants (docstrings too), or a query's whole text."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        return [source]
    return [node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_every_bench_key_the_code_and_queries_name_is_a_vocabulary_constant() -> None:
    named = {(path.name, key) for path in _python_files() + _sql_files()
             for text in _texts(path) for key in BENCH_KEY.findall(text)}
    unknown = sorted((name, key) for name, key in named if key not in KNOWN_KEYS)
    assert unknown == []


def test_the_macros_spell_the_vocabulary_keys() -> None:
    con = macros.define(duckdb.connect())
    attributes = {Attr.BATCH_SIZE: "4", Attr.DATASET_SIZE: "1000", Attr.STACK_TRACED: "true",
                  Attr.CONCURRENCY: "8", Attr.ARRIVAL_RATE: "2.5", Attr.START_LAG: "7"}
    row = con.execute(
        "SELECT bench_per_call_ns(10::BIGINT, $a), bench_dataset_size($a), "
        "bench_stack_traced($a), bench_concurrency($a), bench_arrival_rate($a), "
        "bench_start_lag_ns($a), bench_per_call_ns(10::BIGINT, MAP {'x': 'y'})",
        {"a": attributes}).fetchone()
    assert row == (2.5, "1000", True, 8, 2.5, 7, 10.0)


@pytest.mark.parametrize(("name", "base", "level"), [
    ("linear_4@c8", "linear_4", "linear_4"),
    ("get_next_ready_tasks+1000", "get_next_ready_tasks", "get_next_ready_tasks+1000"),
    ("linear_3", "linear_3", "linear_3"),
])
def test_the_scenario_macros_split_both_spellings(name: str, base: str, level: str) -> None:
    con = macros.define(duckdb.connect())
    assert con.execute("SELECT bench_scenario_base($n), bench_load_base($n)",
                       {"n": name}).fetchone() == (base, level)


@pytest.mark.parametrize(("stored", "read"), [
    ("get_next_ready_tasks@1000", "get_next_ready_tasks+1000"),
    ("get_next_ready_tasks@1k", "get_next_ready_tasks+1k"),
    ("linear_4@c8", "linear_4@c8"),
    ("linear_4@r2.5", "linear_4@r2.5"),
    ("get_next_ready_tasks+1000", "get_next_ready_tasks+1000"),
    ("linear_3", "linear_3"),
])
def test_old_history_names_read_in_todays_spelling(stored: str, read: str) -> None:
    con = macros.define(duckdb.connect())
    assert con.execute("SELECT bench_history_scenario($n)", {"n": stored}).fetchone() == (read,)


def test_a_dataset_size_is_spelled_apart_from_a_load_level() -> None:
    name = with_dataset_size("get_next_ready_tasks", 1000)
    assert name == "get_next_ready_tasks+1000"
    assert dataset_size(name) == "1000" and dataset_size("linear_4@c8") is None
    assert load_level(name) is None and base_scenario(name) == name
    assert check_file_name(f"{name}.json", "file") == f"{name}.json"


def test_phase_names_come_from_the_vocabulary() -> None:
    assert sql_phase("get_next_ready_tasks") == "sql.get_next_ready_tasks"
    assert Phase.HANDLER_DIRECT == "handler.direct"


def test_one_unit_helper_formats_ns_as_the_reports_did() -> None:
    assert ms(2_500_000) == 2.5 and ms(None) is None and ms(float("nan")) is None
    assert format_ns(2_500_000) == "2.50 ms" and format_ns(None) == "n/a"
    assert format_fixed_ms(125_000) == "0.125 ms" and format_fixed_ms(None) == "n/a"
    assert format_compact_ms(2_500_000) == "2.5ms" and format_compact_ms(150_000_000) == "150ms"
