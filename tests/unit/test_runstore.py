"""The run store: layout, run ids, run.json's schema and versions, the runs dir's resolution;
a bucket (moto, in process) behind the same interface as a folder."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from extract.store import object_store
from extract.store.object_store import S3Runs
from extract.store.run_json import (
    SCHEMA_VERSION,
    DeploymentRecord,
    PrerequisiteRecord,
    RunConfig,
    RunJsonError,
    RunRecord,
    parse,
)
from extract.store.runstore import BucketRuns, LocalRuns, RunsDirError, RunStore, new_run_id
from spanbench.cli.app import app
from tests.fake_runs import days, write_run
from tests.html_run_fixture import RUN_ID, write_report_run

REPO = Path(__file__).resolve().parents[2]
RECORD = RunRecord(
    run_id="20261101T120000Z-abcdef", started_at=days(0), commit="c0ffee",
    config=RunConfig(suites=("e2e_latency",), samples=5, quick=True),
    deployment=DeploymentRecord(orchestration_url="http://o", started_by_run=("sink x",)),
    prerequisites=(PrerequisiteRecord("Database reachable", True, "ok"),),
    throughput=[{"scenario": "s", "completed": 3}])
SAMPLES = [("e2e_latency", "linear_3", "e2e", 1_000_000)]


@pytest.fixture(autouse=True)
def no_runs_dir_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPANBENCH_RUNS_DIR", "SPANBENCH_SINK_OUT"):
        monkeypatch.delenv(name, raising=False)


def test_run_ids_sort_by_time_and_are_safe_names() -> None:
    early = new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", early)
    assert new_run_id() != new_run_id()


def test_the_layout_of_a_local_store(tmp_path: Path) -> None:
    store = RunStore.at(tmp_path / "runs", home=tmp_path / "home")
    assert isinstance(store, LocalRuns) and str(store) == str(tmp_path / "runs")
    assert store.artifacts_dir("r1") == tmp_path / "runs" / "r1" / "artifacts"
    assert store.history_dir == tmp_path / "runs" / "_history"
    assert store.baselines_dir == tmp_path / "home" / "baselines"
    assert store.staging_dir == tmp_path / "runs" and store.s3 is None
    with pytest.raises(ValueError, match="run id"):
        store.artifacts_dir("../escape")


def test_the_layout_of_a_bucket_store(tmp_path: Path) -> None:
    store = RunStore.at("s3://spans/bench/ci", home=tmp_path)
    assert isinstance(store, BucketRuns) and str(store) == "s3://spans/bench/ci"
    assert store.s3 == S3Runs("spans", "bench/ci")
    assert store.staging_dir == tmp_path / "s3-staging" / "spans" / "bench" / "ci"
    assert store.history_dir == store.staging_dir / "_history"  # kept on this machine
    assert store.artifacts_dir("r1") == tmp_path / "artifacts" / "r1"
    assert store.spans_location("r1") == "s3://spans/bench/ci/r1/spans"
    with pytest.raises(RunsDirError, match="s3://"):
        RunStore.at("s3:///nobucket")


def test_runs_listed_are_those_with_spans_and_the_newest_stamped(tmp_path: Path) -> None:
    store = RunStore.at(tmp_path)
    write_run(tmp_path, "20261101T120000Z-aaaaaa", SAMPLES)
    write_run(tmp_path, "20261102T120000Z-bbbbbb", SAMPLES)
    write_run(tmp_path, "collected", SAMPLES)
    (tmp_path / "empty").mkdir()
    (tmp_path / "_history").mkdir()
    assert store.run_ids() == ["20261101T120000Z-aaaaaa", "20261102T120000Z-bbbbbb",
                               "collected"]
    assert store.newest_stamped() == "20261102T120000Z-bbbbbb"
    assert [p.name for p in store.part_files("collected")] == ["part-0.parquet"]


def test_run_json_round_trips_with_its_version(tmp_path: Path) -> None:
    store = RunStore.at(tmp_path)
    path = Path(store.write_record(RECORD.run_id or "", RECORD))
    document = json.loads(path.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    assert list(document)[:4] == ["schema_version", "run_id", "started_at", "commit"]
    assert document["deployment"]["started_by_run"] == ["sink x"]
    assert store.read_record(RECORD.run_id or "") == RECORD
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temporary left


def test_a_run_json_without_a_version_still_reads() -> None:
    """As spanbench wrote it before run.json had a schema (and as the fixtures are)."""
    record = parse({"run_id": "r", "started_at": "2026-11-01T12:00:00+00:00", "commit": None,
                    "config": {"suites": ["e2e_latency"], "quick": False},
                    "deployment": {"started_by_run": True},
                    "prerequisites": [{"name": "Sink", "ok": True, "detail": "d"}],
                    "something_newer": {"kept": 1}})
    assert record.schema_version == 0
    assert record.started_at == days(0) and record.commit is None and not record.quick
    assert record.environment == "Reference stack (started by spanbench run)"
    assert record.prerequisites == (PrerequisiteRecord("Sink", True, "d"),)
    assert record.to_json()["something_newer"] == {"kept": 1}
    assert record.to_json()["schema_version"] == SCHEMA_VERSION


OLD_RUN_JSON = {
    "run_id": "20261101T120000Z-abcdef", "started_at": "2026-11-01T12:00:00.123456+00:00",
    "commit": "0123abcd-dirty",
    "host": {"name": "h", "cpu": "c", "cores": 2, "platform": "p", "python": "3.11",
             "spanbench": "0.1"},
    "config": {"suites": ["e2e_latency"], "samples": None, "warmup": 1, "quick": False,
               "iteration_timeout_s": 30.0, "load": {"mode": "closed", "level": "c1"}},
    "deployment": {"orchestration_url": "http://127.0.0.1:1", "worker_urls": ["http://w"],
                   "otlp_endpoint": "http://127.0.0.1:2",
                   "started_by_run": ["sink http://127.0.0.1:2", "stack (2 workers)"]},
    "database": {"postgresql": "17", "pgmq": None, "settings": {"fsync": "on"}},
    "finished_at": "2026-11-01T12:05:00.000001+00:00", "interrupted": False,
    "failures": {"e2e_latency": [{"scenario": "s", "index": 1, "error": "boom"}]},
    "telemetry": {"spans_emitted": 3}, "sink": {"restarts": [], "status_at_end_of_suites": {}},
    "prerequisites": [{"name": "Sink", "ok": True, "detail": "d", "fix": ""}],
    "stack_telemetry": [{"service": "worker", "spans": 4}],
    "throughput": [{"scenario": "s", "completed": 3}],
}
"""run.json as `spanbench run` wrote it before the schema had a version (every key)."""


def test_run_json_as_written_before_the_schema_reads_and_writes_back_the_same() -> None:
    record = parse(OLD_RUN_JSON)
    assert record.schema_version == 0
    assert record.environment == "Reference stack (started by spanbench run)"
    assert record.commit == "0123abcd-dirty" and not record.quick
    assert record.to_json() == {"schema_version": SCHEMA_VERSION, **OLD_RUN_JSON}


def test_the_test_fixtures_run_json_read(tmp_path: Path) -> None:
    write_report_run(tmp_path)
    write_run(tmp_path, "20261102T120000Z-bbbbbb", SAMPLES, started_at=days(1))
    store = RunStore.at(tmp_path)
    assert store.record(RUN_ID).commit == "abc123def456"
    assert store.record("20261102T120000Z-bbbbbb").started_at == days(1)


@pytest.mark.parametrize(("document", "message"), [
    ({"started_at": 12}, r"run.json.started_at is 12, expected str"),
    ({"started_at": "yesterday"}, "expected an ISO 8601 time"),
    ({"config": {"quick": "yes"}}, r"run.json.config.quick is 'yes', expected bool"),
    ({"config": {"samples": True}}, r"run.json.config.samples is True"),
    ({"prerequisites": [{"ok": True}]}, "lacks its name or ok"),
    ({"schema_version": SCHEMA_VERSION + 1}, "upgrade spanbench"),
    ({"suites": {"a": {"status": "ran", "machine": {"cpu_steal": "2%"}}}},
     r"suites.a.machine has a value that is not a number"),
    ({"suites": {"a": {"status": "ran", "cpu_takers": [{"pid": 7, "command": "x"}]}}},
     r"suites.a.cpu_takers has an entry without a share"),
])
def test_a_run_json_off_the_schema_is_refused_naming_the_key(document: dict[str, object],
                                                            message: str) -> None:
    with pytest.raises(RunJsonError, match=message):
        parse(document)


def test_a_suite_keeps_its_machine_shares() -> None:
    document = {"schema_version": SCHEMA_VERSION, "suites": {
        "a": {"status": "ran", "reason": "", "machine": {"cpu_steal": 0.02, "cpu_niced": 0}},
        "b": {"status": "skipped", "reason": "no stack"}}}
    record = parse(document)
    assert record.suites["a"].machine == {"cpu_steal": 0.02, "cpu_niced": 0}
    assert record.suites["b"].machine is None
    assert record.to_json() == document


def test_a_suite_keeps_the_processes_that_took_its_cpu() -> None:
    takers = [{"pid": 4242, "command": "python -m pytest", "share": 0.021}]
    document = {"schema_version": SCHEMA_VERSION, "suites": {
        "a": {"status": "ran", "reason": "", "machine": {"cpu_steal": 0.0, "cpu_foreign": 0.03},
              "cpu_takers": takers},
        "b": {"status": "ran", "reason": "", "machine": {"cpu_steal": 0.0, "cpu_foreign": 0.0}}}}
    record = parse(document)
    assert record.suites["a"].cpu_takers == takers and record.suites["b"].cpu_takers is None
    assert record.to_json() == document


def test_reading_run_json(tmp_path: Path) -> None:
    store = RunStore.at(tmp_path)
    assert store.read_record("none") is None and not store.has_record("none")
    assert store.record("none").commit is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{not json")
    with pytest.raises(RunJsonError, match=r"bad/run.json is unreadable"):
        store.read_record("bad")
    with pytest.raises(ValueError, match="run id"):
        store.read_record("../bad")


def test_started_at_from_run_json_then_the_id_then_the_files(tmp_path: Path) -> None:
    store = RunStore.at(tmp_path)
    write_run(tmp_path, "collected", SAMPLES)
    assert store.started_at("x", RECORD) == days(0)
    assert store.started_at("20261102T120000Z-bbbbbb") == datetime(2026, 11, 2, 12, tzinfo=UTC)
    assert store.started_at("collected") == store.last_written("collected")


def test_the_runs_dir_is_chosen_by_option_then_env_then_its_alias_then_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    assert RunStore.resolve(None, home) == RunStore.at(home / "runs", home)
    monkeypatch.setenv("SPANBENCH_SINK_OUT", str(tmp_path / "alias"))
    assert str(RunStore.resolve(None, home)) == str(tmp_path / "alias")
    monkeypatch.setenv("SPANBENCH_RUNS_DIR", str(tmp_path / "env"))
    assert str(RunStore.resolve(None, home)) == str(tmp_path / "env")
    assert str(RunStore.resolve(tmp_path / "option", home)) == str(tmp_path / "option")
    monkeypatch.setenv("SPANBENCH_RUNS_DIR", "s3://bucket/p")
    assert isinstance(RunStore.resolve(None, home), BucketRuns)


@pytest.mark.parametrize("spelling", ["--runs-dir", "--out"])
def test_commands_take_runs_dir_and_the_older_out(tmp_path: Path, spelling: str) -> None:
    write_run(tmp_path, "20261101T120000Z-aaaaaa", SAMPLES, started_at=days(0))
    result = CliRunner().invoke(app, ["extract", "20261101T120000Z-aaaaaa", spelling,
                                      str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["spans"] == 1


@pytest.mark.parametrize("variable", ["SPANBENCH_RUNS_DIR", "SPANBENCH_SINK_OUT"])
def test_commands_find_the_runs_dir_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    write_run(tmp_path, "20261101T120000Z-aaaaaa", SAMPLES, started_at=days(0))
    monkeypatch.setenv(variable, str(tmp_path))
    result = CliRunner().invoke(app, ["runs", "--json"])
    assert result.exit_code == 0, result.output
    assert [run["run_id"] for run in json.loads(result.output)] == ["20261101T120000Z-aaaaaa"]


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A moto S3 server with an empty bucket, and the store in it."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {"AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    bucket_name = f"runstore-{port}"
    client.create_bucket(Bucket=bucket_name)
    try:
        yield RunStore.at(f"s3://{bucket_name}/runs", home=tmp_path)
    finally:
        server.stop()


def test_a_bucket_and_a_folder_behave_the_same(tmp_path: Path, bucket: RunStore) -> None:
    local_dir = tmp_path / "local"
    write_run(local_dir, "collected", SAMPLES)
    folder = RunStore.at(local_dir)
    [part] = folder.part_files("collected")
    table = pq.read_table(part)
    for store in (folder, bucket):
        store.write_part("20261101T120000Z-aaaaaa", "0", table)
        store.write_record("20261101T120000Z-aaaaaa", RECORD)
        assert "20261101T120000Z-aaaaaa" in store.run_ids()
        assert store.newest_stamped() == "20261101T120000Z-aaaaaa"
        assert store.read_record("20261101T120000Z-aaaaaa") == RECORD
        assert store.has_record("20261101T120000Z-aaaaaa")
        assert store.read_record("nothing") is None
        assert [p.name for p in store.part_files("20261101T120000Z-aaaaaa")] == [
            "part-0.parquet"]
        assert store.last_written("20261101T120000Z-aaaaaa").tzinfo is not None
    assert bucket.s3 is not None
    assert object_store.get_text(bucket.s3, "20261101T120000Z-aaaaaa/run.json")


STORE_MAY_NOT_IMPORT = ("extract.analyse", "extract.reports", "extract.receive", "extract.export",
                        "spanbench.cli", "spanbench.runner")


def test_the_store_imports_nothing_above_it() -> None:
    """Storage is below analysis, reports, receiving and the CLI: none of them in its imports."""
    offending = []
    for path in sorted((REPO / "extract" / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offending += [f"{path.name}: {name}" for name in names
                          if name.startswith(STORE_MAY_NOT_IMPORT)]
    assert offending == []
