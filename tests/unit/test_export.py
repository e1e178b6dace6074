"""Parquet → OTLP is lossless; OTLP JSON lines and Jaeger JSON round-trip as documented; the
selectors pick the right traces; the Jaeger document has the structure Jaeger's UI reads."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from extract.export.jaeger import TAG_TYPES, JaegerFormatError, from_jaeger, to_jaeger
from extract.export.otlp_json import read_lines, write_lines
from extract.export.otlp_rebuild import to_requests
from extract.export.selection import Selection, SelectionError, read_traces
from extract.receive.columns import text_of
from spanbench.cli.import_command import Format, detect, load
from tests.export_fixture import RUN_ID, build_request, canonical, trace_id, write_run

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
SPAN_KEYS = {"traceID", "spanID", "operationName", "references", "startTime", "duration",
             "tags", "logs", "processID", "warnings"}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("export") / "runs"
    write_run(runs)
    return runs


def _all(runs_dir: Path) -> list[Any]:
    return to_requests(read_traces(runs_dir, RUN_ID, Selection(include_warmup=True)))


def test_parquet_gives_back_every_span_exactly(runs_dir: Path) -> None:
    assert canonical(_all(runs_dir)) == canonical([build_request()])


def test_otlp_json_lines_round_trip_exactly(runs_dir: Path) -> None:
    requests = _all(runs_dir)
    out = io.StringIO()
    assert write_lines(requests, out) == 24
    lines = out.getvalue().splitlines()
    assert len(lines) == 6  # one request per trace
    first = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert HEX32.match(first["traceId"]) and HEX16.match(first["spanId"])  # OTLP/JSON: hex ids
    assert isinstance(first["kind"], int)  # and integer enums
    assert canonical(read_lines(lines)) == canonical([build_request()])


def _through_jaeger(span: dict[str, Any]) -> dict[str, Any]:
    """What Jaeger JSON keeps of a canonical span (the losses jaeger.py documents)."""
    start_us, duration_us = span["start"] // 1000, (span["end"] - span["start"]) // 1000
    attributes = {}
    for key, value in span["attributes"].items():
        if "arrayValue" in value or "kvlistValue" in value:
            from google.protobuf import json_format
            from opentelemetry.proto.common.v1.common_pb2 import AnyValue
            any_value = json_format.ParseDict(value, AnyValue())
            value = {"stringValue": text_of(any_value)[0]}
        if key == "error" and span["status"][0] == Status.StatusCode.STATUS_CODE_ERROR:
            continue
        attributes[key] = value
    return {**span, "start": start_us * 1000, "end": (start_us + duration_us) * 1000,
            "attributes": attributes,
            "events": [(time // 1000 * 1000, name, attrs) for time, name, attrs in span["events"]],
            "links": [(trace, span_id, "", {}) for trace, span_id, _, _ in span["links"]]}


def test_jaeger_round_trip_keeps_what_jaeger_can_hold(runs_dir: Path) -> None:
    document = json.loads(json.dumps(to_jaeger(_all(runs_dir))))
    back = canonical(from_jaeger(document))
    expected = {span_id: _through_jaeger(span)
                for span_id, span in canonical([build_request()]).items()}
    assert back == expected
    lossy = [span for span in canonical([build_request()]).values()
             if span["start"] % 1000 or span["end"] % 1000]
    assert lossy, "the fixture must have sub-microsecond times, or truncation is untested"


def _check_value(tag: dict[str, Any], where: str) -> None:
    kind, value = tag["type"], tag["value"]
    assert kind in TAG_TYPES, where
    if kind == "string":
        assert isinstance(value, str), where
    elif kind == "bool":
        assert isinstance(value, bool), where
    elif kind == "int64":
        assert isinstance(value, int) and not isinstance(value, bool), where
        assert -(2**63) <= value < 2**63, where
    elif kind == "float64":
        assert isinstance(value, float | int) and not isinstance(value, bool), where
    else:
        base64.b64decode(value, validate=True)


def _check_tags(tags: Any, where: str) -> None:
    assert isinstance(tags, list), where
    for tag in tags:
        assert set(tag) == {"key", "type", "value"}, where
        assert isinstance(tag["key"], str) and tag["key"], where
        _check_value(tag, f"{where} tag {tag['key']}")


def validate_jaeger(document: Any) -> None:
    """Jaeger's query-API JSON, field for field: jaeger model/json/model.go for names and types,
    jaeger-ui's utils/fixtures/otlp2jaeger-out.json for the envelope and the explicit empties."""
    assert set(document) == {"data", "total", "limit", "offset", "errors"}
    assert isinstance(document["data"], list) and document["errors"] is None
    for trace in document["data"]:
        assert set(trace) == {"traceID", "spans", "processes", "warnings"}
        assert HEX32.match(trace["traceID"]) and trace["warnings"] is None
        processes = trace["processes"]
        assert isinstance(processes, dict) and processes
        for process_id, process in processes.items():
            assert re.match(r"^p[0-9]+$", process_id)
            assert set(process) == {"serviceName", "tags"}
            assert isinstance(process["serviceName"], str) and process["serviceName"]
            _check_tags(process["tags"], f"process {process_id}")
        span_ids = {span["spanID"] for span in trace["spans"]}
        roots = 0
        for span in trace["spans"]:
            where = f"span {span.get('spanID')}"
            assert set(span) == SPAN_KEYS, where
            assert span["traceID"] == trace["traceID"], where
            assert HEX16.match(span["spanID"]), where
            assert isinstance(span["operationName"], str), where
            for field in ("startTime", "duration"):
                assert isinstance(span[field], int) and span[field] >= 0, where  # uint64 µs
            assert span["processID"] in processes, where
            assert span["warnings"] is None, where
            _check_tags(span["tags"], where)
            assert isinstance(span["references"], list), where
            for number, reference in enumerate(span["references"]):
                assert set(reference) == {"refType", "traceID", "spanID"}, where
                assert reference["refType"] in ("CHILD_OF", "FOLLOWS_FROM"), where
                assert HEX32.match(reference["traceID"]), where
                assert HEX16.match(reference["spanID"]), where
                if reference["refType"] == "CHILD_OF":
                    assert number == 0, f"{where}: the parent must be the first reference"
                    assert reference["spanID"] in span_ids, f"{where}: parent not in trace"
            roots += not any(ref["refType"] == "CHILD_OF" for ref in span["references"])
            assert isinstance(span["logs"], list), where
            for log in span["logs"]:
                assert set(log) == {"timestamp", "fields"}, where
                assert isinstance(log["timestamp"], int) and log["timestamp"] >= 0, where
                _check_tags(log["fields"], f"{where} log")
        assert roots == 1, f"trace {trace['traceID']} has {roots} roots"


