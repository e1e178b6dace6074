"""event_propagation: LISTEN/NOTIFY latency, bare and through the system's send with notify.

One listener process (`notify_listener`) LISTENs on the namespace channel of a private queue
(the system's `queue_namespace` and `message_ready_channel`) for the whole suite;
tasker-core's benchmark re-created its listener per iteration, which counted connection
setup as latency. The driver's own autocommit connection sends:

- notify_round_trip: `SELECT pg_notify(channel, payload)`, a payload shaped like
  tasker's with a nonce: LISTEN/NOTIFY alone.
- send_with_notify: the system's `send_with_notify_sql` (our stack's
  `tasker.pgmq_send_with_notify(queue, message, 0, headers)`): the PGMQ insert plus its
  notifications, as the orchestration publishes a step.

Spans: `publish` (producer) covers the send call; `notify` (consumer, its child) runs from
the send call's start to the listener's receipt, both read from CLOCK_MONOTONIC (see
`notify_listener` for why that is one clock across the two processes). The notification is
delivered at commit, so `notify` may end before `publish` does: the reply to the sender
travels while the listener already has the payload.

The queue is `spanbench_events_<hex>` (created with pgmq.create, dropped at the end), in the
run's scratch copy of the deployment's database (`IN_SCRATCH`), never in the deployment's:
creating it and every send NOTIFY the system's channels (tasker-core's `pgmq_queue_created`,
`pgmq_message_ready` and the namespace's), and notifications stay in the database they are sent
in, so an orchestration listening on the deployment hears none of them. The copy is on the
same server, with the deployment's own functions and triggers, and LISTEN/NOTIFY and the PGMQ
insert work per database: what is measured is what the deployment would do. No copy (no
CREATEDB, no pg_dump): the suite is skipped with the reason. A system whose send with notify
(or queue namespace function) is absent or declared otherwise cannot run the suite
(`unsupported`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import psycopg
from opentelemetry.trace import SpanKind
from psycopg.types.json import Jsonb

from instrument.drivers.base import DriverContext, Iteration, Need
from instrument.propagation import inject_message_headers
from instrument.recorder import PhaseRecord
from instrument.systems.base import System
from instrument.workload.notify_listener import ListenerProcess
from spanbench.vocabulary import DB_SYSTEM_POSTGRESQL, MESSAGING_SYSTEM_PGMQ, Attr, Phase, Suite

SUITE = Suite.EVENT_PROPAGATION
NEEDS = frozenset({Need.DATABASE})
IN_SCRATCH = True
"""The runner gives this suite a system whose database is the run's scratch copy of the
deployment's (spanbench.runner.scratch): its queue and notifications never reach the deployment."""
SAMPLES = 100
WARMUP = 10
LISTENER_PID = "notify.listener.pid"
NOTIFY_CHANNEL = "notify.channel"

NOTIFY_SQL = "SELECT pg_notify(%s, %s)"

Sender = Callable[["EventBench", Iteration], None]


class EventBench:
    """The suite's fixed parts: sending connection, private queue, its channel, the listener."""

    def __init__(self, ctx: DriverContext, conn: psycopg.Connection, queue: str,
                 namespace: str, listener: ListenerProcess) -> None:
        self.ctx = ctx
        self.conn = conn
        self.queue = queue
        self.namespace = namespace
        self.channel = ctx.system.message_ready_channel(namespace)
        self.listener = listener

    def _publish(self, iteration: Iteration, attributes: dict[str, str]) -> PhaseRecord:
        return self.ctx.recorder.phase(
            Phase.PUBLISH, parent=self.ctx.parent(iteration), kind=SpanKind.PRODUCER,
            attributes={**attributes, Attr.NAMESPACE: self.namespace,
                        NOTIFY_CHANNEL: self.channel})

    def _notified(self, publish: PhaseRecord, key: str) -> None:
        receipt_ns = self.listener.receipt(key, self.ctx.deadline().expires_at)
        self.ctx.recorder.record(
            Phase.NOTIFY, publish.start_ns, receipt_ns, parent=publish, kind=SpanKind.CONSUMER,
            attributes={Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
                        Attr.MESSAGING_OPERATION_TYPE: "receive",
                        Attr.MESSAGING_DESTINATION: self.queue,
                        NOTIFY_CHANNEL: self.channel, LISTENER_PID: self.listener.pid,
                        "notify.key": key})

    def notify_round_trip(self, iteration: Iteration) -> None:
        """A bare pg_notify on the channel, correlated by a nonce."""
        nonce = uuid.uuid4().hex
        payload = json.dumps({"event_type": "message_ready", "nonce": nonce,
                              "queue_name": self.queue})
        publish = self._publish(iteration, {Attr.DB_SYSTEM: DB_SYSTEM_POSTGRESQL,
                                            Attr.DB_OPERATION: "SELECT",
                                            Attr.DB_QUERY_TEXT: NOTIFY_SQL})
        with publish:
            self.conn.execute(NOTIFY_SQL, (self.channel, payload))
        self._notified(publish, nonce)

    def send_with_notify(self, iteration: Iteration) -> None:
        """A PGMQ send with notification, correlated by the message id."""
        publish = self._publish(iteration, {Attr.MESSAGING_SYSTEM: MESSAGING_SYSTEM_PGMQ,
                                            Attr.MESSAGING_OPERATION_TYPE: "send",
                                            Attr.MESSAGING_DESTINATION: self.queue})
        message = Jsonb({"nonce": uuid.uuid4().hex})
        headers = Jsonb(inject_message_headers(publish.context))
        with publish:
            row = self.conn.execute(self.ctx.system.send_with_notify_sql, {
                "queue": self.queue, "message": message, "headers": headers}).fetchone()
        if row is None or row[0] is None:
            raise RuntimeError(f"send with notify to {self.queue} returned no message id")
        publish.set_attribute(Attr.MESSAGING_MESSAGE_ID, str(row[0]))
        self._notified(publish, str(row[0]))


SCENARIOS: dict[str, Sender] = {
    "notify_round_trip": EventBench.notify_round_trip,
    "send_with_notify": EventBench.send_with_notify,
}


def unsupported(system: System) -> str | None:
    """Why `system` cannot run this suite (checked before any timing), or None."""
    return system.send_with_notify_missing


def run(ctx: DriverContext) -> None:
    queue = f"spanbench_events_{uuid.uuid4().hex[:8]}"
    url = ctx.system.endpoints.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pgmq.create(%s)", (queue,))
        try:
            namespace = ctx.system.queue_namespace(conn, queue)
            channel = ctx.system.message_ready_channel(namespace)
            with ListenerProcess.start(url, channel) as listener:
                listener.verify_clock()
                bench = EventBench(ctx, conn, queue, namespace, listener)
                ctx.plan(SCENARIOS, SAMPLES, WARMUP)
                for scenario, send in SCENARIOS.items():
                    for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                        with ctx.guard(iteration):
                            send(bench, iteration)
        finally:
            conn.execute("SELECT pgmq.drop_queue(%s)", (queue,))
