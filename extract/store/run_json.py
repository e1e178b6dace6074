"""run.json: a run's metadata beside its spans, with a declared schema and a version.

Every key spanbench writes is declared once here with its JSON type (pyperf keeps its metadata
the same way); `parse` checks a document against the tables and gives a RunRecord, and
`RunRecord.to_json` is what is written. Readers use the record's attributes, never the dict.

A document without `schema_version` was written before the schema had one (version 0): it has
the keys of version 1 and reads the same way. Keys not declared here are kept as they are and
written back, so a newer spanbench's additions survive an older one's rewrite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import NoneType
from typing import Any, Final

RUN_JSON: Final = "run.json"

# Schema history (bump on any change to the tables below):
#   0  no `schema_version` key: the keys of version 1, written before the schema was declared.
#   1  `schema_version` added; the keys and types of FIELDS.
#   2  `suites`: what became of each suite asked for (SUITE_FIELDS).
#   3  `suites.*.machine`: the share of the machine's CPU that went elsewhere during the suite.
#   4  `confirmation`: the runs made to confirm the run's regressions against its baseline;
#      `suites.*.probe`: a fixed piece of Python timed every 100 ms while the suite ran.
#   5  `suites.*.cpu_takers`: the processes that took the most of the CPU gone elsewhere;
#      `suites.*.machine.cpu_foreign` from the other processes' own accounts, and what no
#      process accounts for in `cpu_unattributed`; `suites.*.probe`'s `nap_*`: short work
#      timed just after short sleeps.
SCHEMA_VERSION: Final = 5
VERSION_KEY: Final = "schema_version"
OMIT_WHEN_NONE: Final = "omit_when_none"
"""Field metadata: a key added after version 1 that is left out, not written null, when unset."""

JsonType = type | tuple[type, ...]
OPTIONAL_STR: Final = (str, NoneType)
NUMBER: Final = (int, float)

FIELDS: Final[Mapping[str, JsonType]] = {
    VERSION_KEY: int,
    "run_id": str,
    "started_at": str,  # ISO 8601, UTC
    "commit": OPTIONAL_STR,  # the spanbench checkout's commit, '-dirty' when changed
    "host": dict,  # name, cpu, cores, platform, python, spanbench
    "config": dict,  # CONFIG_FIELDS
    "deployment": dict,  # DEPLOYMENT_FIELDS
    "database": dict,  # postgresql, pgmq, settings; or error
    "finished_at": str,  # ISO 8601, UTC
    "interrupted": bool,
    "failures": dict,  # suite -> [{scenario, index, error}]
    "telemetry": dict,  # the drivers' span counts beside what their exporter delivered
    "sink": dict,  # restarts, status_at_end_of_suites
    "prerequisites": list,  # [PREREQUISITE_FIELDS]
    "stack_telemetry": list,  # per stack process that stopped cleanly: its span counts
    "throughput": list,  # e2e load runs: queries/e2e_throughput.sql's rows
    "suites": dict,  # suite -> SUITE_FIELDS: ran, skipped or failed, and why
    "confirmation": dict,  # baseline, runs: extract.analyse.confirmation
}
"""Every top-level key of run.json and its JSON type; all but schema_version may be absent."""

CONFIG_FIELDS: Final[Mapping[str, JsonType]] = {
    "system": OPTIONAL_STR,  # the kind of deployment measured (instrument/systems)
    "templates": (dict, NoneType),  # scenario -> "namespace/name:version" it ran on
    "completion": (dict, NoneType),  # how task completion was seen: source, interval_s
    "suites": list, "samples": (int, NoneType), "warmup": (int, NoneType), "quick": bool,
    "iteration_timeout_s": (*NUMBER, NoneType), "load": (dict, NoneType),
}
DEPLOYMENT_FIELDS: Final[Mapping[str, JsonType]] = {
    "orchestration_url": OPTIONAL_STR, "worker_urls": list, "otlp_endpoint": OPTIONAL_STR,
    "started_by_run": (list, bool),  # what the run started ("sink …", "stack …"), or true
}
PREREQUISITE_FIELDS: Final[Mapping[str, JsonType]] = {
    "name": str, "ok": bool, "detail": str, "fix": str,
}
SUITE_FIELDS: Final[Mapping[str, JsonType]] = {
    "status": str, "reason": str,
    "measures": dict,  # scenario -> what it measures, when not the deployment (optional)
    "machine": dict,  # cpu_steal, cpu_foreign + cpu_unattributed | cpu_niced: CPU gone elsewhere
    "probe": dict,  # readings, mean_ns, median_ns, wake_*, nap_*: spanbench.runner.speed_probe
    "cpu_takers": list,  # [{pid, command, share}]: spanbench.runner.machine_load.CpuTaker
}
SUITE_RAN, SUITE_SKIPPED, SUITE_FAILED = "ran", "skipped", "failed"
SUITE_STATUSES: Final = (SUITE_RAN, SUITE_SKIPPED, SUITE_FAILED)
"""ran: its driver finished (its failed iterations are in `failures`); skipped: not started,
for want of something the run does not name or the system lacks; failed: something it needed
was broken, or its driver raised."""


class RunJsonError(ValueError):
    """A run.json that does not follow the schema; the message names the key."""


@dataclass(frozen=True)
class RunConfig:
    """What the run was asked to do (`spanbench run`'s options)."""

    system: str | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """The kind of deployment measured (instrument/systems); absent before it was recorded."""
    templates: dict[str, str] | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """Scenario → the template it runs on that system (`namespace/name:version`); absent
    before it was recorded."""
    completion: dict[str, Any] | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """How the drivers saw a task complete: `source` (pg_notify, db_poll, api_poll) and the
    poll's `interval_s` (null for a NOTIFY); absent before it was recorded."""
    suites: tuple[str, ...] = ()
    samples: int | None = None
    warmup: int | None = None
    quick: bool = False
    iteration_timeout_s: float | None = None
    load: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeploymentRecord:
    """What was measured and how its spans were collected."""

    orchestration_url: str | None = None
    worker_urls: tuple[str, ...] = ()
    otlp_endpoint: str | None = None
    started_by_run: tuple[str, ...] | bool = ()
    """What the run started itself (its sink, the reference stack); empty: nothing."""


@dataclass(frozen=True)
class PrerequisiteRecord:
    """One prerequisite checked before the run."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class SuiteRecord:
    """What became of one suite asked for."""

    status: str
    """One of SUITE_STATUSES."""
    reason: str = ""
    """Why it was skipped or failed (the first line of the cause); empty when it ran."""
    measures: dict[str, str] | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """Scenario → what it measures when that is not the deployment (its driver's SUBJECT);
    absent for a suite that measures the deployment, and before it was recorded."""
    machine: dict[str, float] | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """Shares of the machine's CPU capacity that went elsewhere while the suite ran:
    cpu_steal (the hypervisor), and cpu_foreign (every other process, when the run started the
    stack) with cpu_unattributed (what no process accounts for, not judged; from version 5) or
    cpu_niced (lower-priority processes; absent when spanbench ran niced)
    (spanbench.runner.machine_load); absent where unknown and before version 3."""
    probe: dict[str, int] | None = field(default=None, metadata={OMIT_WHEN_NONE: True})
    """`readings`, `mean_ns`, `median_ns`: spanbench.runner.speed_probe's timings of a fixed
    piece of Python while the suite ran, and `wake_mean_ns`, `wake_median_ns`: how late its
    sleeps between them ended (absent with one reading, and in files written before them), and
    `nap_mean_ns`, `nap_median_ns`: of a few µs of work timed just after short sleeps (from
    version 5); absent for a suite that did not run, and before version 4."""
    cpu_takers: list[dict[str, Any]] | None = field(default=None,
                                                    metadata={OMIT_WHEN_NONE: True})
    """The processes outside the run and its system that used the most CPU while the suite ran
    (`pid`, `command`, `share` of the machine's capacity; spanbench.runner.machine_load.CpuTaker),
    most first: where cpu_foreign is known; absent when none used TAKER_AT of it, and before
    version 5."""


@dataclass(frozen=True)
class RunRecord:
    """run.json as spanbench reads and writes it; None: the key is absent."""

    run_id: str | None = None
    started_at: datetime | None = None
    commit: str | None = None
    host: dict[str, Any] | None = None
    config: RunConfig | None = None
    deployment: DeploymentRecord | None = None
    database: dict[str, Any] | None = None
    finished_at: datetime | None = None
    interrupted: bool | None = None
    failures: dict[str, Any] | None = None
    telemetry: dict[str, Any] | None = None
    sink: dict[str, Any] | None = None
    prerequisites: tuple[PrerequisiteRecord, ...] | None = None
    stack_telemetry: list[dict[str, Any]] | None = None
    throughput: list[dict[str, Any]] | None = None
    suites: dict[str, SuiteRecord] | None = None
    """Each suite asked for, in the order asked (absent before version 2)."""
    confirmation: dict[str, Any] | None = None
    """`baseline` and `runs`: the runs made to confirm the run's regressions against that
    baseline (extract.analyse.confirmation); absent when none were made, and before version 4."""
    schema_version: int = SCHEMA_VERSION
    """The version the document was written with (0: before the schema had one)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not declare, kept as they were."""

    @property
    def quick(self) -> bool:
        """A --quick smoke run."""
        return self.config is not None and self.config.quick

    @property
    def environment(self) -> str:
        """What was measured, in words: the reference stack, an external deployment, unknown."""
        deployment = self.deployment or DeploymentRecord()
        if deployment.started_by_run:
            return "Reference stack (started by spanbench run)"
        if deployment.orchestration_url:
            return f"External deployment ({deployment.orchestration_url})"
        return "unknown (no run.json)"

    def to_json(self) -> dict[str, Any]:
        """The document to write: declared keys in FIELDS order (absent ones left out), then
        the undeclared ones; always stamped with this SCHEMA_VERSION."""
        document: dict[str, Any] = {VERSION_KEY: SCHEMA_VERSION}
        for key in FIELDS:
            value = None if key == VERSION_KEY else getattr(self, key)
            if value is not None:
                document[key] = _to_json(value)
        return {**document, **self.extra}


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (f.metadata.get(OMIT_WHEN_NONE) and getattr(value, f.name) is None)}
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    return value


def _checked(document: Mapping[str, Any], fields: Mapping[str, JsonType],
             where: str) -> dict[str, Any]:
    """The declared keys present in `document`, each checked against its type."""
    if not isinstance(document, Mapping):
        raise RunJsonError(f"{where} is {type(document).__name__}, expected an object")
    values = {}
    for key, expected in fields.items():
        if key not in document:
            continue
        value = document[key]
        kinds = expected if isinstance(expected, tuple) else (expected,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise RunJsonError(f"{where}.{key} is {value!r}, expected {_names(expected)}")
        values[key] = value
    return values


def _prerequisite(document: Mapping[str, Any]) -> PrerequisiteRecord:
    values = _checked(document, PREREQUISITE_FIELDS, "run.json.prerequisites[]")
    if "name" not in values or "ok" not in values:
        raise RunJsonError(f"run.json.prerequisites[] {document!r} lacks its name or ok")
    return PrerequisiteRecord(**values)


def _suite(suite: str, document: Mapping[str, Any]) -> SuiteRecord:
    values = _checked(document, SUITE_FIELDS, f"run.json.suites.{suite}")
    if values.get("status") not in SUITE_STATUSES:
        raise RunJsonError(f"run.json.suites.{suite}.status is {values.get('status')!r}, "
                           f"expected one of {', '.join(SUITE_STATUSES)}")
    if not all(isinstance(text, str) for text in values.get("measures", {}).values()):
        raise RunJsonError(f"run.json.suites.{suite}.measures has a value that is not text")
    machine = values.get("machine", {})
    if not all(isinstance(share, (int, float)) and not isinstance(share, bool)
               for share in machine.values()):
        raise RunJsonError(f"run.json.suites.{suite}.machine has a value that is not a number")
    if not all(isinstance(taker, dict) and isinstance(taker.get("share"), (int, float))
               for taker in values.get("cpu_takers", [])):
        raise RunJsonError(f"run.json.suites.{suite}.cpu_takers has an entry without a share")
    return SuiteRecord(**values)


def _names(expected: JsonType) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if kind is NoneType else kind.__name__ for kind in kinds)


def _time(text: str | None, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise RunJsonError(f"{where} is {text!r}, expected an ISO 8601 time") from None


def parse(document: Mapping[str, Any]) -> RunRecord:
    """A run.json document (any version up to SCHEMA_VERSION) as a RunRecord."""
    values = _checked(document, FIELDS, "run.json")
    version = values.pop(VERSION_KEY, 0)
    if version > SCHEMA_VERSION:
        raise RunJsonError(f"run.json has schema_version {version}; this spanbench reads up "
                           f"to {SCHEMA_VERSION}: upgrade spanbench")
    config = values.pop("config", None)
    deployment = values.pop("deployment", None)
    prerequisites = values.pop("prerequisites", None)
    suites = values.pop("suites", None)
    return RunRecord(
        **{key: value for key, value in values.items()
           if key not in ("started_at", "finished_at")},
        started_at=_time(values.get("started_at"), "run.json.started_at"),
        finished_at=_time(values.get("finished_at"), "run.json.finished_at"),
        config=None if config is None else _config(config),
        deployment=None if deployment is None else _deployment(deployment),
        prerequisites=None if prerequisites is None else tuple(
            _prerequisite(item) for item in prerequisites),
        suites=None if suites is None else {
            name: _suite(name, item) for name, item in suites.items()},
        schema_version=version,
        extra={key: value for key, value in document.items() if key not in FIELDS},
    )


def _config(document: Mapping[str, Any]) -> RunConfig:
    values = _checked(document, CONFIG_FIELDS, "run.json.config")
    return RunConfig(**{**values, "suites": tuple(values.get("suites", ()))})


def _deployment(document: Mapping[str, Any]) -> DeploymentRecord:
    values = _checked(document, DEPLOYMENT_FIELDS, "run.json.deployment")
    started = values.get("started_by_run", ())
    return DeploymentRecord(**{**values, "worker_urls": tuple(values.get("worker_urls", ())),
                               "started_by_run": tuple(started) if isinstance(started, list)
                               else started})