def test_jaeger_document_has_the_structure_jaeger_reads(runs_dir: Path) -> None:
    document = json.loads(json.dumps(to_jaeger(_all(runs_dir))))
    validate_jaeger(document)
    assert len(document["data"]) == 6
    trace = document["data"][0]
    assert {p["serviceName"] for p in trace["processes"].values()} == {
        "spanbench-driver", "tasker-worker"}
    by_name = {span["operationName"]: span for span in trace["spans"]}
    tags = {tag["key"]: (tag["type"], tag["value"]) for tag in by_name["execute"]["tags"]}
    assert tags["span.kind"] == ("string", "consumer")
    assert tags["otel.status_code"] == ("string", "ERROR")
    assert tags["otel.status_description"] == ("string", "handler raised ValueError")
    assert tags["error"] == ("bool", True)
    assert tags["otel.scope.name"] == ("string", "stack.engine.worker")
    assert tags["bench.iteration"] == ("int64", 0)
    root_tags = {tag["key"]: (tag["type"], tag["value"]) for tag in by_name["e2e.workflow"]["tags"]}
    assert root_tags["payload"] == ("binary", base64.b64encode(b"\x00\x01\xfe").decode())
    assert root_tags["ratio"] == ("float64", 0.1)
    assert root_tags["steps"] == ("string", '["a","b"]')
    assert root_tags["w3c.tracestate"] == ("string", "vendor=abc,other=1")
    assert "span.kind" not in {tag["key"] for tag in by_name["unspecified kind"]["tags"]}
    log = by_name["execute"]["logs"][0]
    assert log["fields"][0] == {"key": "event", "type": "string", "value": "exception"}
    references = by_name["execute"]["references"]
    assert [ref["refType"] for ref in references] == ["CHILD_OF", "FOLLOWS_FROM"]
    assert by_name["e2e.workflow"]["duration"] == 4_000  # 4_000_123 ns, truncated


