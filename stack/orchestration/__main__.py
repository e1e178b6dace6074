"""python -m stack.orchestration --port PORT: the orchestration service."""

from stack.orchestration.app import create_app
from stack.serve import serve

if __name__ == "__main__":
    serve("spanbench reference stack: orchestration service",
          lambda settings, _args: create_app(settings))
