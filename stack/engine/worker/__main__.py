"""python -m stack.engine.worker --port PORT --worker-id N: a worker process."""

import argparse

from stack.engine.serve import serve
from stack.engine.worker.app import create_app


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker-id", default="1")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="steps this worker runs at once (default 8)")


if __name__ == "__main__":
    serve("spanbench reference stack: worker",
          lambda settings, args: create_app(settings, args.worker_id, args.concurrency),
          _arguments)
