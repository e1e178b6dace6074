"""The OTLP sink process: recover leftovers, serve OTLP/HTTP and OTLP/gRPC, spool, convert.

One event loop runs uvicorn (Starlette) and grpc.aio side by side; the spool writer and
the converter are threads. SIGTERM/SIGINT: stop accepting, finish in-flight requests,
seal the open segment, convert everything, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import uvicorn

from extract.receive.backlog import Backlog
from extract.receive.converter import Converter, chunk_bytes_for
from extract.receive.forwarder import Forwarder
from extract.receive.heap import keep_freed_memory
from extract.receive.ingest import Ingestor, SinkCounters
from extract.receive.receiver_grpc import BindError, GrpcReceiver, start_grpc
from extract.receive.receiver_http import HttpReceiver
from extract.receive.settings import SinkSettings
from extract.receive.spool import Segment, SpoolLock, SpoolWriter, leftover_segments
from extract.store.runstore import RunStore
from spanbench import strict_json

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 30.0


class SinkError(RuntimeError):
    """The sink cannot start or could not finish; the message names the thing and the fix."""


@dataclass(frozen=True)
class Bound:
    """Where a started sink listens and writes."""

    http: str
    grpc: str | None
    runs: RunStore
    pid: int

    def to_json(self) -> dict[str, object]:
        return {"http": self.http, "grpc": self.grpc, "out": str(self.runs), "pid": self.pid}


def _format(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_http(host: str, port: int) -> socket.socket:
    """A listening socket for the HTTP receiver, or BindError naming the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = "the port is in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise BindError(
            f"cannot listen for OTLP/HTTP on {_format(host, port)}: {reason}; stop what holds "
            f"it (another sink?) or pass --listen {host}:0 for any free port"
        ) from error
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the sink owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _write_ready_file(path: Path, bound: Bound) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(strict_json.dumps(bound.to_json()))
    temporary.replace(path)


