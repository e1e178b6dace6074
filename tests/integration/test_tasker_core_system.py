"""tasker-core's adapter against a database built from tasker-core's real migrations: the
database is detected as tasker-core's (and ours as ours), its functions are found with the
signatures the adapter calls, and event_propagation runs through tasker-core's own
`pgmq_send_with_notify` without leaving anything behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from psycopg import sql

from instrument.drivers import event_propagation
from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems import detect, tasker_core
from instrument.systems.base import Endpoints
from instrument.systems.tasker_core import TaskerCore
from instrument.tracing import setup_tracing, shutdown_tracing
from spanbench.runner import system_choice
from spanbench.vocabulary import Attr
from tests.otlp_capture import OtlpCapture

ORCHESTRATION = "http://127.0.0.1:1"
QUEUE_CREATED_CHANNEL = "pgmq_queue_created"
"""What tasker-core's trigger on pgmq.meta NOTIFYs when a queue is created."""


def _inspect(url: str) -> detect.Inspection:
    return detect.inspect(url)


def test_uuidv7_is_a_version_7_uuid_of_the_current_millisecond(tasker_core_db: str) -> None:
    with psycopg.connect(tasker_core_db) as conn:
        before_ms = time.time_ns() // 1_000_000
        values = [row[0] for row in conn.execute("SELECT uuidv7() FROM generate_series(1, 50)")]
        after_ms = time.time_ns() // 1_000_000
        default = conn.execute("SELECT public.uuid_generate_v7()").fetchone()
    assert default is not None and default[0].version == 7
    assert len(set(values)) == 50
    for value in values:
        assert isinstance(value, uuid.UUID)
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert before_ms - 5 <= value.int >> 80 <= after_ms + 5


def test_the_database_is_tasker_cores_with_its_search_path(tasker_core_db: str) -> None:
    with psycopg.connect(tasker_core_db) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("tasker, public",)
        applied = conn.execute("SELECT count(*) FROM _sqlx_migrations WHERE success").fetchone()
    assert applied == (8,)
    found = _inspect(tasker_core_db)
    assert found.detection == detect.Detection(
        "tasker-core", "sqlx's ledger public._sqlx_migrations and tasker.tasks")


def test_every_function_the_adapter_calls_has_tasker_cores_signature(
        tasker_core_db: str) -> None:
    found = _inspect(tasker_core_db)
    assert {name: check.ok for name, check in found.functions.items()} == {
        name: True for name in tasker_core.FUNCTION_SIGNATURES}
    assert found.unavailable == frozenset()
    readiness = found.functions["get_step_readiness_status"]
    assert readiness.declared == (("uuid, uuid[]", "input_task_uuid uuid, step_uuids uuid[]"),)


def test_our_own_database_is_detected_as_spanbench_and_lacks_tasker_cores_signatures(
        fresh_db: str) -> None:
    found = _inspect(fresh_db)
    assert found.detection == detect.Detection(
        "spanbench", "spanbench's ledger tasker.schema_migrations")
    send = found.functions["pgmq_send_with_notify"]
    assert not send.ok
    assert send.describe().startswith(
        "tasker.pgmq_send_with_notify(text, jsonb, integer) is absent: the database has "
        "tasker.pgmq_send_with_notify(")
    assert "headers jsonb" in send.describe()
    assert "extract_queue_namespace" in found.unavailable


def test_an_empty_database_is_neither(make_database: Callable[[], str]) -> None:
    found = _inspect(make_database())
    assert found.detection.system is None
    assert found.unavailable == frozenset(tasker_core.FUNCTION_SIGNATURES)


def test_a_function_with_another_signature_is_reported_absent(tasker_core_db: str) -> None:
    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        conn.execute("DROP FUNCTION tasker.calculate_dependency_levels(uuid)")
        conn.execute("CREATE FUNCTION tasker.calculate_dependency_levels(task text) "
                     "RETURNS integer LANGUAGE sql AS 'SELECT 0'")
    check = _inspect(tasker_core_db).functions["calculate_dependency_levels"]
    assert not check.ok
    assert check.describe() == (
        "tasker.calculate_dependency_levels(uuid) is absent: the database has "
        "tasker.calculate_dependency_levels(task text)")
    choice = system_choice.choose(None, (), tasker_core_db, ORCHESTRATION)
    system = system_choice.adapter(choice, Endpoints(ORCHESTRATION, tasker_core_db))
    assert "calculate_dependency_levels" not in system.sql_functions
    assert choice.function_problems() == [check.describe()]


def test_the_run_chooses_tasker_core_for_its_database_and_refuses_to_call_it_ours(
        tasker_core_db: str) -> None:
    choice = system_choice.choose(None, (), tasker_core_db, ORCHESTRATION)
    assert choice.name == "tasker-core" and choice.function_problems() == []
    with pytest.raises(system_choice.SystemChoiceError, match="--system tasker-core"):
        system_choice.choose("spanbench", (), tasker_core_db, ORCHESTRATION)


@pytest.fixture
def tracing(otlp_capture: OtlpCapture) -> Iterator[TracerProvider]:
    provider = setup_tracing("spanbench-driver", endpoint=otlp_capture.endpoint)
    assert provider is not None
    yield provider
    shutdown_tracing(provider)


def _row_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = conn.execute("SELECT schemaname || '.' || tablename FROM pg_tables "
                          "WHERE schemaname IN ('tasker', 'pgmq') ORDER BY 1").fetchall()
    return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            for (name,) in tables}


