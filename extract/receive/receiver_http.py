"""OTLP/HTTP receiver: `POST /v1/traces` (protobuf or JSON, gzip/deflate), `/status`, `/health`.

Status codes follow the OTLP/HTTP specification: 200 once the accepted spans are durable
(with `partial_success` when some were rejected), 400 for an undecodable body, 413 for a
body over the limit (before or after inflating), 401 without the configured bearer token
(checked first, in constant time; /health and /status stay open), 415 for an unsupported
Content-Type or Content-Encoding, 503 with Retry-After when the backlog is full. Error bodies are a
google.rpc.Status, in protobuf or JSON to match the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from extract.receive.backlog import Backlog
from extract.receive.body import ENCODINGS, BodyError, BodyReader, BodyTooLarge
from extract.receive.ingest import Format, Ingestor, Outcome, Prepared
from extract.receive.otlp_decode import OtlpDecodeError
from extract.receive.spool import SpoolError
from spanbench import strict_json
from spanbench.security import bearer_token, token_matches


class StrictJSONResponse(JSONResponse):
    """Starlette's JSON response, encoded by `strict_json` (non-finite numbers as null)."""

    def render(self, content: object) -> bytes:
        return strict_json.dumps(content, ensure_ascii=False,
                                 separators=(",", ":")).encode("utf-8")


log = logging.getLogger(__name__)

TRACES_PATH: Final = "/v1/traces"
MEDIA_TYPES: Final = {"application/x-protobuf": Format.PROTOBUF, "application/json": Format.JSON}
RESPONSE_TYPES: Final = {Format.PROTOBUF: "application/x-protobuf", Format.JSON: "application/json"}
DRAIN_LIMIT: Final = 64 * 1024 * 1024
"""An early refusal reads and discards up to this much body so the client sees the answer."""

# google.rpc.Code values for the Status bodies
INVALID_ARGUMENT: Final = 3
RESOURCE_EXHAUSTED: Final = 8
UNAVAILABLE: Final = 14
UNAUTHENTICATED: Final = 16


