"""CI JSON against its schema and the seed's field names; github-action-benchmark; JUnit; files."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from extract.reports.ci_json import combined_document, suite_document
from extract.reports.files import write_reports
from extract.reports.github_action import github_action_entries
from extract.reports.junit import junit_xml
from extract.reports.verdict import verdict
from tests.unit.reports_fixture import sample_report

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "results.schema.json").read_text())
TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "integer": int,
                         "number": (int, float), "null": type(None)}


def errors(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The subset of JSON Schema the file uses: $ref, oneOf, anyOf, not, type, const, enum,
    required, properties, additionalProperties (a schema), items."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return errors(instance, SCHEMA["$defs"][name], path)
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if not errors(instance, s, path)]
        return [] if len(matches) == 1 else [f"{path}: matches {len(matches)} of oneOf"]
    found: list[str] = []
    if "anyOf" in schema and all(errors(instance, s, path) for s in schema["anyOf"]):
        found.append(f"{path}: matches none of anyOf")
    if "not" in schema and not errors(instance, schema["not"], path):
        found.append(f"{path}: matches what it must not")
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if isinstance(instance, bool) or not isinstance(instance, tuple(TYPES[k] for k in kinds)):
            return [f"{path}: {instance!r} is not {kinds}"]
    if "const" in schema and instance != schema["const"]:
        found.append(f"{path}: {instance!r} != {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{path}: {instance!r} not in {schema['enum']}")
    if isinstance(instance, dict):
        found += [f"{path}: missing {key}" for key in schema.get("required", ())
                  if key not in instance]
        for key, sub in schema.get("properties", {}).items():
            if key in instance:
                found += errors(instance[key], sub, f"{path}.{key}")
        if isinstance(schema.get("additionalProperties"), dict):
            for key in instance.keys() - schema.get("properties", {}).keys():
                found += errors(instance[key], schema["additionalProperties"], f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            found += errors(item, schema["items"], f"{path}[{index}]")
    return found


def test_the_validator_rejects_a_renamed_field() -> None:
    doc = suite_document(sample_report(), "task_initialization")
    doc["results"][0]["std_ms"] = doc["results"][0].pop("std_dev_ms")
    assert errors(doc, SCHEMA) != []
    assert "$.results[0]: missing std_dev_ms" in errors(doc, SCHEMA["$defs"]["suite"])


def test_suite_document_has_specs_fields_and_validates() -> None:
    report = sample_report()
    for suite in report.suites():
        doc = suite_document(report, suite)
        assert errors(doc, SCHEMA) == []
        assert {"benchmark_suite", "timestamp", "commit", "results", "summary"} <= set(doc)
        for result in doc["results"]:
            assert {"name", "mean_ms", "std_dev_ms", "target_ms", "status",
                    "performance_ratio", "p50_ms", "p95_ms", "p99_ms", "n"} <= set(result)
    first = suite_document(report, "task_initialization")["results"][0]
    assert (first["mean_ms"], first["std_dev_ms"], first["target_ms"], first["status"],
            first["performance_ratio"]) == (17.748, 0.624, 50, "pass", 2.817)
    e2e = suite_document(report, "e2e_latency")
    assert e2e["summary"] == {"total_tests": 3, "passed": 0, "failed": 1, "warnings": 2}


def test_combined_document_validates() -> None:
    doc = combined_document(sample_report())
    assert errors(doc, SCHEMA) == []
    assert doc["summary"]["total_tests"] == 5 and len(doc["suites"]) == 2


def test_github_action_entries() -> None:
    entries = github_action_entries(sample_report())
    assert entries[0] == {"name": "task_initialization/linear_3/api.create_task", "unit": "ms",
                          "value": 17.748, "range": "± 0.17748",
                          "extra": "n=20, p50=17.748 ms, p95=18.2804 ms"}
    assert all({"name", "unit", "value"} <= set(entry) for entry in entries)


def test_junit_one_case_per_target() -> None:
    root = ET.fromstring(junit_xml(sample_report()))
    cases = root.findall(".//testcase")
    assert len(cases) == 5
    by_status = {case.get("name", ""): case for case in cases}
    failed = [name for name, case in by_status.items() if case.find("failure") is not None]
    assert failed == ["Complete Workflow (diamond) (e2e_latency/diamond_4 e2e.workflow mean)"]
    assert len(root.findall(".//property[@value='warning']")) == 1
    assert len(root.findall(".//skipped")) == 1


def test_verdict_names_the_failing_check() -> None:
    result = verdict(sample_report())
    assert result.exit_code == 1
    assert result.lines[0] == "FAIL e2e_latency/diamond_4 e2e.workflow mean 612.30 ms ≥ 500 ms"
    assert result.lines[1].startswith("REGRESSED e2e_latency/diamond_4/e2e.workflow")


def test_verdict_shows_a_sub_millisecond_failure_in_its_own_unit() -> None:
    report = sample_report()
    [failed] = [c for c in report.checks if c.status == "fail"]
    tiny = dataclasses.replace(failed, measured_ms=0.0013,
                               target=dataclasses.replace(failed.target, threshold_ms=0.001))
    line = verdict(dataclasses.replace(report, checks=[tiny])).lines[0]
    assert line.endswith("mean 1.3 µs ≥ 1 µs"), line


def test_write_reports_fills_latest(tmp_path: Path) -> None:
    write_reports(sample_report(), tmp_path)
    latest = tmp_path / "latest"
    names = sorted(path.name for path in latest.iterdir())
    assert names == ["e2e_latency.json", "e2e_latency.log", "github-action-benchmark.json",
                     "junit.xml", "report.html", "results.json", "summary.md",
                     "task_initialization.json",
                     "task_initialization.log"]
    log = latest / "task_initialization.log"
    assert log.is_symlink() and log.resolve() == tmp_path / "2026-11-29-task_initialization.log"
    write_reports(sample_report(), tmp_path)  # again: links are replaced, not duplicated
    assert json.loads((latest / "results.json").read_text())["schema_version"] == 4


def test_a_target_on_a_thin_percentile_is_one_warning_not_two() -> None:
    import dataclasses
    import math

    from extract.analyse.analysis import check_targets
    from tests.unit.reports_fixture import stats, target
    report = sample_report()
    [thin] = check_targets(report.stats_of("e2e_latency"),
                           [target("e2e_latency", "linear_3", "e2e.workflow", "p99", 500,
                                   "Complete Workflow p99")])
    assert thin.status == "missing"
    empty = stats("e2e_latency", "tree_7", "e2e.workflow", 1.0, n=0, mean_ns=math.nan,
                  p50_ns=math.nan, mean_ci=None)
    report = dataclasses.replace(report, checks=[thin],
                                 stats=[*report.stats_of("e2e_latency"), empty])
    doc = suite_document(report, "e2e_latency")
    assert errors(doc, SCHEMA) == []
    targeted = [r for r in doc["results"] if r["metric"] == "p99"]
    assert len(targeted) == 1 and targeted[0]["status"] == "warning"
    assert doc["measurements"][-1]["mean_ms"] is None
    json.dumps(doc, allow_nan=False)
    assert "tree_7" not in " ".join(e["name"] for e in github_action_entries(report))
