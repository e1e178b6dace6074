"""The shared names: suites, scenarios, phases and span attributes.

Every part of spanbench may import this module; it imports nothing of ours.
"""

from typing import Final


class Suite:
    """Suite names: the seed's benchmark files."""

    TASK_INITIALIZATION: Final = "task_initialization"
    SQL_FUNCTIONS: Final = "sql_functions"
    EVENT_PROPAGATION: Final = "event_propagation"
    WORKER_EXECUTION: Final = "worker_execution"
    STEP_ENQUEUEING: Final = "step_enqueueing"
    HANDLER_OVERHEAD: Final = "handler_overhead"
    E2E_LATENCY: Final = "e2e_latency"


# The suites in the seed's order; each driver declares its scenarios (spanbench.runner.suites
# builds the registry from the drivers).
SUITES: Final[tuple[str, ...]] = (
    Suite.TASK_INITIALIZATION,
    Suite.SQL_FUNCTIONS,
    Suite.EVENT_PROPAGATION,
    Suite.WORKER_EXECUTION,
    Suite.STEP_ENQUEUEING,
    Suite.HANDLER_OVERHEAD,
    Suite.E2E_LATENCY,
)


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
    WORKER_TASK: Final = "worker.task"
    """worker_execution: one single-step task, from its POST to the driver seeing it complete;
    the deployment's derived claim, execute and submit nest under it."""
    ENQUEUE_TOTAL: Final = "enqueue.total"
    E2E_WORKFLOW: Final = "e2e.workflow"
    HANDLER_DIRECT: Final = "handler.direct"
    HANDLER_FRAMEWORK: Final = "handler.framework"
    HANDLER_FOREIGN: Final = "handler.foreign"
    HANDLER_FOREIGN_EVENT: Final = "handler.foreign.event"
    """handler_overhead's tasker_py: the poll call in which tasker-py hands a step to Python."""
    HANDLER_FOREIGN_RUN: Final = "handler.foreign.run"
    """handler_overhead's tasker_py: the Python handler, its completion built."""
    HANDLER_FOREIGN_COMPLETE: Final = "handler.foreign.complete"
    """handler_overhead's tasker_py: the completion call, until tasker-py accepted it."""


WAIT_PHASE: Final = "wait"
"""The e2e breakdown's name for a workflow's time no phase span covers (only the root open)."""

SQL_PHASE_PREFIX: Final = "sql."
"""sql_functions names each call's span after its function: `sql.get_next_ready_tasks`."""


def sql_phase(function: str) -> str:
    """The phase of one SQL function's call: `get_next_ready_tasks` → `sql.get_next_ready_tasks`."""
    return f"{SQL_PHASE_PREFIX}{function}"


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


# Phases a suite's scenarios set off in other components of the deployment without measuring
# them: the workers run what the suite created or made ready, under its bench.* attributes
# (baggage). Reports keep them out of the suite's findings and show them apart. A phase not
# named here is a measurement of its suite.
SET_OFF_PHASES: Final[dict[str, frozenset[str]]] = {
    Suite.TASK_INITIALIZATION: frozenset({Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT,
                                          Phase.RESULT_PROCESS, Phase.TASK_FINALIZE}),
    Suite.STEP_ENQUEUEING: frozenset({Phase.CLAIM, Phase.EXECUTE, Phase.TASK_FINALIZE}),
}


