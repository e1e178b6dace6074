"""The runs directory: one object owns its layout, in a local folder or in a bucket.

    <runs>/<run_id>/spans/part-<part>.parquet  the run's spans (extract/store/parquet_store.py)
    <runs>/<run_id>/run.json                   its metadata (extract/store/run_json.py)
    <runs>/<run_id>/artifacts/                 what its drivers keep
    <runs>/_history/<run_id>.parquet           its statistics for `spanbench trend` (history.py)
    <home>/baselines/<name>/                   saved baselines (extract/store/baselines.py)

`s3://bucket/prefix` keeps spans and run.json in a bucket (extract/store/object_store.py); a
bucket's artifacts, history and the sink's spool stay on this machine, under <home>. Which runs
dir: --runs-dir (alias --out), then SPANBENCH_RUNS_DIR, then its older name SPANBENCH_SINK_OUT,
then <home>/runs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.fs as pafs

from extract.store import object_store, parquet_store
from extract.store.object_store import S3Runs, is_s3
from extract.store.run_json import RUN_JSON, RunJsonError, RunRecord, parse
from spanbench import settings, strict_json
from spanbench.security import check_name, contained, is_safe_name

HISTORY_DIR: Final = "_history"
UNASSIGNED: Final = "unassigned"
"""The run the sink files spans under when they carry no `bench.run_id`."""
"""Beside the runs; it cannot be a run id (run ids start with a letter or a digit)."""
ARTIFACTS_DIR: Final = "artifacts"
BASELINES_DIR: Final = "baselines"
STAGING_DIR: Final = "s3-staging"
DEFAULT_HOME: Final = Path(".spanbench")

STAMPED: Final = re.compile(r"^\d{8}T\d{6}Z")
"""Run ids `spanbench run` makes (new_run_id) start with their UTC start time."""
PART_NAME: Final = re.compile(r"^part-.+\.parquet$")


class RunsDirError(ValueError):
    """A runs dir that cannot be used; the message names it and the expected form."""


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: 20261129T222039Z-3fa9c2."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def baselines_dir(home: Path) -> Path:
    """Where named baselines live: <home>/baselines/<name>."""
    return home.absolute() / BASELINES_DIR


def _text(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


@dataclass(frozen=True)
class RunStore(ABC):
    """A runs dir: its runs, their spans, run.json, artifacts and history, and the baselines."""

    home: Path
    """spanbench's home (SPANBENCH_HOME): baselines, and what a bucket keeps on this machine."""

    @staticmethod
    def resolve(explicit: str | os.PathLike[str] | None = None,
                home: Path | None = None) -> RunStore:
        """--runs-dir, then SPANBENCH_RUNS_DIR, then SPANBENCH_SINK_OUT, then <home>/runs."""
        chosen = explicit if explicit is not None else settings.runs_dir_value()
        home = (home or DEFAULT_HOME).absolute()
        return RunStore.at(home / "runs" if chosen is None else chosen, home)

    @staticmethod
    def at(location: RunStore | str | os.PathLike[str] | S3Runs,
           home: Path | None = None) -> RunStore:
        """The store at `location` (a folder, `s3://bucket/prefix`, or a store as it is)."""
        if isinstance(location, RunStore):
            return location
        home = (home or DEFAULT_HOME).absolute()
        if isinstance(location, S3Runs):
            return BucketRuns(home, location)
        if is_s3(location):
            try:
                return BucketRuns(home, S3Runs.parse(str(location)))
            except ValueError as error:
                raise RunsDirError(str(error)) from None
        return LocalRuns(home, Path(location).absolute())

    # ── where things are ──────────────────────────────────────────────────────

    @property
    def s3(self) -> S3Runs | None:
        """The bucket, for a store in one; None for a local folder."""
        return None

    @property
    @abstractmethod
    def staging_dir(self) -> Path:
        """The local folder a sink writing here keeps its spool in (`.spool`)."""

    @property
    def history_home(self) -> Path:
        """The local folder holding HISTORY_DIR: the runs dir, or a bucket's staging folder
        (a bucket's history is not shared through it)."""
        return self.staging_dir

    @property
    def history_dir(self) -> Path:
        """Where each run's statistics are kept for `spanbench trend` (always local)."""
        return self.history_home / HISTORY_DIR

    @property
    def baselines_dir(self) -> Path:
        """Where named baselines live: <home>/baselines/<name>."""
        return baselines_dir(self.home)

    @abstractmethod
    def artifacts_dir(self, run_id: str) -> Path:
        """Where the run's drivers keep files (always local)."""

    @abstractmethod
    def spans_location(self, run_id: str) -> str:
        """The run's spans folder, as a message names it."""

    @abstractmethod
    def filesystem(self) -> pafs.FileSystem | None:
        """The pyarrow filesystem part_files' paths are in; None: the local one."""

    # ── runs and their spans ─────────────────────────────────────────────────

    @abstractmethod
    def _entries(self) -> list[str]:
        """Names directly under the runs dir."""

    @abstractmethod
    def part_files(self, run_id: str) -> list[Path]:
        """The run's completed part files, sorted (temp files never match)."""

    @abstractmethod
    def write_part(self, run_id: str, part: str, table: pa.Table) -> str:
        """Write `table` as part `part` of the run, whole or not at all; where it now is."""

    @abstractmethod
    def check_reachable(self) -> None:
        """Raise OSError naming the fix when parts cannot be written here (a bucket that does
        not exist or cannot be reached)."""

    @abstractmethod
    def last_written(self, run_id: str) -> datetime:
        """When the run's files last changed."""

    def run_ids(self) -> list[str]:
        """Run ids that have at least one part file, sorted."""
        return sorted(name for name in self._entries()
                      if is_safe_name(name) and self.part_files(name))

    def newest_stamped(self) -> str | None:
        """The newest run `spanbench run` made (its id starts with its start time), or None."""
        stamped = [run for run in self.run_ids() if STAMPED.match(run)]
        return stamped[-1] if stamped else None

    # ── run.json ─────────────────────────────────────────────────────────────

    @abstractmethod
    def _read_run_json(self, run_id: str) -> str | None:
        """run.json's text, None when there is none."""

    @abstractmethod
    def _write_run_json(self, run_id: str, text: str) -> str:
        """Replace run.json whole; where it is."""

    def run_json_location(self, run_id: str) -> str:
        return f"{self}/{run_id}/{RUN_JSON}"

    def has_record(self, run_id: str) -> bool:
        """Whether the run has a run.json."""
        return self._read_run_json(check_name(run_id, "run id")) is not None

    def read_record(self, run_id: str) -> RunRecord | None:
        """The run's run.json (any schema version); None for a run without one (spans that
        `spanbench collect` received). RunJsonError when it cannot be read or is malformed."""
        check_name(run_id, "run id")
        try:
            text = self._read_run_json(run_id)
            return None if text is None else parse(json.loads(text))
        except (OSError, ValueError) as error:
            raise RunJsonError(f"{self.run_json_location(run_id)} is unreadable: {error}") \
                from None

    def record(self, run_id: str) -> RunRecord:
        """read_record, with an empty record for a run without run.json."""
        return self.read_record(run_id) or RunRecord(schema_version=0)

    def write_record(self, run_id: str, record: RunRecord) -> str:
        """Write the run's run.json (this schema version) beside its spans; where it is."""
        text = strict_json.dumps(record.to_json(), indent=2, default=str) + "\n"
        return self._write_run_json(check_name(run_id, "run id"), text)

    def started_at(self, run_id: str, record: RunRecord | None = None) -> datetime:
        """From run.json; without one, the time in a stamped run id, else when the run's files
        last changed (spans collected under a free-form run id)."""
        if record is not None and record.started_at is not None:
            return record.started_at
        if STAMPED.match(run_id):
            return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return self.last_written(run_id)


