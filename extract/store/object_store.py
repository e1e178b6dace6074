"""Runs in an S3 bucket: `s3://bucket/prefix/<run_id>/spans/part-<part>.parquet` (+ run.json).

The same layout as a local runs dir, written and read through pyarrow's S3 filesystem.
Each object is written with one upload from a complete in-memory buffer; S3 makes an
object visible only once its upload completes, so a reader never sees half a part (the
local store's temp-name-then-rename guarantee, in the form S3 offers).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final

import pyarrow as pa
import pyarrow.fs as pafs

from spanbench import settings

SCHEME: Final = "s3://"


def is_s3(text: str | os.PathLike[str]) -> bool:
    return str(text).startswith(SCHEME)


@dataclass(frozen=True)
class S3Runs:
    """A runs dir in a bucket: `s3://bucket/prefix` (prefix may be empty)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Runs:
        """`s3://bucket[/prefix]` → S3Runs; ValueError naming the expected form."""
        if not is_s3(uri):
            raise ValueError(f"{uri!r} is not an s3:// URI (expected s3://bucket/prefix)")
        bucket, _, prefix = uri[len(SCHEME):].partition("/")
        prefix = prefix.strip("/")
        if not bucket or "//" in prefix or any(p in (".", "..") for p in prefix.split("/")):
            raise ValueError(f"{uri!r} is not a usable s3:// URI (expected s3://bucket/prefix)")
        return cls(bucket, prefix)

    def __str__(self) -> str:
        return f"{SCHEME}{self.key()}"

    def key(self, *parts: str) -> str:
        """`bucket/prefix/part/...`: a path as pyarrow's S3 filesystem names it."""
        return posixpath.join(self.bucket, *([self.prefix] if self.prefix else []), *parts)


def endpoint() -> str | None:
    """The S3 endpoint from the environment (pyarrow's S3FileSystem does not read it)."""
    return settings.first(settings.AWS_ENDPOINT_URL_S3, settings.AWS_ENDPOINT_URL)


@cache
def _filesystem(endpoint_url: str | None, region: str | None) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=endpoint_url, region=region)


def filesystem() -> pafs.S3FileSystem:
    """An S3 filesystem configured from the AWS_* variables (one per distinct setting)."""
    region = settings.first(settings.AWS_REGION, settings.AWS_DEFAULT_REGION)
    return _filesystem(endpoint(), region)


def put(location: S3Runs, relative: str, data: pa.Buffer | bytes) -> str:
    """Upload `data` as the object `relative` under `location` in one go; its key."""
    key = location.key(relative)
    with filesystem().open_output_stream(key) as stream:
        stream.write(data)
    return key


def get_text(location: S3Runs, relative: str) -> str | None:
    """The object's text, or None when there is no such object."""
    key = location.key(relative)
    fs = filesystem()
    if fs.get_file_info(key).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(key) as stream:
        return stream.read().decode()


def mtime(location: S3Runs, relative: str) -> datetime:
    """When the newest object under `relative` was written."""
    selector = pafs.FileSelector(location.key(relative), recursive=True, allow_not_found=True)
    times = [info.mtime for info in filesystem().get_file_info(selector)
             if info.type == pafs.FileType.File and info.mtime is not None]
    if not times:
        raise FileNotFoundError(f"nothing under {location}/{relative}")
    return max(times)


def list_names(location: S3Runs, relative: str = "") -> list[str]:
    """Names of the objects and directories directly under `relative`, sorted."""
    selector = pafs.FileSelector(location.key(relative) if relative else location.key(),
                                 allow_not_found=True)
    return sorted(info.base_name for info in filesystem().get_file_info(selector))


def check_bucket(location: S3Runs) -> None:
    """Raise OSError naming the fix when the bucket cannot be reached or does not exist."""
    where = endpoint() or "AWS S3"
    try:
        info = filesystem().get_file_info(location.bucket)
    except OSError as error:
        raise OSError(f"cannot reach bucket {location.bucket!r} at {where}: {error}; check "
                      f"{settings.AWS_ENDPOINT_URL_S3} / {settings.AWS_ENDPOINT_URL} and the "
                      "AWS_* credentials") from None
    if info.type != pafs.FileType.Directory:
        raise OSError(f"bucket {location.bucket!r} does not exist at {where}: create it "
                      "(e.g. 'mc mb' or 'aws s3 mb') or fix the s3:// URI")
