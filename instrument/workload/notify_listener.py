"""A LISTEN process that timestamps notifications, and the driver's handle on it.

Run as `python -m instrument.workload.notify_listener`; the first line on its stdin is a JSON
object `{"database_url": ..., "channel": ...}` (the URL stays off the command line). It
LISTENs on the channel over one connection for its whole life and writes JSON lines on
stdout:

    {"event": "ready", "pid": 4242, "clock": "clock_gettime(CLOCK_MONOTONIC)"}
    {"event": "notification", "key": "17", "receipt_ns": 123456789, "channel": "..."}
    {"event": "pong", "ns": 123456790}            (the answer to a line "ping" on stdin)

`key` is the payload's `nonce` when it has one, else its `msg_id` (what
tasker.pgmq_send_with_notify puts in every payload). `receipt_ns` is `time.perf_counter_ns()`
read as soon as select() reports the socket readable, before any parsing; notifications
that arrive in one read share it. The process exits when its stdin closes.

Why a process: in the driver's own interpreter a listener thread and the sending thread
contend for one GIL, so a receipt could be stamped late (the sender holding the lock) and
the send could be slowed by the listener. Here the two share nothing but the clock.

The clock: on Linux, `perf_counter_ns` is `clock_gettime(CLOCK_MONOTONIC)`, one system-wide
clock, so readings of two processes on one host are comparable. `ListenerProcess.verify_clock`
checks that both processes report the same monotonic implementation and that a "pong"
reading falls between the driver's readings before and after it, and raises otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

READY_TIMEOUT_S = 15.0
EXIT_TIMEOUT_S = 5.0
CLOCK_CHECKS = 3
NOTIFICATION = "notification"
"""The event of a record that stamps one notification's receipt."""


class ListenerError(RuntimeError):
    """The listener process failed, exited, or did not answer in time."""


def _emit(record: dict[str, Any]) -> None:
    os.write(1, (json.dumps(record) + "\n").encode())


def _key(payload: str) -> str | None:
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    key = body.get("nonce", body.get("msg_id"))
    return None if key is None else str(key)


def _listen(database_url: str, channel: str) -> None:
    import psycopg  # imported here: the driver's side of this module does not need it
    from psycopg import sql

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        _emit({"event": "ready", "pid": os.getpid(),
               "clock": time.get_clock_info("perf_counter").implementation})
        pgconn = conn.pgconn
        sock = pgconn.socket
        stdin = sys.stdin.buffer.raw  # type: ignore[attr-defined]
        perf_counter_ns = time.perf_counter_ns
        while True:
            readable, _, _ = select.select([sock, stdin], [], [])
            if sock in readable:
                receipt_ns = perf_counter_ns()
                pgconn.consume_input()
                while (notify := pgconn.notifies()) is not None:
                    _emit({"event": NOTIFICATION, "key": _key(notify.extra.decode()),
                           "receipt_ns": receipt_ns, "channel": notify.relname.decode()})
            if stdin in readable:
                line = stdin.readline()
                if not line:
                    return
                if line.strip() == b"ping":
                    _emit({"event": "pong", "ns": perf_counter_ns()})


def main() -> int:
    config = json.loads(sys.stdin.buffer.raw.readline())  # type: ignore[attr-defined]
    _listen(config["database_url"], config["channel"])
    return 0


class ListenerProcess:
    """The driver's handle on one listener process: start once, ask for receipts, close."""

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self._process = process
        self._stderr = stderr
        self._buffer = b""
        self._receipts: dict[str, int] = {}
        self.pid = process.pid
        self.clock = ""

    @classmethod
    def start(cls, database_url: str, channel: str,
              timeout_s: float = READY_TIMEOUT_S) -> ListenerProcess:
        """Start the process and wait until it is listening."""
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        process = subprocess.Popen(
            [sys.executable, "-m", "instrument.workload.notify_listener"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, bufsize=0)
        listener = cls(process, stderr)
        try:
            listener._send(json.dumps({"database_url": database_url, "channel": channel}))
            ready = listener._next("ready", time.monotonic() + timeout_s)
        except BaseException:
            listener.close()
            raise
        listener.clock = str(ready["clock"])
        return listener

    def __enter__(self) -> ListenerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def verify_clock(self) -> None:
        """Raise ListenerError unless the listener's perf_counter is comparable with ours."""
        ours = time.get_clock_info("perf_counter")
        if self.clock != ours.implementation or not ours.monotonic or ours.adjustable:
            raise ListenerError(
                f"the listener's clock ({self.clock}) is not this process's monotonic "
                f"clock ({ours.implementation}): receipt times cannot be compared")
        for _ in range(CLOCK_CHECKS):
            before = time.perf_counter_ns()
            self._send("ping")
            pong = int(self._next("pong", time.monotonic() + READY_TIMEOUT_S)["ns"])
            after = time.perf_counter_ns()
            if not before <= pong <= after:
                raise ListenerError(
                    f"the listener read {pong} ns between our readings {before} and {after}: "
                    "perf_counter is not one clock across processes on this host")

    def receipt(self, key: str, expires_at: float) -> int:
        """The listener's receipt time of the notification with `key`, waiting until
        `expires_at` (a time.monotonic() value)."""
        while key not in self._receipts:
            record = self._next(NOTIFICATION, expires_at)
            if record["key"] is not None:
                self._receipts[str(record["key"])] = int(record["receipt_ns"])
        return self._receipts.pop(key)

    def close(self) -> None:
        """Close its stdin (it exits), then make sure it is gone."""
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.close()

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        if stdin is None:
            raise ListenerError("the listener has no stdin")
        try:
            stdin.write(line.encode() + b"\n")
        except BrokenPipeError as error:
            raise self._died() from error

    def _next(self, event: str, expires_at: float) -> dict[str, Any]:
        """The next record of kind `event` (other kinds are kept or dropped as they come)."""
        while True:
            record = self._read_record(expires_at)
            if record.get("event") == event:
                return record
            if record.get("event") == NOTIFICATION and record.get("key") is not None:
                self._receipts[str(record["key"])] = int(record["receipt_ns"])

    def _read_record(self, expires_at: float) -> dict[str, Any]:
        stdout = self._process.stdout
        if stdout is None:
            raise ListenerError("the listener has no stdout")
        while b"\n" not in self._buffer:
            remaining = expires_at - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"listener {self.pid} reported nothing in time")
            readable, _, _ = select.select([stdout], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise self._died()
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    def _died(self) -> ListenerError:
        code = self._process.wait(EXIT_TIMEOUT_S)
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        # The exception's own line is the last one not indented; its message may go on.
        start = max((i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t")),
                    default=0)
        reason = " ".join(" ".join(lines[start:]).split()) or "no output"
        return ListenerError(f"the notify listener (pid {self.pid}) exited with {code}: "
                             f"{reason}")


if __name__ == "__main__":
    sys.exit(main())