class HttpReceiver:
    """The Starlette endpoints over an Ingestor and a Backlog."""

    def __init__(
        self,
        ingestor: Ingestor,
        backlog: Backlog,
        max_body_bytes: int,
        retry_after_s: int,
        status: Callable[[], dict[str, object]],
        token: str | None = None,
    ) -> None:
        self._token = token
        self._ingestor = ingestor
        self._backlog = backlog
        self._max_body = max_body_bytes
        self._retry_after = str(retry_after_s)
        self._status = status

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(TRACES_PATH, self.traces, methods=["POST"]),
                Route("/status", self.status, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
            ]
        )

    async def status(self, request: Request) -> Response:
        return StrictJSONResponse(self._status())

    async def health(self, request: Request) -> Response:
        return StrictJSONResponse({"status": "ok"})

    async def traces(self, request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = MEDIA_TYPES.get(media)
        if self._token is not None and not token_matches(
            bearer_token(request.headers.get("authorization")), self._token
        ):
            return await self._refuse(
                request, fmt or Format.JSON, 401, Outcome.UNAUTHENTICATED, UNAUTHENTICATED,
                "missing or wrong bearer token: send 'Authorization: Bearer <token>' "
                "(OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>)",
                headers={"WWW-Authenticate": 'Bearer realm="spanbench sink"'},
            )  # fmt: skip
        if fmt is None:
            return await self._refuse(
                request, Format.JSON, 415, Outcome.UNSUPPORTED, INVALID_ARGUMENT,
                f"Content-Type {media or '(none)'!r} is not supported: "
                "send application/x-protobuf or application/json",
            )  # fmt: skip
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding not in ENCODINGS:
            return await self._refuse(
                request, fmt, 415, Outcome.UNSUPPORTED, INVALID_ARGUMENT,
                f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none",
            )  # fmt: skip
        length_header = request.headers.get("content-length")
        length = int(length_header) if length_header and length_header.isdigit() else 0
        if length > self._max_body:
            return await self._too_large(request, fmt, f"Content-Length {length}")
        if not self._backlog.reserve(length):
            return await self._overloaded(request, fmt)
        held = length
        try:
            reader = BodyReader(encoding, self._max_body)
            async for chunk in request.stream():
                reader.feed(chunk)
                need = reader.memory
                if need > held:
                    if not self._backlog.reserve(need - held, already_held=held):
                        return await self._overloaded(request, fmt)
                    held = need
            body = reader.finish()
            prepared = await self._ingestor.ingest(body, fmt)
        except BodyTooLarge as error:
            return await self._too_large(request, fmt, str(error))
        except (BodyError, OtlpDecodeError) as error:
            return self._error(fmt, 400, Outcome.BAD_REQUEST, INVALID_ARGUMENT, str(error))
        except (OSError, SpoolError) as error:
            log.error("spans not spooled: %s", error)
            return self._error(
                fmt, 503, Outcome.SPOOL_ERROR, UNAVAILABLE, f"spool unavailable: {error}",
                retry=True,
            )  # fmt: skip
        except ClientDisconnect:
            return Response(status_code=499)
        finally:
            self._backlog.release(held)
        return self._success(fmt, prepared)

    def _success(self, fmt: Format, prepared: Prepared) -> Response:
        answer = ExportTraceServiceResponse()
        if prepared.rejected_spans or prepared.error_message:
            answer.partial_success.rejected_spans = prepared.rejected_spans
            answer.partial_success.error_message = prepared.error_message
        if fmt is Format.PROTOBUF:
            content = answer.SerializeToString()
        else:
            content = json_format.MessageToJson(answer, indent=None).encode()
        return Response(content, 200, media_type=RESPONSE_TYPES[fmt])

    def _error(
        self,
        fmt: Format,
        http_status: int,
        outcome: Outcome,
        code: int,
        message: str,
        retry: bool = False,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        self._ingestor.counters.count(outcome)
        status = Status(code=code, message=message)
        if fmt is Format.PROTOBUF:
            content = status.SerializeToString()
        else:
            content = json_format.MessageToJson(status, indent=None).encode()
        headers = dict(headers or {})
        if retry:
            headers["Retry-After"] = self._retry_after
        if close:
            headers["Connection"] = "close"
        return Response(content, http_status, headers=headers, media_type=RESPONSE_TYPES[fmt])

    async def _refuse(
        self, request: Request, fmt: Format, http_status: int, outcome: Outcome, code: int,
        message: str, retry: bool = False, headers: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        """Answer without using the body: discard it (up to a limit) so the client reads us."""
        drained = await _drain(request, DRAIN_LIMIT)
        return self._error(fmt, http_status, outcome, code, message, retry, close=not drained,
                           headers=headers)

    async def _too_large(self, request: Request, fmt: Format, what: str) -> Response:
        return await self._refuse(
            request, fmt, 413, Outcome.TOO_LARGE, RESOURCE_EXHAUSTED,
            f"{what} exceeds the sink's limit of {self._max_body} bytes: "
            "send smaller batches (e.g. lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
        )  # fmt: skip

    async def _overloaded(self, request: Request, fmt: Format) -> Response:
        return await self._refuse(
            request, fmt, 503, Outcome.OVERLOADED, UNAVAILABLE,
            f"sink backlog is full ({self._backlog.total} of {self._backlog.limit} bytes): "
            f"retry after {self._retry_after} s",
            retry=True,
        )  # fmt: skip


async def _drain(request: Request, limit: int) -> bool:
    """Read and drop the rest of the body; False if it is longer than `limit` or cut off."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return False
    except ClientDisconnect:
        return False
    except RuntimeError:  # Starlette: "Stream consumed", the body was read to its end
        return True
    return True
