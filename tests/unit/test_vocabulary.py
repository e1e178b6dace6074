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
    Attr,
    Phase,
    base_scenario,
    dataset_size,
    load_level,
    sql_phase,
    with_dataset_size,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("spanbench", "extract", "instrument", "stack", "queries")
VOCABULARY = ROOT / "spanbench" / "vocabulary.py"
RAW_NAME = re.compile(r"bench\.[a-z_.]*|sql\.[a-z_]*|handler\.(?:direct|framework|foreign|result)")
BENCH_KEY = re.compile(r"\bbench\.[a-z_]+(?:\.[a-z_]+)*")
KNOWN_KEYS = {value for value in vars(Attr).values()
              if isinstance(value, str) and value.startswith("bench.")}


def _python_files() -> list[Path]:
    return [path for folder in PRODUCT for path in sorted((ROOT / folder).rglob("*.py"))
            if path != VOCABULARY]


def _sql_files() -> list[Path]:
    return sorted((ROOT / "queries").glob("*.sql"))


def test_no_product_module_spells_a_bench_key_or_a_phase_itself() -> None:
    spelled = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
               for path in _python_files()
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and RAW_NAME.fullmatch(node.value)]
    assert spelled == [], "use spanbench.vocabulary's constants:\n" + "\n".join(spelled)


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
