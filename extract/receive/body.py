"""Reading a request body under a size cap, inflating gzip/deflate without overshooting it.

Pure and incremental: feed chunks as they arrive; a body past the cap raises BodyTooLarge
after at most `cap + 1` inflated bytes were produced, so a gzip bomb never inflates in memory.
"""

from __future__ import annotations

import zlib
from typing import Final

ENCODINGS: Final = ("", "identity", "gzip", "x-gzip", "deflate")


class BodyTooLarge(ValueError):
    """The body, compressed or inflated, exceeds the cap."""


class BodyError(ValueError):
    """The body is not valid for its Content-Encoding (corrupt or truncated stream)."""


class BodyReader:
    """Accumulates a body of Content-Encoding `encoding` (one of ENCODINGS), capped at `cap`."""

    def __init__(self, encoding: str, cap: int) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        self.cap = cap
        self.raw_bytes = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._inflater: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header

    @property
    def size(self) -> int:
        """Bytes of (inflated) body held so far."""
        return self._size

    @property
    def memory(self) -> int:
        """Bytes to count against the backlog: the body, plus what was read when inflating."""
        return self._size + (self.raw_bytes if self._inflater is not None else 0)

    def feed(self, chunk: bytes) -> None:
        """Add a chunk as received on the wire."""
        self.raw_bytes += len(chunk)
        if self.raw_bytes > self.cap:
            raise BodyTooLarge(f"body exceeds {self.cap} bytes")
        if self._inflater is None:
            self._append(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._inflater.decompress(data, self.cap - self._size + 1)
            except zlib.error as error:
                raise BodyError(f"body is not valid compressed data: {error}") from error
            self._append(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                break

    def finish(self) -> bytes:
        """The whole (inflated) body."""
        if self._inflater is not None and not self._inflater.eof:
            if self.raw_bytes == 0:
                return b""
            raise BodyError("compressed body ends before its stream does")
        body = b"".join(self._parts)
        self._parts = [body]
        return body

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.cap:
            raise BodyTooLarge(f"body exceeds {self.cap} bytes once inflated")
        if data:
            self._parts.append(data)
