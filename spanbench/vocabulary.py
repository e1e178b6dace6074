"""The shared names: suites, scenarios, phases and span attributes.

Every part of spanbench may import this module; it imports nothing of ours.
"""

from typing import Final

# Suites are the seed's benchmark files.
SUITES: Final[dict[str, tuple[str, ...]]] = {
    "task_initialization": ("linear_3", "diamond_4"),
    "sql_functions": (
        "get_next_ready_tasks",
        "get_step_readiness_status",
        "get_task_execution_context",
        "get_step_transitive_dependencies",
        "transition_task_state_atomic",
        "calculate_dependency_levels",
    ),
    "event_propagation": ("notify_round_trip", "send_with_notify"),
    "worker_execution": ("noop", "calculation", "database"),
    "step_enqueueing": ("chain_3", "chain_10", "chain_50"),
    "handler_overhead": ("direct", "framework", "foreign"),
    "e2e_latency": ("linear_3", "linear_4", "diamond_4", "tree_7", "complex_dag_7"),
}


class Phase:
    """Span names of the timed phases."""

    API_CREATE_TASK: Final = "api.create_task"
    TASK_INITIALIZE: Final = "task.initialize"
    DISCOVERY: Final = "discovery"
    PUBLISH: Final = "publish"
    NOTIFY: Final = "notify"
    CLAIM: Final = "claim"
    EXECUTE: Final = "execute"
    SUBMIT: Final = "submit"
    RESULT_PROCESS: Final = "result.process"
    TASK_FINALIZE: Final = "task.finalize"
    WORKER_TOTAL: Final = "worker.total"
    ENQUEUE_TOTAL: Final = "enqueue.total"
    E2E_WORKFLOW: Final = "e2e.workflow"


# Phases the reference stack emits for every workflow it runs.
STACK_PHASES: Final[tuple[str, ...]] = (
    Phase.TASK_INITIALIZE,
    Phase.DISCOVERY,
    Phase.PUBLISH,
    Phase.CLAIM,
    Phase.EXECUTE,
    Phase.SUBMIT,
    Phase.RESULT_PROCESS,
    Phase.TASK_FINALIZE,
)


class Attr:
    """Span attribute keys."""

    RUN_ID: Final = "bench.run_id"
    SUITE: Final = "bench.suite"
    SCENARIO: Final = "bench.scenario"
    PHASE: Final = "bench.phase"
    ITERATION: Final = "bench.iteration"
    WARMUP: Final = "bench.warmup"
    BATCH_SIZE: Final = "bench.batch_size"
    STACK_TRACED: Final = "bench.stack_traced"
    """False on e2e workflows whose stack spans were switched off (observer-effect pairs)."""

    CORRELATION_ID: Final = "correlation_id"
    TASK_UUID: Final = "task_uuid"
    STEP_UUID: Final = "step_uuid"
    STEP_NAME: Final = "step_name"
    TRANSITIONS: Final = "tasker.transitions"
    """State transitions (task or step) a stack phase recorded; summed per step from traces."""
    NAMESPACE: Final = "namespace"
    HANDLER: Final = "handler"

    DB_SYSTEM: Final = "db.system.name"
    DB_OPERATION: Final = "db.operation.name"
    DB_QUERY_TEXT: Final = "db.query.text"

    MESSAGING_SYSTEM: Final = "messaging.system"
    MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
    MESSAGING_DESTINATION: Final = "messaging.destination.name"
    MESSAGING_MESSAGE_ID: Final = "messaging.message.id"


# The bench.* keys that travel as W3C baggage from drivers into the stack.
BAGGAGE_KEYS: Final[tuple[str, ...]] = (
    Attr.RUN_ID,
    Attr.SUITE,
    Attr.SCENARIO,
    Attr.ITERATION,
    Attr.WARMUP,
)

FINALIZED_CHANNEL: Final = "tasker_task_finalized"
"""NOTIFY channel on which the orchestration announces a finalized task (JSON payload)."""

DB_SYSTEM_POSTGRESQL: Final = "postgresql"
MESSAGING_SYSTEM_PGMQ: Final = "pgmq"
