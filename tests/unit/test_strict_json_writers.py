"""Every JSON file spanbench writes parses with a strict parser, whatever the values in it:
OTLP JSON lines, Jaeger JSON, the CI JSON reports, run.json, baseline metadata, the
deployment record, the sink's /status. Each round-trips what its format can carry."""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from typer.testing import CliRunner

from extract.export.jaeger import tag, tag_value, to_jaeger
from extract.export.otlp_json import read_lines, to_json, write_lines
from extract.receive.columns import as_key_values, raw_value
from extract.receive.receiver_http import StrictJSONResponse
from extract.reports.files import write_reports
from extract.store.baselines import METADATA, write_baseline
from extract.store.run_json import RUN_JSON, RunRecord
from extract.store.runstore import RunStore
from spanbench import strict_json
from spanbench.cli.app import app
from spanbench.runner.derivation import RECORD_FILE, _keep
from tests.export_fixture import RUN_ID, build_request
from tests.fake_runs import write_request
from tests.otlp_strategies import any_values, requests, valid_spans
from tests.strict_parse import expected_value, hostile_floats, hostile_text, json_like, strict_loads
from tests.unit.reports_fixture import sample_report

SLOW = settings(max_examples=max(10, settings.default.max_examples // 8))


def _name_or_value(value: Any) -> Any:
    """OTLP's own rule for a double in JSON: a non-finite one as its name."""
    if isinstance(value, float) and not math.isfinite(value):
        return strict_json.as_name(value)
    if isinstance(value, list):
        return [_name_or_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _name_or_value(item) for key, item in value.items()}
    return value


# ── OTLP JSON lines ──────────────────────────────────────────────────────────


@SLOW
@given(st.lists(requests(valid_spans()), max_size=2))
def test_otlp_json_lines_are_strict_and_round_trip(batch: list[ExportTraceServiceRequest]) -> None:
    out = io.StringIO()
    write_lines(batch, out)
    lines = out.getvalue().encode("utf-8").splitlines()
    assert [strict_loads(line) for line in lines] == [to_json(request) for request in batch]
    back = list(read_lines(line.decode("utf-8") for line in lines))
    assert [to_json(request) for request in back] == [to_json(request) for request in batch]


# ── Jaeger JSON ──────────────────────────────────────────────────────────────


@SLOW
@given(st.lists(requests(valid_spans()), max_size=2))
def test_jaeger_documents_are_strict(batch: list[ExportTraceServiceRequest]) -> None:
    text = strict_json.dumps(to_jaeger(batch), ensure_ascii=False)  # as `export jaeger` does
    document = strict_loads(text.encode("utf-8"))
    spans = sum(len(trace["spans"]) for trace in document["data"])
    assert spans == sum(len(scope.spans) for request in batch
                        for resource in request.resource_spans for scope in resource.scope_spans)


@given(any_values())
def test_a_jaeger_tag_keeps_what_jaeger_can_carry(value: AnyValue) -> None:
    entry = strict_loads(strict_json.dumps(tag("k", value), ensure_ascii=False).encode("utf-8"))
    back = tag_value(entry, "test")
    kind = value.WhichOneof("value")
    if kind in ("array_value", "kvlist_value"):
        assert strict_loads(back.string_value) == _name_or_value(raw_value(value))
    elif kind == "double_value" and not math.isfinite(value.double_value):
        assert entry["type"] == "string"
        assert back.string_value == strict_json.as_name(value.double_value)
    elif kind is None:
        assert back == AnyValue(string_value="")
    else:
        assert back == value


def test_non_finite_doubles_are_string_tags_and_finite_ones_stay_numbers() -> None:
    tags = [tag(str(number), AnyValue(double_value=number))
            for number in (math.nan, math.inf, -math.inf, 1.5)]
    assert [(entry["type"], entry["value"]) for entry in tags] == [
        ("string", "NaN"), ("string", "Infinity"), ("string", "-Infinity"), ("float64", 1.5)]


# ── reports ──────────────────────────────────────────────────────────────────


_STAT_FIELDS = ("mean_ns", "std_ns", "min_ns", "max_ns", "p50_ns", "p95_ns", "p99_ns")


@SLOW
@given(st.lists(hostile_floats, min_size=len(_STAT_FIELDS), max_size=len(_STAT_FIELDS)),
       hostile_floats, hostile_floats, st.text(max_size=8))
def test_report_json_files_are_strict(numbers: list[float], change: float, spread: float,
                                      scenario: str) -> None:
    report = sample_report()
    first = dataclasses.replace(report.stats[0], scenario=scenario,
                                p50_ci=(numbers[0], numbers[-1]),
                                **dict(zip(_STAT_FIELDS, numbers, strict=True)))
    comparison = dataclasses.replace(report.comparisons[0], change=change, spread=spread,
                                     current_median_ns=numbers[0])
    report = dataclasses.replace(report, stats=[first, *report.stats[1:]],
                                 comparisons=[comparison, *report.comparisons[1:]])
    with tempfile.TemporaryDirectory() as folder:
        written = [path for path in write_reports(report, Path(folder))
                   if path.suffix == ".json"]
        assert len(written) >= 3
        for path in written:
            strict_loads(path.read_bytes())


# ── run.json, baselines, the deployment record, /status ─────────────────────


@SLOW
@given(st.dictionaries(hostile_text, json_like, max_size=3))
def test_run_json_is_strict_and_round_trips(telemetry: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore.at(Path(folder), Path(folder))
        store.write_record("r1", RunRecord(run_id="r1", telemetry=telemetry))
        strict_loads((Path(folder) / "r1" / RUN_JSON).read_bytes())
        record = store.read_record("r1")
        assert record is not None and record.telemetry == expected_value(telemetry)


@SLOW
@given(st.dictionaries(hostile_text, json_like, max_size=3))
def test_baseline_metadata_is_strict_and_round_trips(metadata: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        samples = pa.table({"duration_ns": pa.array([1], pa.int64())})
        kept = write_baseline(Path(folder), "main", samples, metadata)
        assert strict_loads((kept / METADATA).read_bytes()) == expected_value(metadata)


@SLOW
@given(st.dictionaries(hostile_text, json_like, max_size=3))
def test_the_deployment_record_is_strict(record: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _keep(RunStore.at(Path(folder), Path(folder)), "r1", record)
        assert path.name == RECORD_FILE
        assert strict_loads(path.read_bytes()) == expected_value(record)


@given(st.dictionaries(hostile_text, json_like, max_size=3))
def test_the_sinks_status_is_strict(status: dict[str, Any]) -> None:
    assert strict_loads(StrictJSONResponse(status).body) == expected_value(status)


def test_bytes_tags_stay_base64() -> None:
    entry = tag("b", AnyValue(bytes_value=b"\xff\x00"))
    assert entry == {"key": "b", "type": "binary", "value": base64.b64encode(b"\xff\x00").decode()}
    assert KeyValue(key="b", value=tag_value(entry, "t")).value.bytes_value == b"\xff\x00"


# ── `spanbench export`, end to end from a stored run ────────────────────────


def _non_finite_run(runs_dir: Path) -> None:
    request = build_request()
    root = request.resource_spans[0].scope_spans[0].spans[0]
    root.attributes.extend(as_key_values({"nan": math.nan, "inf": math.inf, "ninf": -math.inf,
                                          "mixed": [1.5, math.nan], "map": {"x": -math.inf}}))
    write_request(runs_dir, request, "00000000000000000000-0000")


def _exported(tmp_path: Path, fmt: str) -> bytes:
    runs_dir, out = tmp_path / "runs", tmp_path / f"out.{fmt}"
    _non_finite_run(runs_dir)
    result = CliRunner().invoke(app, ["export", fmt, "--run", RUN_ID, "--include-warmup",
                                      "--runs-dir", str(runs_dir), "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_export_jaeger_of_non_finite_attributes_is_strict_json(tmp_path: Path) -> None:
    document = strict_loads(_exported(tmp_path, "jaeger"))
    tags = {entry["key"]: entry for trace in document["data"] for span in trace["spans"]
            for entry in span["tags"]}
    assert {key: (tags[key]["type"], tags[key]["value"]) for key in ("nan", "inf", "ninf")} == {
        "nan": ("string", "NaN"), "inf": ("string", "Infinity"), "ninf": ("string", "-Infinity")}
    assert strict_loads(tags["mixed"]["value"]) == [1.5, "NaN"]
    assert strict_loads(tags["map"]["value"]) == {"x": "-Infinity"}


def test_export_otlp_of_non_finite_attributes_is_strict_and_reads_back(tmp_path: Path) -> None:
    lines = _exported(tmp_path, "otlp").splitlines()
    documents = [strict_loads(line) for line in lines]
    values = {kv["key"]: kv["value"] for document in documents
              for resource in document["resourceSpans"] for scope in resource["scopeSpans"]
              for span in scope["spans"] for kv in span.get("attributes", ())}
    assert values["nan"] == {"doubleValue": "NaN"}
    assert values["ninf"] == {"doubleValue": "-Infinity"}
    back = [kv for request in read_lines(line.decode() for line in lines)
            for resource in request.resource_spans for scope in resource.scope_spans
            for span in scope.spans for kv in span.attributes if kv.key == "inf"]
    assert back and all(kv.value.double_value == math.inf for kv in back)
