"""spanbench.security and the checks built on it: names, contained paths, tokens."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from opentelemetry.util.re import parse_env_headers
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from extract.analyse import baseline_compare
from extract.analyse.analysis import phase_statistics
from extract.analyse.breakdown import e2e_analysis
from extract.reports.files import write_reports
from extract.store import parquet_store
from instrument.settings import orchestration_auth_headers
from spanbench import security
from spanbench.runner import deployment
from spanbench.security import PathEscape, UnsafeName, bearer_token, check_name, contained
from stack.engine import auth
from tests.spans_table import spans_table
from tests.unit.reports_fixture import sample_report

BAD_NAMES = ["", ".", "..", "../x", "../../etc/passwd", "/etc", "/tmp/x", "a/b", "a\\b",
             ".hidden", "-a", "a b", "run\n", "a\x00b", "x" * 129, "x'; DROP TABLE spans; --",
             "é", "a/../../b"]
GOOD_NAMES = ["a", "main", "20261129T222039Z-3fa9c2", "v1.2_rc-3", "A" * 128]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    assert not security.is_safe_name(name)
    with pytest.raises(UnsafeName, match="is not valid: use 1 to 128 letters"):
        check_name(name, "run id")


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_pass(name: str) -> None:
    assert check_name(name, "run id") == name


def test_a_very_long_name_is_shown_shortened() -> None:
    with pytest.raises(UnsafeName) as error:
        check_name("y" * 10_000, "suite name")
    assert "(10000 characters)" in str(error.value) and len(str(error.value)) < 300


def test_contained_refuses_dot_dot_and_symlink_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inside").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    assert contained(root, "inside", "file") == root / "inside" / "file"
    with pytest.raises(PathEscape):
        contained(root, "..", "outside")
    with pytest.raises(PathEscape):
        contained(root, "/etc/passwd")
    (root / "link").symlink_to(outside)
    with pytest.raises(PathEscape, match="symbolic link"):
        contained(root, "link", "file")


def test_the_parquet_store_refuses_a_run_dir_that_links_outside(tmp_path: Path) -> None:
    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    runs.mkdir()
    elsewhere.mkdir()
    (runs / "linked").symlink_to(elsewhere)
    table = pa.Table.from_pylist([], schema=parquet_store.SCHEMA)
    with pytest.raises(PathEscape):
        parquet_store.write_part(runs, "linked", "00000001", table)
    with pytest.raises(UnsafeName):
        parquet_store.write_part(runs, "../elsewhere", "00000001", table)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", "a\x00b", "z" * 200, ".x"])
def test_save_baseline_refuses_names_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeName):
        baseline_compare.save_baseline(tmp_path / "runs", tmp_path / "baselines", name, "run")
    assert not (tmp_path / "baselines").exists()


def test_report_files_refuse_a_suite_name_that_is_not_a_file_name(tmp_path: Path) -> None:
    report = sample_report()
    stats = [row.__class__(**{**row.__dict__, "suite": "../../escaped"}) for row in report.stats]
    hostile = report.__class__(**{**report.__dict__, "stats": stats})
    with pytest.raises(UnsafeName, match=r"suite name '\.\./\.\./escaped'"):
        write_reports(hostile, tmp_path / "out")
    assert not list(tmp_path.rglob("*escaped*"))


def test_queries_take_run_ids_and_names_as_data() -> None:
    con = spans_table([])
    con.execute("CREATE TABLE sentinel AS SELECT 42 AS n")
    con.execute("INSERT INTO spans (RunId, Suite, Scenario, Phase, Duration, Warmup) VALUES "
                "('r', 'task_initialization', $$x'); DROP TABLE sentinel; --$$, 'p', 1, false)")
    for run_id in ("x'; DROP TABLE sentinel; --", "' OR '1'='1", "r' --"):
        assert phase_statistics(con, run_id) == []
        analysis = e2e_analysis(con, run_id, with_workflows=True)
        assert analysis.breakdown == [] and analysis.workflows is not None
        assert analysis.workflows.num_rows == 0
        assert baseline_compare.run_samples(con, run_id).num_rows == 0
    [row] = phase_statistics(con, "r")
    assert row.scenario == "x'); DROP TABLE sentinel; --"
    assert con.execute("SELECT n FROM sentinel").fetchall() == [(42,)]
    assert con.execute("SELECT count(*) FROM spans").fetchone() == (1,)


def test_token_comparison_goes_through_hmac_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    assert security.token_matches("abc", "abc")
    assert not security.token_matches("abd", "abc")
    assert not security.token_matches(None, "abc")
    assert calls == [(b"abc", b"abc"), (b"abd", b"abc")]
    assert auth.token_matches is security.token_matches


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("BEARER abc", "abc"), ("Basic abc", None),
    ("Bearer", None), ("Bearer ", None), ("abc", None), ("", None), (None, None)])
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


class _Client:
    """Requests to a Starlette app behind TokenAuth, in process (httpx's ASGI transport)."""

    def __init__(self, token: str | None) -> None:
        async def ok(request: object) -> PlainTextResponse:
            return PlainTextResponse("ok")

        routes = [Route("/v1/tasks", ok, methods=["GET", "POST"]), Route("/health", ok),
                  Route("/ready", ok)]
        self.app = Starlette(routes=routes,
                             middleware=[Middleware(auth.TokenAuth, token=token)])

    def request(self, method: str, path: str, headers: dict[str, str] | None = None
                ) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.request(method, path, headers=headers)

        return asyncio.run(send())

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def post(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", path, headers)


def _app(token: str | None) -> _Client:
    return _Client(token)


def test_the_api_middleware_401_without_or_with_a_wrong_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[bytes] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    client = _app("tok")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": "nope"},
                    {"Authorization": "tok"}):
        answer = client.post("/v1/tasks", headers=headers)
        assert answer.status_code == 401, headers
        assert set(answer.json()) == {"AuthenticationError"}
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/v1/tasks", headers={"Authorization": "Bearer tok"}).status_code == 200
    assert client.get("/v1/tasks", headers={"X-API-Key": "tok"}).status_code == 200
    assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 200
    assert b"nope" in compared and b"tok" in compared
    assert _app(None).post("/v1/tasks").status_code == 200  # no token configured: open


def test_the_client_reads_tasker_cores_credential_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TASKER_ORCHESTRATION_AUTH_TOKEN", "TASKER_AUTH_TOKEN", "TASKER_API_KEY",
                 "TASKER_API_KEY_HEADER"):
        monkeypatch.delenv(name, raising=False)
    assert orchestration_auth_headers() == {}
    monkeypatch.setenv("TASKER_API_KEY", "key")
    assert orchestration_auth_headers() == {"X-API-Key": "key"}
    monkeypatch.setenv("TASKER_API_KEY_HEADER", "X-Other")
    assert orchestration_auth_headers() == {"X-Other": "key"}
    monkeypatch.setenv("TASKER_AUTH_TOKEN", "both")
    assert orchestration_auth_headers() == {"Authorization": "Bearer both"}
    monkeypatch.setenv("TASKER_ORCHESTRATION_AUTH_TOKEN", "orch")
    assert orchestration_auth_headers() == {"Authorization": "Bearer orch"}


