"""What driver tests share: a stack and a capture receiver per module, and quick contexts.

    # driver_env is a module-scoped fixture; tests/conftest.py registers this module as a plugin
    def test_x(driver_env: DriverEnv) -> None:
        ctx = driver_env.context("task_initialization")
        my_driver.run(ctx)
        spans = driver_env.spans_of(ctx)        # every span of this run id, driver's and stack's
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.settings import orchestration_auth_headers
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.tracing import setup_tracing, shutdown_tracing
from spanbench.runner.suites import FOREIGN_HANDLER_COMMAND, stack_handlers
from spanbench.vocabulary import Attr
from tests.otlp_capture import CapturedSpan, OtlpCapture
from tests.stack_harness import RunningStack, running_stack

STACK_EXPORT_DELAY_MS = "50"


@dataclass
class DriverEnv:
    stack: RunningStack
    database_url: str
    capture: OtlpCapture
    provider: TracerProvider
    _seen: list[CapturedSpan] = field(default_factory=list)

    @property
    def system(self) -> SpanbenchStack:
        return SpanbenchStack(Endpoints(self.stack.orchestration.url, self.database_url,
                                        tuple(w.url for w in self.stack.workers),
                                        orchestration_auth_headers()))

    def context(self, suite: str, artifacts_dir: Path | None = None,
                **settings: object) -> DriverContext:
        """A quick-mode context with a fresh run id whose spans go to the capture, built as
        the runner builds it (the stack's handler framework and foreign handler command)."""
        run_settings = RunSettings(run_id=f"test-{uuid.uuid4().hex[:8]}",
                                   **{"quick": True, **settings})  # type: ignore[arg-type]
        return DriverContext(suite, run_settings, self.system, PhaseRecorder(self.provider),
                             artifacts_dir=artifacts_dir, handlers=stack_handlers(),
                             foreign_command=FOREIGN_HANDLER_COMMAND)

    def spans_of(self, ctx: DriverContext, settle_s: float = 1.0) -> list[CapturedSpan]:
        """Every captured span of the context's run id, after exports have settled."""
        ctx.recorder.flush()
        self.provider.force_flush()
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:  # the stack exports on its own schedule
            self._seen += self.capture.received()
            time.sleep(0.1)
        self._seen += self.capture.received()
        return [s for s in self._seen if s.attributes.get(Attr.RUN_ID) == ctx.settings.run_id]


@pytest.fixture(scope="module")
def driver_env(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriverEnv]:
    capture = OtlpCapture().start()
    provider = setup_tracing("spanbench-driver", endpoint=capture.endpoint)
    assert provider is not None
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": capture.endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": STACK_EXPORT_DELAY_MS}
    try:
        with running_stack(module_db, tmp_path_factory.mktemp("logs"), workers=2,
                           env=env) as stack:
            yield DriverEnv(stack, module_db, capture, provider)
    finally:
        shutdown_tracing(provider)
        capture.stop()