@pytest.mark.timeout(90)
def test_event_propagation_runs_through_tasker_cores_send_with_notify(
        tasker_core_db: str, tracing: TracerProvider, otlp_capture: OtlpCapture) -> None:
    system = TaskerCore(Endpoints(ORCHESTRATION, tasker_core_db))
    with psycopg.connect(tasker_core_db) as conn:
        before = _row_counts(conn)
    ctx = DriverContext(event_propagation.SUITE,
                        RunSettings(run_id=f"test-{uuid.uuid4().hex[:8]}", quick=True,
                                    iteration_timeout_s=10),
                        system, PhaseRecorder(tracing))
    event_propagation.run(ctx)
    assert ctx.failures == []
    ctx.recorder.flush()
    tracing.force_flush()
    spans = [s for s in otlp_capture.get_spans(16, timeout=10)
             if s.attributes.get(Attr.RUN_ID) == ctx.settings.run_id]
    sends = [s for s in spans if s.attributes[Attr.SCENARIO] == "send_with_notify"]
    notifies = [s for s in sends if s.name == "notify"]
    assert len(notifies) == 4  # 1 warm-up + 3 samples, each answered by the listener
    for notify in notifies:
        assert notify.attributes[event_propagation.NOTIFY_CHANNEL] == "pgmq_message_ready.default"
        assert 0 < notify.duration_ns < 1_000_000_000
    publishes = [s for s in sends if s.name == "publish"]
    assert sorted(s.attributes["notify.key"] for s in notifies) == sorted(
        s.attributes[Attr.MESSAGING_MESSAGE_ID] for s in publishes)
    with psycopg.connect(tasker_core_db) as conn:
        assert _row_counts(conn) == before  # the private queue is gone, nothing else changed


def _spanbench(*args: str, home: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="160", DATABASE_URL=database_url,
                       TASKER_TEST_ORCHESTRATION_URL=ORCHESTRATION,
                       TASKER_TEST_SKIP_HEALTH_CHECK="1")
    return subprocess.run([sys.executable, "-m", "spanbench", "run", *args], cwd=home.parent,
                          env=environment, capture_output=True, text=True, timeout=120)


def _catalogue(url: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tasker' "
            "AND p.prokind = 'f' ORDER BY 1").fetchall()
        return _row_counts(conn), functions


class Eavesdropper(threading.Thread):
    """A connection LISTENing on the deployment's database, as its live orchestration does."""

    def __init__(self, url: str, channels: Sequence[str]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.channels = channels
        self.heard: list[tuple[str, str]] = []
        self.listening = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for channel in self.channels:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.listening.set()
            while not self.stop.is_set():
                self.heard += [(n.channel, n.payload) for n in conn.notifies(timeout=0.1)]

    def hears(self, channel: str, payload: str) -> bool:
        """Whether a NOTIFY sent to the deployment now reaches this listener (within 5 s)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        deadline = time.monotonic() + 5
        while (channel, payload) not in self.heard and time.monotonic() < deadline:
            time.sleep(0.05)
        return (channel, payload) in self.heard


@pytest.mark.timeout(150)
def test_a_run_on_tasker_cores_database_detects_it_and_measures_it_in_a_scratch_copy(
        tasker_core_db: str, tmp_path: Path) -> None:
    before = _catalogue(tasker_core_db)
    with psycopg.connect(tasker_core_db) as conn:  # the namespace of the suite's queue
        namespace = TaskerCore(Endpoints(ORCHESTRATION, tasker_core_db)).queue_namespace(
            conn, "spanbench_events_00000000")
    channels = (tasker_core.GLOBAL_CHANNEL, QUEUE_CREATED_CHANNEL,
                tasker_core.CHANNEL_PREFIX + namespace)
    orchestration = Eavesdropper(tasker_core_db, channels)
    orchestration.start()
    assert orchestration.listening.wait(10)
    home = tmp_path / ".spanbench"
    try:
        result = _spanbench("sql_functions", "event_propagation", "--quick", home=home,
                            database_url=tasker_core_db)
        assert orchestration.heard == []  # neither the queue's creation nor a send reached it
        assert orchestration.hears(channels[-1], "control")
    finally:
        orchestration.stop.set()
        orchestration.join()
    output = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "system: tasker-core (detected: sqlx's ledger public._sqlx_migrations" in output
    assert "sql_functions: skipped" not in output
    assert "get_next_ready_tasks+1000" in output
    assert "event_propagation (warm-up excluded)" in output
    [run_json] = (home / "runs").glob("*/run.json")
    config = json.loads(run_json.read_text())["config"]
    assert config["system"] == "tasker-core"
    assert config["templates"]["linear_4"] == "rust_e2e_linear/mathematical_sequence:1.0.0"
    assert "tree_7" not in config["templates"]
    suites = json.loads(run_json.read_text())["suites"]
    assert suites["sql_functions"]["status"] == suites["event_propagation"]["status"] == "ran"
    assert _catalogue(tasker_core_db) == before


def test_a_run_measuring_tasker_cores_database_as_ours_stops_before_anything(
        tasker_core_db: str, tmp_path: Path) -> None:
    before = _catalogue(tasker_core_db)
    home = tmp_path / ".spanbench"
    result = _spanbench("event_propagation", "--quick", "--system", "spanbench", home=home,
                        database_url=tasker_core_db)
    assert result.returncode == 2
    assert "measure it with --system tasker-core" in " ".join(result.stderr.split())
    assert not home.exists()
    assert _catalogue(tasker_core_db) == before
