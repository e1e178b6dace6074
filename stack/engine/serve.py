"""Command-line entry shared by the stack's services: arguments, settings, uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from spanbench.settings import DATABASE_URL
from stack.settings import ServiceSettings, database_url


def serve(description: str, build_app: Callable[[ServiceSettings, argparse.Namespace], Starlette],
          extra_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
          argv: list[str] | None = None) -> None:
    """Parse --host/--port (and the service's own flags), then run the app until SIGTERM."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    if extra_arguments is not None:
        extra_arguments(parser)
    args = parser.parse_args(argv)
    url = database_url()
    if url is None:
        sys.exit(f"{DATABASE_URL} is not set: start the stack with 'spanbench stack up' "
                 "or set it to the database to use")
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = build_app(ServiceSettings.from_env(database_url=url), args)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=False, timeout_graceful_shutdown=5)