def test_run_gives_the_services_the_sink_token_as_otel_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SPANBENCH_SINK_TOKEN", raising=False)
    first, second = deployment.sink_token(), deployment.sink_token()
    assert first != second and len(first) >= 32  # random per run when none is configured
    monkeypatch.setenv("SPANBENCH_SINK_TOKEN", "a b,c=d%")
    assert deployment.sink_token() == "a b,c=d%"
    variable = deployment.otlp_headers_variable("a b,c=d%")
    assert parse_env_headers(variable, liberal=True) == {"authorization": "Bearer a b,c=d%"}
    monkeypatch.delenv("TASKER_ORCHESTRATION_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TASKER_AUTH_TOKEN", "api")
    target = deployment.Deployment(None, None, (), "http://127.0.0.1:1", Path("runs"))
    environment = deployment._stack_environment(target, "sinktok")
    assert environment["OTEL_EXPORTER_OTLP_HEADERS"] == deployment.otlp_headers_variable("sinktok")
    assert environment["SPANBENCH_STACK_TOKEN"] == "api"
    assert os.environ.get("SPANBENCH_STACK_TOKEN") is None  # not leaked into this process


def test_stack_json_is_private_it_holds_the_database_password(tmp_path: Path) -> None:
    import stat

    from stack.local import stackfile

    state = stackfile.StackState("postgresql://postgres:pw@127.0.0.1:1/spanbench", None, {},
                                 (), (), {}, {}, 1, "2026-01-01T00:00:00+00:00")
    written = stackfile.save(tmp_path, state)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stackfile.load(tmp_path) == state


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://postgres:s3cret@127.0.0.1:5432/db", "postgresql://postgres:***@127.0.0.1:5432/db"),
    ("postgresql://postgres@127.0.0.1:5432/db", "postgresql://postgres@127.0.0.1:5432/db"),
    ("not a url", "not a url")])
def test_redact_url_hides_the_password(url: str, shown: str) -> None:
    assert security.redact_url(url) == shown


def test_compose_publishes_ports_on_loopback_unless_told_otherwise() -> None:
    import yaml

    for file in sorted((Path(__file__).parents[2] / "docker").glob("compose*.yaml")):
        services = yaml.safe_load(file.read_text())["services"]
        published = [(name, str(mapping)) for name, service in services.items()
                     for mapping in service.get("ports", [])]
        assert published, file
        for name, mapping in published:
            assert mapping.startswith("${SPANBENCH_PUBLISH:-127.0.0.1}:"), (file, name, mapping)


def test_export_file_names_allow_load_levels_but_not_paths() -> None:
    assert security.check_file_name("otlp-run-scenario-linear_3@c4.jsonl", "f")
    assert security.check_file_name("otlp-run-scenario-linear_3@r2.5.jsonl", "f")
    for bad in ("a/b.json", "../x.json", ".x", "x\x00.json", "x" * 256, "a\nb"):
        with pytest.raises(UnsafeName, match="or pass --output"):
            security.check_file_name(bad, "export file name")
