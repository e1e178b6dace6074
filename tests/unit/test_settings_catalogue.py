"""spanbench.settings is the one catalogue of environment variables: the README's table shows
exactly it, product code reads the environment only through it, its readers share one rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from instrument.workload.tasker_py_boundary import WORKER_VARIABLES
from spanbench import settings

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("spanbench", "extract", "instrument", "stack")
CATALOGUE_MODULE = REPO / "spanbench" / "settings.py"
VARIABLE_NAME = re.compile(r"(?:SPANBENCH|OTEL|TASKER|AWS)_[A-Z0-9_]+|DATABASE_URL")


def _product_modules() -> list[Path]:
    return sorted(path for package in PRODUCT for path in (REPO / package).rglob("*.py"))


def _readme_environment_rows() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Environment\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


# ── (a) the README's table is the catalogue ───────────────────────────────────────────────


def test_the_readme_table_names_every_catalogued_variable_and_no_other() -> None:
    named = [re.match(r"\| `([^`]+)`", row).group(1)  # type: ignore[union-attr]
             for row in _readme_environment_rows()]
    assert len(named) == len(set(named)), "a variable is listed twice in the README's table"
    missing = set(settings.CATALOGUE) - set(named)
    unknown = set(named) - set(settings.CATALOGUE)
    assert not missing, f"README's Environment table lacks {sorted(missing)}"
    assert not unknown, f"README's Environment table names {sorted(unknown)}, not in the catalogue"


def test_the_readme_table_is_the_one_the_catalogue_prints() -> None:
    expected = settings.markdown_table().splitlines()[2:]
    assert _readme_environment_rows() == expected, (
        "README's Environment table differs from the catalogue: paste the output of "
        "`python -m spanbench.settings` into it")


def test_each_variable_is_declared_once_with_a_one_line_doc() -> None:
    constants = {name: value for name, value in vars(settings).items()
                 if name.isupper() and isinstance(value, str) and value in settings.CATALOGUE}
    assert sorted(constants.values()) == sorted(settings.CATALOGUE)
    for entry in settings.CATALOGUE.values():
        assert entry.doc and "\n" not in entry.doc, entry.name
        expected = entry.name.removeprefix("SPANBENCH_")
        assert constants.get(expected) == entry.name, f"{entry.name} should be named {expected}"


def test_declaring_a_variable_twice_fails() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        settings._declare(settings.SINK_TOKEN, None, "again")


def test_the_catalogue_imports_nothing_of_the_project() -> None:
    tree = ast.parse(CATALOGUE_MODULE.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert not imported & {*PRODUCT, "tests", "benchmarks"}, imported


def test_every_variable_named_in_product_code_is_catalogued() -> None:
    uncatalogued = {
        f"{path.relative_to(REPO)}:{node.lineno} {node.value}"
        for path in _product_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and VARIABLE_NAME.fullmatch(node.value) and node.value not in settings.CATALOGUE
        and node.value not in WORKER_VARIABLES  # set for tasker-py's worker, never read
    }
    assert not uncatalogued, f"declare these in spanbench/settings.py: {sorted(uncatalogued)}"


# ── (b) product code reads the environment only through the catalogue ────────────────────


def _os_names(tree: ast.AST) -> set[str]:
    names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.asname for alias in node.names
                      if alias.name == "os" and alias.asname}
    return names


def _is_environ(node: ast.AST, os_names: set[str]) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ"
            and isinstance(node.value, ast.Name) and node.value.id in os_names)


def _reads_a_variable(node: ast.AST, os_names: set[str]) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and any(
            alias.name in ("environ", "getenv", "getenvb") for alias in node.names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        function = node.func
        if function.attr in ("get", "setdefault", "pop"):
            return _is_environ(function.value, os_names)
        return (function.attr in ("getenv", "getenvb") and isinstance(function.value, ast.Name)
                and function.value.id in os_names)
    if isinstance(node, ast.Subscript):
        return isinstance(node.ctx, ast.Load) and _is_environ(node.value, os_names)
    if isinstance(node, ast.Compare):
        return (any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                and any(_is_environ(side, os_names) for side in node.comparators))
    return False


def environment_reads(source: str) -> list[int]:
    """Lines that read a variable: os.environ.get / [name] / `in`, os.getenv, `from os import`.

    Passing or copying the whole environment to a subprocess (`{**os.environ, ...}`,
    os.environ.copy(), .items()) and setting or deleting a variable are not reads.
    """
    tree = ast.parse(source)
    os_names = _os_names(tree)
    return sorted(node.lineno for node in ast.walk(tree)  # type: ignore[attr-defined]
                  if _reads_a_variable(node, os_names))


def test_no_product_module_but_the_catalogue_reads_the_environment() -> None:
    readers = {
        f"{path.relative_to(REPO)}:{line}"
        for path in _product_modules() if path != CATALOGUE_MODULE
        for line in environment_reads(path.read_text())
    }
    assert not readers, (f"read these through spanbench.settings (declare the variable there): "
                         f"{sorted(readers)}")


def test_the_scan_finds_each_kind_of_read() -> None:
    source = "\n".join([
        "import os",
        "import os as system",
        "from os import environ",
        "a = os.environ.get('X')",
        "b = os.environ['X']",
        "c = os.getenv('X')",
        "d = 'X' in os.environ",
        "e = system.environ.get('X')",
        "f = os.environ.pop('X', None)",
    ])
    assert environment_reads(source) == [3, 4, 5, 6, 7, 8, 9]


def test_the_scan_allows_passing_copying_and_setting_the_environment() -> None:
    source = "\n".join([
        "import os",
        "env = {**os.environ, 'X': '1'}",
        "copy = os.environ.copy()",
        "kept = {k: v for k, v in os.environ.items() if k != 'X'}",
        "os.environ['X'] = '1'",
        "del os.environ['X']",
        "os.environ.update(X='1')",
    ])
    assert environment_reads(source) == []


# ── (c) one rule for every value; typed readers say what is wrong and how to fix it ───────


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_an_empty_or_blank_value_is_unset(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    for name in (settings.SINK_TOKEN, settings.SINK_HTTP, settings.SINK_SEGMENT_BYTES,
                 settings.SETTLE_S, settings.TASKER_TEST_SKIP_HEALTH_CHECK,
                 settings.TASKER_TEST_WORKER_URL, settings.FAULT_DIR):
        monkeypatch.setenv(name, raw)
    assert settings.env(settings.SINK_TOKEN) is None
    assert settings.text(settings.SINK_HTTP) == "127.0.0.1:4318"
    assert settings.integer(settings.SINK_SEGMENT_BYTES) == 32 * settings.MIB
    assert settings.number(settings.SETTLE_S) == 8.0
    assert settings.flag(settings.TASKER_TEST_SKIP_HEALTH_CHECK) is False
    assert settings.urls(settings.TASKER_TEST_WORKER_URL) == ()
    assert settings.path(settings.FAULT_DIR) is None


def test_every_value_is_stripped_tokens_and_hosts_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.SINK_TOKEN, "  s3cret \n")
    monkeypatch.setenv(settings.STACK_HOST, " 0.0.0.0 ")
    monkeypatch.setenv(settings.SINK_SEGMENT_BYTES, " 1024 ")
    monkeypatch.setenv(settings.SINK_SEGMENT_AGE_S, " 0.5\t")
    monkeypatch.setenv(settings.FAULT_DIR, " /tmp/faults ")
    assert settings.env(settings.SINK_TOKEN) == "s3cret"
    assert settings.text(settings.STACK_HOST) == "0.0.0.0"
    assert settings.integer(settings.SINK_SEGMENT_BYTES) == 1024
    assert settings.number(settings.SINK_SEGMENT_AGE_S) == 0.5
    assert settings.path(settings.FAULT_DIR) == Path("/tmp/faults")


def test_lists_flags_and_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.TASKER_TEST_WORKER_URL, " http://a:1/ , ,http://b:2")
    assert settings.urls(settings.TASKER_TEST_WORKER_URL) == ("http://a:1", "http://b:2")
    monkeypatch.setenv(settings.FAULT_PAUSE_AT, "s/a#1, s/b#2,")
    assert settings.items(settings.FAULT_PAUSE_AT) == ("s/a#1", "s/b#2")
    for raw, expected in (("1", True), ("yes", True), ("0", False), ("FALSE", False),
                          (" no ", False)):
        monkeypatch.setenv(settings.TASKER_TEST_SKIP_HEALTH_CHECK, raw)
        assert settings.flag(settings.TASKER_TEST_SKIP_HEALTH_CHECK) is expected, raw
    monkeypatch.delenv(settings.RUNS_DIR, raising=False)
    monkeypatch.setenv(settings.SINK_OUT, "/old")
    assert settings.runs_dir_value() == "/old"
    monkeypatch.setenv(settings.RUNS_DIR, "/new")
    assert settings.runs_dir_value() == "/new"


@pytest.mark.parametrize(("name", "raw", "reader"), [
    (settings.SINK_SEGMENT_BYTES, "32MiB", settings.integer),
    (settings.SINK_MAX_BODY_BYTES, "1.5", settings.integer),
    (settings.SINK_FORWARD_DRAIN_S, "soon", settings.number),
])
def test_a_bad_number_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch, name: str,
                                                     raw: str, reader: object) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(settings.SettingsError) as error:
        reader(name)  # type: ignore[operator]
    message = str(error.value)
    assert message.startswith(f"{name}={raw!r} is not ")
    assert "set it to one (e.g. " in message and "unset it for the default" in message


def test_a_variable_outside_the_catalogue_cannot_be_read() -> None:
    with pytest.raises(KeyError, match=r"not in spanbench\.settings' catalogue"):
        settings.env("SPANBENCH_NOT_DECLARED")
