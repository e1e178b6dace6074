"""stack.local.migrate without a server: finding and validating schema files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stack.local import migrate
from stack.local.migrate import MigrationError


def test_discover_sorts_by_version_and_checksums(tmp_path: Path) -> None:
    (tmp_path / "010_later.sql").write_text("SELECT 10;")
    (tmp_path / "002_second.sql").write_text("SELECT 2;")
    (tmp_path / "README.md").write_text("not a migration")
    found = migrate.discover(tmp_path)
    assert [(m.version, m.name) for m in found] == [(2, "second"), (10, "later")]
    assert found[0].checksum == hashlib.sha256(b"SELECT 2;").hexdigest()


def test_misnamed_sql_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"schema\.sql .* NNN_name\.sql"):
        migrate.discover(tmp_path)


def test_duplicate_version_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share version 1"):
        migrate.discover(tmp_path)


def test_packaged_schema_files_are_well_named() -> None:
    versions = [m.version for m in migrate.discover(migrate.default_sql_dir())]
    assert versions == sorted(set(versions))