def test_validator_rejects_what_jaeger_would_not_read(runs_dir: Path) -> None:
    document = json.loads(json.dumps(to_jaeger(_all(runs_dir))))
    document["data"][0]["spans"][0]["startTime"] = "1764374400123456"
    with pytest.raises(AssertionError):
        validate_jaeger(document)


def _ids(traces: list[list[dict[str, Any]]]) -> list[str]:
    return [trace[0]["TraceId"] for trace in traces]


@pytest.mark.parametrize(("selection", "expected"), [
    (Selection(slowest=2), [1, 2]),
    (Selection(slowest=2, include_warmup=True), [5, 1]),
    (Selection(slowest=50), [1, 2, 0, 3]),  # 4: stack tracing off
    (Selection(scenario="linear_3"), [0, 2]),
    (Selection(scenario="linear_3", include_warmup=True), [0, 2, 5]),
    (Selection(scenario="diamond_4", suite="e2e_latency"), [1]),
    (Selection(trace_id=trace_id(3).hex().upper()), [3]),
    (Selection(), [0, 1, 2, 3, 4]),
])
def test_selectors_pick_the_right_traces(runs_dir: Path, selection: Selection,
                                         expected: list[int]) -> None:
    traces = read_traces(runs_dir, RUN_ID, selection)
    assert _ids(traces) == [trace_id(index).hex() for index in expected]
    assert all(len(trace) == 4 for trace in traces)  # whole traces, children included


def test_selection_errors_name_the_problem(runs_dir: Path) -> None:
    with pytest.raises(SelectionError, match="scenario nope"):
        read_traces(runs_dir, RUN_ID, Selection(scenario="nope"))
    with pytest.raises(SelectionError, match="trace ff"):
        read_traces(runs_dir, RUN_ID, Selection(trace_id="ff"))
    with pytest.raises(ValueError, match="--slowest, --scenario"):
        Selection(slowest=1, scenario="linear_3")


def test_import_detects_and_loads_both_formats(runs_dir: Path, tmp_path: Path) -> None:
    requests = _all(runs_dir)
    jaeger_file, lines_file, single = (tmp_path / name for name in ("j.json", "o.jsonl", "one"))
    jaeger_file.write_text(json.dumps(to_jaeger(requests), indent=2))
    with lines_file.open("w") as out:
        write_lines(requests, out)
    single.write_text(lines_file.read_text().splitlines()[0] + "\n")
    assert detect(jaeger_file.read_text()) is Format.jaeger
    assert detect(lines_file.read_text()) is Format.otlp
    assert canonical(load(lines_file)) == canonical([build_request()])
    assert len(canonical(load(single))) == 4
    assert len(canonical(load(jaeger_file))) == 24


def test_bad_jaeger_input_is_named() -> None:
    with pytest.raises(JaegerFormatError, match="'data'"):
        from_jaeger({"traces": []})
    span = {"traceID": "ab", "spanID": "cd", "operationName": "x", "startTime": 1,
            "duration": 2, "processID": "p1",
            "tags": [{"key": "n", "type": "int64", "value": "many"}]}
    with pytest.raises(JaegerFormatError, match="tag 'n' of type int64"):
        from_jaeger({"data": [{"traceID": "ab", "spans": [span],
                               "processes": {"p1": {"serviceName": "s"}}}]})
    span["tags"] = []
    span["processID"] = "p9"
    with pytest.raises(JaegerFormatError, match="processID 'p9'"):
        from_jaeger({"data": [{"traceID": "ab", "spans": [span], "processes": {}}]})


def test_short_jaeger_ids_are_left_padded() -> None:
    span = {"traceID": "ab", "spanID": "cd", "operationName": "x", "startTime": 1,
            "duration": 2, "processID": "p1"}
    spans = canonical(from_jaeger({"traceID": "ab", "spans": [span],
                                   "processes": {"p1": {"serviceName": "s"}}}))
    assert spans["00000000000000cd"]["trace"] == "0" * 30 + "ab"
    assert spans["00000000000000cd"]["end"] == 3000