@dataclass(frozen=True)
class LocalRuns(RunStore):
    """A runs dir on this machine; writes are atomic and never leave it."""

    root: Path

    def __str__(self) -> str:
        return str(self.root)

    @property
    def staging_dir(self) -> Path:
        return self.root

    def artifacts_dir(self, run_id: str) -> Path:
        return contained(self.root, check_name(run_id, "run id"), ARTIFACTS_DIR)

    def spans_location(self, run_id: str) -> str:
        return str(parquet_store.spans_dir(self.root, run_id))

    def filesystem(self) -> None:
        return None

    def _entries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [entry.name for entry in self.root.iterdir() if entry.is_dir()]

    def part_files(self, run_id: str) -> list[Path]:
        return sorted(parquet_store.local_spans_dir(self.root, run_id).glob("part-*.parquet"))

    def write_part(self, run_id: str, part: str, table: pa.Table) -> str:
        return str(parquet_store.write_part(self.root, run_id, part, table))

    def check_reachable(self) -> None:
        """Nothing to check: the folder is made by the first part written."""

    def last_written(self, run_id: str) -> datetime:
        folder = contained(self.root, check_name(run_id, "run id"))
        return datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC)

    def run_json_location(self, run_id: str) -> str:
        return str(self.root / run_id / RUN_JSON)

    def _read_run_json(self, run_id: str) -> str | None:
        return _text(contained(self.root, run_id, RUN_JSON))

    def _write_run_json(self, run_id: str, text: str) -> str:
        run_dir = contained(self.root, run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / RUN_JSON
        temporary = run_dir / f".{RUN_JSON}.tmp"
        temporary.write_text(text)
        os.replace(temporary, path)
        return str(path)


@dataclass(frozen=True)
class BucketRuns(RunStore):
    """A runs dir in a bucket (`s3://bucket/prefix`); spans and run.json only."""

    bucket: S3Runs

    def __str__(self) -> str:
        return str(self.bucket)

    @property
    def s3(self) -> S3Runs:
        return self.bucket

    @property
    def staging_dir(self) -> Path:
        return self.home / STAGING_DIR / self.bucket.key()

    def artifacts_dir(self, run_id: str) -> Path:
        return contained(self.home / ARTIFACTS_DIR, check_name(run_id, "run id"))

    def _spans(self, run_id: str) -> str:
        return parquet_store.spans_dir(Path(), run_id).as_posix()

    def spans_location(self, run_id: str) -> str:
        return f"{self.bucket}/{self._spans(run_id)}"

    def filesystem(self) -> pafs.FileSystem:
        return object_store.filesystem()

    def _entries(self) -> list[str]:
        return object_store.list_names(self.bucket)

    def part_files(self, run_id: str) -> list[Path]:
        """Their `bucket/key` paths (as Paths), as pyarrow's S3 filesystem names them."""
        spans = self._spans(run_id)
        return [Path(self.bucket.key(spans, name))
                for name in object_store.list_names(self.bucket, spans) if PART_NAME.match(name)]

    def write_part(self, run_id: str, part: str, table: pa.Table) -> str:
        return parquet_store.write_part_s3(self.bucket, run_id, part, table)

    def check_reachable(self) -> None:
        object_store.check_bucket(self.bucket)

    def last_written(self, run_id: str) -> datetime:
        return object_store.mtime(self.bucket, check_name(run_id, "run id"))

    def _read_run_json(self, run_id: str) -> str | None:
        return object_store.get_text(self.bucket, f"{run_id}/{RUN_JSON}")

    def _write_run_json(self, run_id: str, text: str) -> str:
        return object_store.put(self.bucket, f"{run_id}/{RUN_JSON}", text.encode())