class Sink:
    """One sink: its backlog, counters, spool and converter; `serve` runs it."""

    def __init__(self, settings: SinkSettings) -> None:
        settings.check()
        self.settings = settings
        self.backlog = Backlog(settings.max_backlog_bytes)
        self.counters = SinkCounters()
        self.converter = Converter(
            settings.runs, self._converted, self._conversion_failed,
            chunk_bytes=chunk_bytes_for(settings.max_backlog_bytes),
        )  # fmt: skip
        self.forwarders = [Forwarder(endpoint) for endpoint in settings.forward]
        self._writer: SpoolWriter | None = None
        self._stop: asyncio.Event | None = None
        self._bound: Bound | None = None

    def _forward(self, record: bytes) -> None:
        for forwarder in self.forwarders:
            forwarder.offer(record)

    def _converted(self, segment: Segment, spans: int) -> None:
        self.backlog.remove_spooled(segment.size)
        self.counters.written_spans += spans
        self.counters.segments_converted += 1

    def _conversion_failed(self, segment: Segment, error: Exception) -> None:
        self.counters.conversion_errors += 1

    def status(self) -> dict[str, object]:
        """The counters of GET /status, with where the sink listens (OTLP/HTTP and OTLP/gRPC
        addresses) and whether it wants a bearer token (never the token)."""
        counters, backlog, writer = self.counters, self.backlog, self._writer
        open_segment = writer is not None and writer.active_bytes > 0
        bound = self._bound
        return {
            "listen": {"http": bound.http, "grpc": bound.grpc} if bound is not None else None,
            "token_required": self.settings.token is not None,
            "received_spans": counters.received_spans,
            "accepted_spans": counters.accepted_spans,
            "rejected_spans": counters.rejected_spans,
            "written_spans": counters.written_spans,
            "requests": dict(counters.requests),
            "services": dict(counters.services),
            "backlog_bytes": backlog.total,
            "in_flight_bytes": backlog.in_flight,
            "spooled_bytes": backlog.spooled,
            "max_backlog_bytes": backlog.limit,
            "segments_pending": self.converter.pending + int(open_segment),
            "segments_converted": counters.segments_converted,
            "conversion_errors": counters.conversion_errors,
            "spool_commits": writer.commits if writer is not None else 0,
            "forward": [forwarder.status() for forwarder in self.forwarders],
        }

    def request_stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler on the loop)."""
        if self._stop is not None:
            self._stop.set()

    def _recover(self) -> int:
        """Convert segments left by an earlier process; return the next sequence number."""
        leftovers = leftover_segments(self.settings.spool)
        for segment in leftovers:
            log.info("converting leftover segment %s", segment.path.name)
            self.backlog.add_spooled(segment.size)
            if not self.converter.convert_now(segment):
                raise SinkError(
                    f"cannot convert leftover spool segment {segment.path}; it is kept: fix "
                    "the cause in the log above and start again"
                )
        return leftovers[-1].seq + 1 if leftovers else 0

    @staticmethod
    def _stop_grpc(server: grpc.aio.Server | None) -> list[Awaitable[None]]:
        return [] if server is None else [server.stop(SHUTDOWN_GRACE_S)]

    async def serve(self, on_ready: Callable[[Bound], None] | None = None) -> int:
        """Run until `request_stop`; return the exit code (0 when everything is in Parquet)."""
        settings = self.settings
        self._stop = asyncio.Event()
        try:
            await asyncio.to_thread(settings.runs.check_reachable)
        except OSError as error:
            raise SinkError(str(error)) from None
        lock = SpoolLock(settings.spool)
        lock.acquire()
        try:
            first_seq = await asyncio.to_thread(self._recover)
            return await self._serve(first_seq, on_ready)
        finally:
            lock.release()

    async def _serve(self, first_seq: int, on_ready: Callable[[Bound], None] | None) -> int:
        settings = self.settings
        assert self._stop is not None
        http_sock = bind_http(*settings.http)
        self.converter.start()
        writer = SpoolWriter(
            settings.spool, self.backlog, self.converter.submit,
            settings.segment_bytes, settings.segment_age_s, first_seq,
        ).start()  # fmt: skip
        self._writer = writer
        for forwarder in self.forwarders:
            forwarder.start()
        ingestor = Ingestor(writer, self.counters, self._forward if self.forwarders else None)
        grpc_server: grpc.aio.Server | None = None
        grpc_address = None
        try:
            if settings.grpc is not None:
                receiver = GrpcReceiver(ingestor, self.backlog, settings.retry_after_s,
                                        settings.token)
                grpc_server, grpc_port = await start_grpc(
                    receiver, settings.grpc[0], settings.grpc[1], settings.max_body_bytes
                )
                grpc_address = _format(settings.grpc[0], grpc_port)
            http = HttpReceiver(
                ingestor, self.backlog, settings.max_body_bytes, settings.retry_after_s,
                self.status, settings.token,
            )  # fmt: skip
            config = uvicorn.Config(
                http.app(), lifespan="off", log_level="warning", access_log=False,
                timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
            )  # fmt: skip
            server = _Uvicorn(config)
            serving = asyncio.create_task(server.serve(sockets=[http_sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            if serving.done():
                serving.result()
                raise SinkError("the HTTP receiver stopped while starting")
            port = http_sock.getsockname()[1]
            bound = Bound(
                _format(settings.http[0], port), grpc_address, settings.runs, os.getpid()
            )
            self._bound = bound
            if settings.ready_file is not None:
                _write_ready_file(settings.ready_file, bound)
            if on_ready is not None:
                on_ready(bound)
            stopping = asyncio.create_task(self._stop.wait())
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            log.info("stopping: no new requests; finishing in-flight ones")
            server.should_exit = True  # both receivers stop accepting at once
            stopping.cancel()
            await asyncio.gather(serving, *self._stop_grpc(grpc_server))
            grpc_server = None
        finally:
            await asyncio.gather(*self._stop_grpc(grpc_server))
            await asyncio.to_thread(writer.close)
            failed = await asyncio.to_thread(self.converter.stop)
            for forwarder in self.forwarders:
                await asyncio.to_thread(forwarder.close, settings.forward_drain_s)
            http_sock.close()
            if settings.ready_file is not None:
                settings.ready_file.unlink(missing_ok=True)
        if failed:
            names = ", ".join(segment.path.name for segment in failed)
            raise SinkError(
                f"{len(failed)} spool segment(s) could not be converted and are kept in "
                f"{settings.spool} ({names}): fix the cause in the log and start the sink "
                "again to convert them"
            )
        return 0


def run(settings: SinkSettings, on_ready: Callable[[Bound], None] | None = None) -> int:
    """Run a sink in this process until SIGTERM/SIGINT; return its exit code."""
    keep_freed_memory()  # the converter's arrays reuse pages instead of faulting in new ones

    async def main() -> int:
        sink = Sink(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sink.request_stop)
        return await sink.serve(on_ready)

    return asyncio.run(main())
