"""Every environment variable spanbench reads, named once: its default and what it does.

The model is opentelemetry-python's `environment_variables` modules: one constant per
variable, here declared with its default and a one-line doc (`CATALOGUE` holds them, the
README's Environment table is checked against it). A `SPANBENCH_*` variable's constant drops
the prefix (`SINK_TOKEN = "SPANBENCH_SINK_TOKEN"`); any other keeps its name.

One rule for every value: it is stripped of surrounding whitespace, and a value that is then
empty means unset (the default applies). Product code reads the environment only through
the readers below; a reader asked for a variable missing from the catalogue raises KeyError.
A value a typed reader cannot use raises SettingsError naming the variable and the fix.

This module is the floor of the layering: it imports nothing of the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.util.re import parse_env_headers

MIB = 1024 * 1024

Default = str | int | float | None


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default, one-line doc."""

    name: str
    default: Default
    """What the typed readers fall back to; None: unset (the doc says what that means)."""
    doc: str
    unit: str = ""
    """What a number counts (`bytes`, `seconds`): said in the error for a bad value."""
    shown_default: str = ""
    """The default as the README shows it (markdown), when it is not the plain value."""
    test_only: bool = False
    """Set only by spanbench's own tests (never in a real run)."""

    @property
    def default_text(self) -> str:
        """The default as the README's table shows it (markdown)."""
        if self.shown_default:
            return self.shown_default
        if self.default is None:
            return "unset"
        value = f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        unit = _SHORT_UNITS.get(self.unit, self.unit)
        return f"`{value}`" + (f" {unit}" if unit else "")


_SHORT_UNITS = {"seconds": "s", "milliseconds": "ms"}

CATALOGUE: dict[str, Variable] = {}
"""Every variable below, by name, in the order declared."""


def _declare(name: str, default: Default, doc: str, *, unit: str = "", shown_default: str = "",
             test_only: bool = False) -> str:
    if name in CATALOGUE:
        raise ValueError(f"{name} is declared twice in spanbench.settings")
    CATALOGUE[name] = Variable(name, default, doc, unit, shown_default, test_only)
    return name


# ── the deployment a run measures ──────────────────────────────────────────────────────────

DATABASE_URL = _declare(
    "DATABASE_URL", None,
    "libpq URL of the deployment's database, which `spanbench run` never migrates; unset: "
    "`run` and `stack up` start a throwaway cluster (with it, `stack up` creates none and only "
    "migrates this database).")

TASKER_TEST_ORCHESTRATION_URL = _declare(
    "TASKER_TEST_ORCHESTRATION_URL", None,
    "An orchestration service to measure; `spanbench run` starts the reference stack only when "
    "neither this, `DATABASE_URL` nor `TASKER_TEST_WORKER_URL` is set.")

TASKER_TEST_WORKER_URL = _declare(
    "TASKER_TEST_WORKER_URL", None,
    "Worker service URL(s), comma-separated, checked for health before the run.")

TASKER_TEST_SKIP_HEALTH_CHECK = _declare(
    "TASKER_TEST_SKIP_HEALTH_CHECK", None,
    "Any value but empty, 0, false or no: skip the services' health checks.")

SETTLE_S = _declare(
    "SPANBENCH_SETTLE_S", 8.0,
    "With an external OTLP endpoint: seconds the run's span count must stay unchanged before "
    "the reports read it.", unit="seconds")

TASKER_ORCHESTRATION_AUTH_TOKEN = _declare(
    "TASKER_ORCHESTRATION_AUTH_TOKEN", None,
    "Bearer token the drivers send to the orchestration API (tasker-core's client variable, "
    "first in its order).")

TASKER_AUTH_TOKEN = _declare(
    "TASKER_AUTH_TOKEN", None,
    "Bearer token for tasker's APIs; used when TASKER_ORCHESTRATION_AUTH_TOKEN is unset.")

TASKER_API_KEY = _declare(
    "TASKER_API_KEY", None,
    "API key the drivers send (in TASKER_API_KEY_HEADER) when neither token above is set.")

TASKER_API_KEY_HEADER = _declare(
    "TASKER_API_KEY_HEADER", "X-API-Key",
    "Header carrying TASKER_API_KEY (the contract's api_key_auth).")

TASKER_PY_CONFIG = _declare(
    "SPANBENCH_TASKER_PY_CONFIG", None,
    "TOML configuration of a tasker-py worker of the deployment (its TASKER_CONFIG_PATH); with "
    "tasker-py installed and a tasker-core system, handler_overhead's tasker_py scenario "
    "bootstraps that worker on a scratch copy of the database. Unset: tasker_py is skipped.")

# ── where state and runs live ──────────────────────────────────────────────────────────────

HOME = _declare(
    "SPANBENCH_HOME", ".spanbench",
    "Directory of the throwaway cluster, the stack's state file and (by default) the runs.",
    shown_default="`./.spanbench`")