def is_measurement(suite: str, phase: str) -> bool:
    """Whether `phase` is one of `suite`'s measurements, not a phase it merely sets off."""
    return phase not in SET_OFF_PHASES.get(suite, frozenset())


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
    CONCURRENCY: Final = "bench.concurrency"
    """Workflows a closed-loop e2e load run keeps in flight (absent: one at a time)."""
    ARRIVAL_RATE: Final = "bench.arrival_rate"
    """Workflows per second an open-loop e2e load run starts (absent: closed loop)."""
    START_LAG: Final = "bench.start_lag_ns"
    """Open loop: how long after its intended start a workflow actually started, in ns."""
    COMPLETION_SOURCE: Final = "bench.completion_source"
    """How an e2e workflow's completion was seen: pg_notify, db_poll or api_poll."""
    COMPLETION_WINDOW: Final = "bench.completion_window_ns"
    """Polled completion: the task became final within this many ns before the span's end."""
    DATASET_SIZE: Final = "bench.dataset_size"
    """Tasks in the dataset a sql_functions call ran against: the statistics' variant."""
    SAMPLE: Final = "bench.sample"
    """sql_functions: the index of the call's arguments in the function's stratified list."""
    SAMPLE_KIND: Final = "bench.sample.kind"
    CLOCK_ADJUSTED: Final = "bench.clock_adjusted"
    """step_enqueueing: a NOTIFY receipt clamped into [send, receipt] across clocks."""
    PER_CALL_NS: Final = "bench.per_call_ns"
    """handler_overhead: the span's duration divided by bench.batch_size."""
    EXPLAIN_SHARED_HIT_BLOCKS: Final = "bench.explain.shared_hit_blocks"
    EXPLAIN_SHARED_READ_BLOCKS: Final = "bench.explain.shared_read_blocks"
    EXPLAIN_BUFFER_HIT_RATIO: Final = "bench.explain.buffer_hit_ratio"
    EXPLAIN_ARTIFACT: Final = "bench.explain.artifact"

    SERVICE_NAME: Final = "service.name"
    """The resource attribute naming the process that exported a span."""
    SOURCE: Final = "bench.source"
    """Where a span came from (Source): a driver, the deployment's traces, or derived from the
    deployment's record after the run; a span without it is not derived."""
    STITCHED_FROM: Final = "bench.stitched.from"
    """On a deployment's span the analysis joined to a workflow of the run (it carried none of
    the run's bench.* attributes): the trace id it was exported in."""
    DERIVED_FROM: Final = "bench.derived.from"
    """A derived span's bounding records: `<start record>..<end record>`, each
    `task:<state>`, `step:<state>` or `task:created`."""

    CORRELATION_ID: Final = "correlation_id"
    TASK_UUID: Final = "task_uuid"
    STEP_UUID: Final = "step_uuid"
    STEP_NAME: Final = "step_name"
    TRANSITIONS: Final = "tasker.transitions"
    """State transitions (task or step) a stack phase recorded; summed per step from traces."""
    NAMESPACE: Final = "namespace"
    HANDLER: Final = "handler"
    HANDLER_RESULT: Final = "handler.result"
    WORKER_ID: Final = "worker.id"

    TEMPLATE: Final = "tasker.template"
    TOTAL_STEPS: Final = "tasker.total_steps"
    FANOUT: Final = "tasker.fanout"
    READY_STEPS: Final = "tasker.ready_steps"
    """On discovery: the steps it found ready; on result.process: the steps its result made
    ready (the reference stack's)."""
    DISCOVERY_CAUSE: Final = "tasker.discovery.cause"
    """On discovery and publish (the reference stack's): what woke the readiness check —
    task.initialize, result.process, or sweep (the orchestration's periodic one)."""
    CLAIMED: Final = "tasker.claimed"
    ATTEMPT: Final = "tasker.attempt"
    STEP_STATUS: Final = "tasker.step_status"
    RESULT_APPLIED: Final = "tasker.result_applied"
    FINAL_STATE: Final = "tasker.final_state"
    TASK_STATE: Final = "tasker.task_state"
    TO_STATE: Final = "tasker.to_state"
    LIMIT: Final = "tasker.limit"

    DB_SYSTEM: Final = "db.system.name"
    DB_OPERATION: Final = "db.operation.name"
    DB_QUERY_TEXT: Final = "db.query.text"

    MESSAGING_SYSTEM: Final = "messaging.system"
    MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
    MESSAGING_DESTINATION: Final = "messaging.destination.name"
    MESSAGING_MESSAGE_ID: Final = "messaging.message.id"


class Source:
    """Values of bench.source."""

    DRIVER: Final = "driver"
    TRACED: Final = "traced"
    DERIVED: Final = "derived"


# The bench.* keys that travel as W3C baggage from drivers into the stack.
BAGGAGE_KEYS: Final[tuple[str, ...]] = (
    Attr.RUN_ID,
    Attr.SUITE,
    Attr.SCENARIO,
    Attr.ITERATION,
    Attr.WARMUP,
    Attr.CONCURRENCY,
    Attr.ARRIVAL_RATE,
    Attr.STACK_TRACED,
)

LOAD_LEVEL_SEPARATOR: Final = "@"
"""An e2e scenario run under load is named `<scenario>@<level>`: `linear_4@c8` (8 in flight,
closed loop), `linear_4@r20` (20 workflows/s, open loop); its statistics never mix with the
one-at-a-time scenario's, which alone the seed's targets are for."""


def base_scenario(scenario: str) -> str:
    """The scenario without its load level: `linear_4@c8` → `linear_4`."""
    return scenario.split(LOAD_LEVEL_SEPARATOR, 1)[0]


def load_level(scenario: str) -> str | None:
    """The load level of a scenario name (`c8`, `r20`), None for one at a time."""
    _, separator, level = scenario.partition(LOAD_LEVEL_SEPARATOR)
    return level if separator else None


DATASET_SIZE_SEPARATOR: Final = "+"
"""A scenario measured on a dataset of a given size (sql_functions) is named
`<scenario>+<size>` where one name stands for both (history, trend, test names):
`get_next_ready_tasks+1000`. Not `@`, which marks a load level; `+` is safe in file names,
JSON and JUnit names."""

LEGACY_DATASET_SIZE: Final = r"([^@+]+)@([0-9][^@+]*)"
"""History written before `+` spelled a dataset size `<scenario>@<size>` (a whole-name match;
group 1 the scenario, group 2 the size). A size starts with a digit, a load level with a letter
(`c8`, `r20`), so the two never meet. A regular expression Python and DuckDB both read."""


def with_dataset_size(scenario: str, size: object) -> str:
    """The scenario's name on a dataset of `size` tasks: `get_next_ready_tasks+1000`."""
    return f"{scenario}{DATASET_SIZE_SEPARATOR}{size}"


def dataset_size(name: str) -> str | None:
    """The dataset size in a scenario name (`get_next_ready_tasks+1000` → `1000`), else None."""
    _, separator, size = name.partition(DATASET_SIZE_SEPARATOR)
    return size if separator else None


FINALIZED_CHANNEL: Final = "tasker_task_finalized"
"""NOTIFY channel on which the orchestration announces a finalized task (JSON payload)."""

DB_SYSTEM_POSTGRESQL: Final = "postgresql"
MESSAGING_SYSTEM_PGMQ: Final = "pgmq"
