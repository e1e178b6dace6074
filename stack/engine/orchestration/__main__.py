"""python -m stack.engine.orchestration --port PORT: the orchestration service."""

from stack.engine.orchestration.app import create_app
from stack.engine.serve import serve

if __name__ == "__main__":
    serve("spanbench reference stack: orchestration service",
          lambda settings, _args: create_app(settings))