RUNS_DIR = _declare(
    "SPANBENCH_RUNS_DIR", None,
    "Directory holding one sub-directory per run id, or `s3://bucket/prefix` for the same "
    "layout in a bucket.", shown_default="`<SPANBENCH_HOME>/runs`")

SINK_OUT = _declare(
    "SPANBENCH_SINK_OUT", None,
    "Older name of SPANBENCH_RUNS_DIR, still honoured when that is unset.",
    shown_default="`<SPANBENCH_HOME>/runs`")

# ── the OTLP sink (`spanbench collect`, and the one `spanbench run` starts) ────────────────

SINK_HTTP = _declare(
    "SPANBENCH_SINK_HTTP", "127.0.0.1:4318",
    "host:port of the sink's OTLP/HTTP listener (port 0 picks a free port).")

SINK_GRPC = _declare(
    "SPANBENCH_SINK_GRPC", "127.0.0.1:4317",
    "host:port of the sink's OTLP/gRPC listener, or `off`.")

SINK_MAX_BACKLOG_BYTES = _declare(
    "SPANBENCH_SINK_MAX_BACKLOG_BYTES", 256 * MIB,
    "Bound on request bytes in flight plus spooled bytes not yet in Parquet; above it the sink "
    "answers 503 / UNAVAILABLE.", unit="bytes", shown_default="`268435456` bytes (256 MiB)")

SINK_MAX_BODY_BYTES = _declare(
    "SPANBENCH_SINK_MAX_BODY_BYTES", 32 * MIB,
    "Largest request accepted, before and after decompression; above it: 413.",
    unit="bytes", shown_default="`33554432` bytes (32 MiB)")

SINK_SEGMENT_BYTES = _declare(
    "SPANBENCH_SINK_SEGMENT_BYTES", 32 * MIB,
    "A spool segment is sealed (and handed to the converter) past this size.",
    unit="bytes", shown_default="`33554432` bytes (32 MiB)")

SINK_SEGMENT_AGE_S = _declare(
    "SPANBENCH_SINK_SEGMENT_AGE_S", 1.0,
    "A non-empty spool segment is sealed after this many seconds.", unit="seconds")

SINK_FORWARD_DRAIN_S = _declare(
    "SPANBENCH_SINK_FORWARD_DRAIN_S", 10.0,
    "On stopping, seconds the sink keeps sending what is queued for its --forward targets.",
    unit="seconds")

SINK_TOKEN = _declare(
    "SPANBENCH_SINK_TOKEN", None,
    "When set, OTLP export requests must carry it as a bearer token (401 / UNAUTHENTICATED "
    "without); `spanbench run` makes a random one when unset.")
"""Over HTTP `Authorization: Bearer <token>`, over gRPC `authorization` metadata (exporters:
OTEL_EXPORTER_OTLP_HEADERS=`authorization=Bearer%20<token>`). /health and /status stay open."""

# ── runs in an S3 bucket (read here, or by the AWS SDK inside pyarrow) ─────────────────────

AWS_ENDPOINT_URL_S3 = _declare(
    "AWS_ENDPOINT_URL_S3", None,
    "Endpoint of an S3-compatible store (MinIO, moto), e.g. http://minio:9000; wins over "
    "AWS_ENDPOINT_URL.")

AWS_ENDPOINT_URL = _declare(
    "AWS_ENDPOINT_URL", None,
    "The AWS SDKs' endpoint for every service; used when AWS_ENDPOINT_URL_S3 is unset.")

AWS_REGION = _declare(
    "AWS_REGION", None, "The bucket's region (then AWS_DEFAULT_REGION).")

AWS_DEFAULT_REGION = _declare(
    "AWS_DEFAULT_REGION", None, "The bucket's region when AWS_REGION is unset.")

AWS_ACCESS_KEY_ID = _declare(
    "AWS_ACCESS_KEY_ID", None, "S3 credentials: the key id (read by the AWS SDK in pyarrow).")

AWS_SECRET_ACCESS_KEY = _declare(
    "AWS_SECRET_ACCESS_KEY", None, "S3 credentials: the secret (read by the AWS SDK in pyarrow).")

AWS_SESSION_TOKEN = _declare(
    "AWS_SESSION_TOKEN", None,
    "S3 credentials: a session token, when they are temporary (read by the AWS SDK).")

# ── the reference stack (`spanbench stack`, python -m stack.engine.*) ──────────────────────

STACK_HOST = _declare(
    "SPANBENCH_STACK_HOST", "127.0.0.1",
    "Address the stack's services listen on; 0.0.0.0 (with SPANBENCH_STACK_TOKEN) lets other "
    "machines in.")

