"""A stand-in service for supervisor tests: `python -m tests.fake_service --host H --port P`.

GET /health answers 200 {"status": "healthy"} while DATABASE_URL accepts connections, else 503.
FAKE_SERVICE_MODE=crash exits at once; FAKE_SERVICE_MODE=stubborn ignores SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/health":
            self.send_error(404)
            return
        try:
            with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            code, body = 200, {"status": "healthy", "pid": os.getpid()}
        except psycopg.Error as error:
            code, body = 503, {"status": "unhealthy", "error": str(error)}
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker-id", type=int)
    args = parser.parse_args()
    mode = os.environ.get("FAKE_SERVICE_MODE", "")
    if mode == "crash":
        print("fake service: crashing on purpose", file=sys.stderr)
        sys.exit(3)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else _exit)
    print(f"fake service on {args.host}:{args.port} worker={args.worker_id}", flush=True)
    server.serve_forever()


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
