"""A deployment's own spans, exported in traces of their own without bench.* attributes, join
the run's workflows by task and step ids in the analysis; the phase map names their phases."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import queries
from extract.analyse.duckdb_runner import open_runs
from extract.analyse.unmapped import UnmappedName, unmapped_names
from extract.store.runstore import UNASSIGNED
from spanbench import phase_map
from spanbench.cli.app import app
from spanbench.vocabulary import Attr
from tests.fake_runs import (
    STITCH_IDS,
    T0,
    OtlpSpan,
    otlp_request,
    stitch_requests,
    write_request,
    write_run_json,
)

RUN = "20261101T120000Z-abcdef"
WORKFLOW_TRACE = f"{1:032x}"
ROOT = f"{1:016x}"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    for part, request in enumerate(stitch_requests(RUN)):
        write_request(tmp_path, request, part=str(part))
    write_run_json(tmp_path, RUN, {"run_id": RUN, "started_at": T0.isoformat(),
                                   "config": {"system": "tasker-core",
                                              "suites": ["e2e_latency"], "quick": False}})
    return tmp_path


def _stitched(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[object, ...]]:
    rows = con.execute(
        "SELECT SpanName, TraceId, ParentSpanId, Phase, Suite, Scenario, Iteration, Warmup, "
        "SpanAttributes[$from] FROM spans WHERE RunId = $run AND SpanAttributes[$from] "
        "IS NOT NULL", {"run": RUN, "from": Attr.STITCHED_FROM}).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_deployment_spans_join_their_workflow_by_correlation_id_and_by_step_uuid(
        runs_dir: Path) -> None:
    stitched = _stitched(open_runs(runs_dir, [RUN]))
    workflow = ("e2e_latency", "linear_4", 1, False)
    assert stitched == {
        "finalize_task": (WORKFLOW_TRACE, ROOT, "task.finalize", *workflow, f"{100:032x}"),
        "update_task_state": (WORKFLOW_TRACE, f"{101:016x}", None, *workflow, f"{100:032x}"),
        "worker.step_execution": (WORKFLOW_TRACE, ROOT, "execute", *workflow, f"{200:032x}"),
    }


def test_spans_of_no_task_of_the_run_are_stored_but_in_no_phase_of_it(runs_dir: Path) -> None:
    con = open_runs(runs_dir, [RUN])
    [(in_run,)] = con.execute("SELECT count(*) FROM spans WHERE RunId = $run",
                              {"run": RUN}).fetchall()
    assert in_run == 3 + 3  # the workflow's own spans and the three that joined it
    [(foreign,)] = con.execute(
        "SELECT count(*) FROM spans WHERE SpanAttributes['correlation_id'] = 'c-other' "
        "OR starts_with(SpanAttributes['target'], 'h2::')").fetchall()
    assert foreign == 0
    stored = open_runs(runs_dir, [UNASSIGNED], phase_map=phase_map.builtin("tasker-core"))
    rows = dict(stored.execute("SELECT SpanName, Phase FROM spans "
                               "WHERE SpanId IN ('000000000000012d', '0000000000000191')"
                               ).fetchall())
    assert rows == {"finalize_task": "task.finalize", "Connection::poll": None}
    assert unmapped_names(stored, UNASSIGNED) == [
        UnmappedName(None, "update_task_state", 1)]  # h2 frames are known: in no phase


def test_the_workflow_walk_holds_the_joined_spans_that_have_a_phase(runs_dir: Path) -> None:
    con = open_runs(runs_dir, [RUN])
    con.execute(queries.load()["e2e_workflows"].sql)
    names = sorted(name for (name,) in con.execute(
        "SELECT name FROM e2e_walk($run)", {"run": RUN}).fetchall())
    assert names == ["api.create_task", "e2e.workflow", "execute", "task.finalize"]


def test_an_unknown_name_is_listed_and_an_edited_map_changes_the_attribution(
        runs_dir: Path, tmp_path: Path) -> None:
    assert unmapped_names(open_runs(runs_dir, [RUN]), RUN) == [
        UnmappedName("e2e_latency", "update_task_state", 1)]
    edited = tmp_path / "my-map.toml"
    edited.write_text(
        phase_map.builtin_path("tasker-core").read_text(encoding="utf-8")
        .replace('name = "finalize_task"\nphase = "task.finalize"',
                 'name = "finalize_task"\nphase = "result.process"')
        + '\n[[span]]\nname = "update_task_state"\nphase = "task.finalize"\n')
    con = open_runs(runs_dir, [RUN], phase_map=phase_map.load(edited))
    phases = {name: row[2] for name, row in _stitched(con).items()}
    assert phases == {"finalize_task": "result.process", "update_task_state": "task.finalize",
                      "worker.step_execution": "execute"}
    assert unmapped_names(con, RUN) == []


def _edited_map(tmp_path: Path) -> Path:
    path = tmp_path / "finalize-as-result.toml"
    path.write_text('[[span]]\nname = "finalize_task"\nphase = "result.process"\n'
                    'evidence = "a test\'s edit"\n')
    return path


def test_query_takes_a_phase_map(runs_dir: Path, tmp_path: Path) -> None:
    sql = tmp_path / "phases.sql"
    sql.write_text("SELECT SpanName AS name, Phase AS phase FROM spans "
                   "WHERE SpanAttributes['bench.stitched.from'] IS NOT NULL ORDER BY name")

    def phases(*extra: str) -> dict[str, str | None]:
        result = CliRunner().invoke(app, ["query", str(sql), "--run", RUN, "--format", "json",
                                          "--runs-dir", str(runs_dir), *extra])
        assert result.exit_code == 0, result.stderr
        return {row["name"]: row["phase"] for row in json.loads(result.stdout)}

    assert phases()["finalize_task"] == "task.finalize"
    edited = phases("--phase-map", str(_edited_map(tmp_path)))
    assert edited == {"finalize_task": "result.process", "update_task_state": None,
                      "worker.step_execution": None}  # the edited map knows one name only


def test_a_phase_map_that_is_not_one_is_refused_naming_the_rule(runs_dir: Path,
                                                                tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[span]]\nname = "finalize_task"\nphase = "finalise"\n')
    result = CliRunner().invoke(app, ["query", "phase_summary", "--run", RUN,
                                      "--runs-dir", str(runs_dir), "--phase-map", str(bad)])
    assert result.exit_code == 2
    assert "span rule 1: unknown phase 'finalise'" in result.stderr


def test_the_report_lists_the_unmapped_names(runs_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--run", RUN, "--runs-dir", str(runs_dir),
                                      "--output-dir", str(tmp_path / "reports")])
    assert "Unmapped span names: update_task_state (1), 1 spans in no phase" in result.stdout
    log = (tmp_path / "reports" / "latest" / "e2e_latency.log").read_text()
    assert "Unmapped span names: update_task_state (1)" in log


def test_a_span_long_after_the_run_is_not_looked_at(runs_dir: Path) -> None:
    late = OtlpSpan(500, 501, "finalize_task", 10 * 60_000, 10 * 60_000 + 5,
                    {Attr.TASK_UUID: STITCH_IDS["task_uuid"]})
    write_request(runs_dir, otlp_request("tasker-core-orchestration", [late]), part="late")
    assert set(_stitched(open_runs(runs_dir, [RUN]))) == {
        "finalize_task", "update_task_state", "worker.step_execution"}
    [(trace,)] = open_runs(runs_dir, [RUN]).execute(
        "SELECT SpanAttributes[$from] FROM spans WHERE SpanName = 'finalize_task' AND RunId = $run",
        {"from": Attr.STITCHED_FROM, "run": RUN}).fetchall()
    assert trace == f"{100:032x}"


def test_the_runs_system_chooses_the_built_in_map(runs_dir: Path) -> None:
    assert _stitched(open_runs(runs_dir, [RUN]))["finalize_task"][2] == "task.finalize"
    (runs_dir / RUN / "run.json").write_text("{not json")  # spanbench's map: no such name
    assert _stitched(open_runs(runs_dir, [RUN]))["finalize_task"][2] is None