STACK_TOKEN = _declare(
    "SPANBENCH_STACK_TOKEN", None,
    "When set, the orchestration API's /v1/* routes want it (`Authorization: Bearer` or "
    "`X-API-Key`); without it: 401.")
"""The contract's bearer_auth and api_key_auth schemes. /health and /ready stay open."""

VISIBILITY_TIMEOUT_S = _declare(
    "SPANBENCH_VISIBILITY_TIMEOUT_S", 30,
    "Seconds a claimed step message stays invisible before it is delivered again.",
    unit="seconds")

POLL_INTERVAL_MS = _declare(
    "SPANBENCH_POLL_INTERVAL_MS", 1000,
    "Polling fallback of the stack's LISTEN wake-ups.", unit="milliseconds")

READ_BATCH = _declare(
    "SPANBENCH_READ_BATCH", 10, "Messages the stack reads from a queue at once.",
    unit="messages")

TELEMETRY_COUNTS_DIR = _declare(
    "SPANBENCH_TELEMETRY_COUNTS_DIR", None,
    "Where each stack process writes its span counts as it stops; `spanbench run` sets it.")
"""One `<service>-<pid>.json` per process: spans emitted, acknowledged by the receiver,
dropped; the run accounts for every span with them. Unset: nothing is written."""

# ── tracing (OpenTelemetry's variables, with the specification's meanings) ─────────────────

OTEL_SERVICE_NAME = _declare(
    "OTEL_SERVICE_NAME", None,
    "`service.name` of the spans; wins over the name a process passes to setup_tracing.")

OTEL_RESOURCE_ATTRIBUTES = _declare(
    "OTEL_RESOURCE_ATTRIBUTES", None,
    "Extra resource attributes, `key=value,...` (read by the SDK; a service.name here also "
    "wins).")

OTEL_EXPORTER_OTLP_ENDPOINT = _declare(
    "OTEL_EXPORTER_OTLP_ENDPOINT", None,
    "Base URL of the OTLP receiver; unset: `spanbench run` starts its own sink, and processes "
    "started otherwise export nothing.")
"""For http/protobuf the signal path `/v1/traces` is appended."""

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = _declare(
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None,
    "Full URL of the traces endpoint, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT.")

OTEL_EXPORTER_OTLP_PROTOCOL = _declare(
    "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTLP protocol: `http/protobuf` or `grpc`.")

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = _declare(
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", None,
    "Protocol for traces only; wins over OTEL_EXPORTER_OTLP_PROTOCOL.")

OTEL_EXPORTER_OTLP_HEADERS = _declare(
    "OTEL_EXPORTER_OTLP_HEADERS", None,
    "Headers of every OTLP export (`key=value,...`, values percent-encoded); `spanbench run` "
    "sets it for the services it starts when its sink wants a token.")
"""The OTLP exporters also read OTEL_EXPORTER_OTLP_[TRACES_]{TIMEOUT,COMPRESSION,CERTIFICATE,
CLIENT_KEY,CLIENT_CERTIFICATE,INSECURE} themselves, as the specification says."""

OTEL_TRACES_SAMPLER = _declare(
    "OTEL_TRACES_SAMPLER", "parentbased_always_on",
    "Sampler of root spans (read by the SDK); phases with a parent follow its sampled flag.")

OTEL_TRACES_SAMPLER_ARG = _declare(
    "OTEL_TRACES_SAMPLER_ARG", None,
    "Argument of the sampler, e.g. the ratio of `traceidratio` (read by the SDK).")

OTEL_SDK_DISABLED = _declare(
    "OTEL_SDK_DISABLED", "false",
    "`true` turns the SDK into a no-op (read by the SDK); phases then time but export nothing.")

OTEL_BSP_SCHEDULE_DELAY = _declare(
    "OTEL_BSP_SCHEDULE_DELAY", 5000,
    "Milliseconds between two exports of the batch span processor (read by the SDK).",
    unit="milliseconds")

OTEL_BSP_MAX_QUEUE_SIZE = _declare(
    "OTEL_BSP_MAX_QUEUE_SIZE", 2048,
    "Spans the batch span processor holds before dropping (read by the SDK).", unit="spans")

OTEL_BSP_MAX_EXPORT_BATCH_SIZE = _declare(
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512,
    "Spans per export request (read by the SDK).", unit="spans")

OTEL_PROPAGATORS = _declare(
    "OTEL_PROPAGATORS", "tracecontext,baggage",
    "Propagators of the trace context (read by the API); spanbench's own headers are W3C.")

EXPORT_RETRY_S = _declare(
    "SPANBENCH_EXPORT_RETRY_S", 60.0,
    "Seconds a span batch that could not be delivered is retried before it is dropped and "
    "counted.", unit="seconds")
"""The stock OTLP exporter's own retries (within OTEL_EXPORTER_OTLP_TIMEOUT) run inside
each attempt."""

