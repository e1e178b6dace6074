"""The stack's side of a "foreign" handler: a process behind a JSON-lines boundary.

The analogue of tasker's Ruby/Python FFI workers: the caller runs in another process and
every call crosses a pipe. Run `python -m stack.engine.foreign_handler`; it writes one line
`{"ready": true, "pid": ..., "handlers": [...]}`, then answers each request line on stdin

    {"id": 1, "handler": "square", "step_name": "s", "task_context": {"even_number": 6},
     "dependency_results": {}, "config": {}}

with one line on stdout, `{"id": 1, "result": 36}` or `{"id": 1, "error": {"type", "message"}}`,
doing what the worker's framework does: registry lookup, StepContext, run_handler, result
envelope. Handlers get no database connection here. It exits when stdin closes. Anything a
handler prints goes to stderr: stdout carries only the protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

from stack.engine.handlers import REGISTRY, Handler, StepContext, resolve, run_handler


async def answer(line: bytes, registry: Mapping[str, Handler] = REGISTRY) -> bytes:
    """The reply line (newline included) to one request line."""
    request_id: Any = None
    try:
        request = json.loads(line)
        request_id = request.get("id")
        ctx = StepContext(step_name=request["step_name"], task_context=request["task_context"],
                          dependency_results=request.get("dependency_results") or {},
                          config=request.get("config") or {})
        outcome = await run_handler(resolve(request["handler"], registry), ctx)
        reply: dict[str, Any] = {"id": request_id, "result": outcome}
        return json.dumps(reply).encode() + b"\n"
    except Exception as error:
        failure = {"type": type(error).__name__, "message": str(error)}
        return json.dumps({"id": request_id, "error": failure}).encode() + b"\n"


async def serve(stdin: IO[bytes], out: IO[bytes]) -> None:
    """Answer requests from `stdin` on `out` until end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    out.write(json.dumps({"ready": True, "pid": os.getpid(),
                          "handlers": sorted(REGISTRY)}).encode() + b"\n")
    while line := await reader.readline():
        if line.strip():
            out.write(await answer(line))


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    asyncio.run(serve(sys.stdin.buffer, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
