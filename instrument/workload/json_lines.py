"""A child process spoken to in JSON lines: one request line on its stdin, one reply line on
its stdout, each carrying the request's `id`; the process opens with one line of its own
(`{"ready": true, "pid": ...}` or `{"error": ...}`) and exits when its stdin closes."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

START_TIMEOUT_S = 15.0


class JsonLinesProcess:
    """A JSON-lines child process, started at construction and stopped by `close()`."""

    def __init__(self, command: Sequence[str], timeout_s: float = START_TIMEOUT_S, *,
                 env: Mapping[str, str] | None = None, stderr: IO[Any] | int | None = None
                 ) -> None:
        self._process = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, bufsize=0,
                                         env=None if env is None else dict(env), stderr=stderr)
        self._buffer = b""
        self._next_id = 0
        try:
            self.ready: dict[str, Any] = json.loads(self._read_line(time.monotonic() + timeout_s))
            if "error" in self.ready:
                raise RuntimeError(f"{command[-1]} could not start: {self.ready['error']}")
        except BaseException:
            self.close()
            raise
        self.pid = int(self.ready["pid"])

    def __enter__(self) -> JsonLinesProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, body: Mapping[str, Any], expires_at: float) -> dict[str, Any]:
        """Send one request, wait for its reply (until `expires_at`, monotonic); the reply.
        A reply carrying `error` raises RuntimeError."""
        self._next_id += 1
        line = json.dumps({**body, "id": self._next_id}).encode() + b"\n"
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(line)
        reply: dict[str, Any] = json.loads(self._read_line(expires_at))
        if reply.get("id") != self._next_id:
            raise RuntimeError(f"process {self.pid} answered request {reply.get('id')} "
                               f"to request {self._next_id}")
        if "error" in reply:
            raise RuntimeError(f"process {self.pid} failed: {reply['error']}")
        return reply

    def close(self) -> None:
        process = self._process
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _read_line(self, expires_at: float) -> bytes:
        stdout = self._process.stdout
        assert stdout is not None
        while (end := self._buffer.find(b"\n")) < 0:
            remaining = expires_at - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"process {self._process.pid} did not answer in time")
            if not select.select([stdout], [], [], remaining)[0]:
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"process {self._process.pid} exited with "
                                   f"{self._process.wait()}")
            self._buffer += chunk
        line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
        return line