# ── test-only hooks (spanbench's own tests set them; never a real run) ─────────────────────

FAULT_DIR = _declare(
    "SPANBENCH_FAULT_DIR", None,
    "Test-only: the directory through which a fault test and a run meet; unset: no fault hook "
    "is active.", test_only=True)
"""The stack's stall hook: when <dir>/stall-next-step.json ({"ms": N}) exists, the first worker
to execute a step takes it and stalls that step N ms inside its execute phase, after writing
<dir>/stall-taken.json (its worker id, pid, step and task)."""

FAULT_PAUSE_AT = _declare(
    "SPANBENCH_FAULT_PAUSE_AT", None,
    "Test-only: iterations `suite/scenario#index,...` before which the drivers pause.",
    test_only=True)
"""Outside any timed region, a driver writes <SPANBENCH_FAULT_DIR>/<suite>.<scenario>.<index>
.paused and waits (at most FAULT_PAUSE_MAX_S) for <suite>.<scenario>.<index>.resume: a fault
test injects its fault while the run waits at a known point."""

FAULT_DELAY = _declare(
    "SPANBENCH_FAULT_DELAY", None,
    "Test-only: `suite/phase:ns,...`: the driver's recorder makes each phase named that much "
    "slower (benchmarks/regression_gate.py's injected slowdown).", test_only=True)
"""A phase timed with `with recorder.phase(...)` busy-waits the delay before it ends; one
recorded after the fact (`recorder.record`) has its end moved by it. Never set in a real run."""

CHROMIUM = _declare(
    "SPANBENCH_CHROMIUM", None,
    "Test-only (read by the tests alone): the Chromium binary of the HTML report's browser "
    "test; unset: `chromium` on PATH.", test_only=True)


# ── readers ────────────────────────────────────────────────────────────────────────────────


def variable(name: str) -> Variable:
    """The catalogue's entry for `name`; KeyError when it was never declared."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"{name} is not in spanbench.settings' catalogue: declare it there "
                       "before reading it") from None


def env(name: str) -> str | None:
    """The variable's value, stripped; None when it is unset or empty."""
    variable(name)
    return os.environ.get(name, "").strip() or None


def first(*names: str) -> str | None:
    """The value of the first of `names` that is set, or None."""
    return next((value for value in map(env, names) if value is not None), None)


def text(name: str) -> str:
    """The value, else the catalogued default (a variable without one must be read by env)."""
    default = variable(name).default
    if not isinstance(default, str):
        raise TypeError(f"{name} has no text default: read it with settings.env")
    return env(name) or default


def _numeric(name: str, parse: type[int] | type[float], kind: str) -> int | float:
    entry = variable(name)
    raw = env(name)
    if raw is None:
        if not isinstance(entry.default, int | float):
            raise TypeError(f"{name} has no numeric default")
        return parse(entry.default)
    try:
        return parse(raw)
    except ValueError:
        unit = f" of {entry.unit}" if entry.unit else ""
        raise SettingsError(
            f"{name}={raw!r} is not {kind}{unit}: set it to one (e.g. {entry.default}) or "
            "unset it for the default") from None


def integer(name: str) -> int:
    """The value as a whole number, else the catalogued default; SettingsError if not one."""
    return int(_numeric(name, int, "a whole number"))


def number(name: str) -> float:
    """The value as a number, else the catalogued default; SettingsError if not one."""
    return float(_numeric(name, float, "a number"))


def flag(name: str) -> bool:
    """True unless the value is unset, empty, `0`, `false` or `no` (any case)."""
    return (env(name) or "").lower() not in ("", "0", "false", "no")


def items(name: str) -> tuple[str, ...]:
    """The comma-separated values, each stripped, empty ones dropped."""
    return tuple(part.strip() for part in (env(name) or "").split(",") if part.strip())


def urls(name: str) -> tuple[str, ...]:
    """Comma-separated URLs, each without its trailing `/`."""
    return tuple(url.rstrip("/") for url in items(name))


def path(name: str) -> Path | None:
    """The value as a path, or None when unset."""
    value = env(name)
    return None if value is None else Path(value)


def otlp_headers() -> dict[str, str] | None:
    """OTEL_EXPORTER_OTLP_HEADERS, parsed as the exporters do (None when unset)."""
    raw = env(OTEL_EXPORTER_OTLP_HEADERS)
    return None if raw is None else parse_env_headers(raw, liberal=True)


def runs_dir_value() -> str | None:
    """SPANBENCH_RUNS_DIR, else its older name SPANBENCH_SINK_OUT; None when neither is set."""
    return first(RUNS_DIR, SINK_OUT)


def markdown_table() -> str:
    """The README's Environment table, one row per variable in declared order."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    rows += [f"| `{entry.name}` | {entry.default_text} | {entry.doc} |"
             for entry in CATALOGUE.values()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
