"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export` on grpc.aio.

The method is registered with raw-bytes (de)serialisation so that the receiver shares the
HTTP path's decoding, screening and spooling, and spools the wire bytes unchanged when no
span is rejected. Status codes follow OTLP/gRPC: OK (with `partial_success` when some spans
were rejected), INVALID_ARGUMENT for an undecodable message, UNAVAILABLE with a RetryInfo
when the backlog is full, UNAUTHENTICATED without the configured bearer token (`authorization`
metadata, compared in constant time); grpc itself answers RESOURCE_EXHAUSTED past the size limit.
"""

from __future__ import annotations

import logging
from typing import Final, NoReturn

import grpc
from google.protobuf.any_pb2 import Any
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from extract.receive.backlog import Backlog
from extract.receive.ingest import Format, Ingestor, Outcome
from extract.receive.otlp_decode import OtlpDecodeError
from extract.receive.spool import SpoolError
from spanbench.security import bearer_token, token_matches

log = logging.getLogger(__name__)

SERVICE: Final = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
MAX_CONCURRENT_RPCS: Final = 64


class BindError(OSError):
    """A listener could not bind; the message names the address and the fix."""


def retry_metadata(
    code: grpc.StatusCode, message: str, delay_s: int
) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata with a RetryInfo, as the OTLP exporters read it and as Status details."""
    info = RetryInfo(retry_delay=Duration(seconds=delay_s))
    detail = Any()
    detail.Pack(info)
    status = Status(code=code.value[0], message=message, details=[detail])
    return (
        ("google.rpc.retryinfo-bin", info.SerializeToString()),
        ("grpc-status-details-bin", status.SerializeToString()),
    )


class GrpcReceiver:
    """The Export method over an Ingestor and a Backlog."""

    def __init__(self, ingestor: Ingestor, backlog: Backlog, retry_after_s: int,
                 token: str | None = None) -> None:
        self._token = token
        self._ingestor = ingestor
        self._backlog = backlog
        self._retry_after = retry_after_s

    def handler(self) -> grpc.GenericRpcHandler:
        method = grpc.unary_unary_rpc_method_handler(self.export)  # bytes in, bytes out
        return grpc.method_handlers_generic_handler(SERVICE, {"Export": method})

    async def export(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        counters = self._ingestor.counters
        if self._token is not None and not self._authenticated(context):
            counters.count(Outcome.UNAUTHENTICATED)
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong bearer token: send metadata 'authorization: Bearer <token>' "
                "(OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>)",
            )
        if not self._backlog.reserve(len(body)):
            counters.count(Outcome.OVERLOADED)
            await self._unavailable(
                context,
                f"sink backlog is full ({self._backlog.total} of {self._backlog.limit} bytes)",
            )
        try:
            prepared = await self._ingestor.ingest(body, Format.PROTOBUF)
        except OtlpDecodeError as error:
            counters.count(Outcome.BAD_REQUEST)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except (OSError, SpoolError) as error:
            log.error("spans not spooled: %s", error)
            counters.count(Outcome.SPOOL_ERROR)
            await self._unavailable(context, f"spool unavailable: {error}")
        finally:
            self._backlog.release(len(body))
        answer = ExportTraceServiceResponse()
        if prepared.rejected_spans or prepared.error_message:
            answer.partial_success.rejected_spans = prepared.rejected_spans
            answer.partial_success.error_message = prepared.error_message
        return answer.SerializeToString()

    def _authenticated(self, context: grpc.aio.ServicerContext) -> bool:
        assert self._token is not None
        presented = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                presented = bearer_token(value)
                break
        return token_matches(presented, self._token)

    async def _unavailable(self, context: grpc.aio.ServicerContext, message: str) -> NoReturn:
        code = grpc.StatusCode.UNAVAILABLE
        await context.abort(
            code, message, trailing_metadata=retry_metadata(code, message, self._retry_after)
        )
        raise AssertionError("abort returned")  # abort always raises


async def start_grpc(
    receiver: GrpcReceiver, host: str, port: int, max_body_bytes: int
) -> tuple[grpc.aio.Server, int]:
    """A started grpc.aio server for `receiver` and its bound port."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_body_bytes),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    server.add_generic_rpc_handlers((receiver.handler(),))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as error:
        bound = 0
        log.debug("grpc bind %s: %s", address, error)
    if bound == 0:
        raise BindError(
            f"cannot listen for OTLP/gRPC on {address}: the port is in use or the address is "
            "not local; stop what holds it, or pass --grpc HOST:0 (any free port) or --grpc off"
        )
    await server.start()
    return server, bound
