"""Sink throughput on one core: accepted (durable) spans/s and converted-to-Parquet spans/s.

Each repetition starts a fresh `spanbench collect` pinned to CPU 0 (`taskset -c 0`) and a
client process pinned to CPU 1 that posts pre-built OTLP/HTTP protobuf requests over
several keep-alive connections, retrying 503s after their Retry-After. A 200 means the
spans are fsync'ed in the spool.

- accepted/s:  spans / (last 200 − first send), measured by the client
- converted/s: spans / (all spans in Parquet − first send), from polling GET /status
- per CPU s:   spans / the sink's CPU seconds (user + system) from the first send until
               all spans are in Parquet: receiving and converting, whatever else shares CPU 0
- peak RSS:    the sink's VmHWM; `base` is its RSS once started, before any request

A last run repeats the load against a small backlog bound to show that RSS follows the
bound, not the input rate. Prints medians.

    python -m benchmarks.sink_throughput [--spans 300000] [--batch 1000] [--connections 4]
                                         [--repeat 3] [--bound-mib 256] [--small-bound-mib 32]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.receive.columns import as_key_values
from spanbench.vocabulary import Attr, Suite

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


# ── client process ────────────────────────────────────────────────────────────


def build_bodies(spans: int, batch: int, run_id: str) -> list[bytes]:
    """Serialized requests of `batch` spans shaped like spanbench's phase spans."""
    bodies = []
    now = time.time_ns()
    for first in range(0, spans, batch):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(as_key_values({"service.name": "bench-driver"}))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "spanbench.instrument"
        for index in range(first, min(first + batch, spans)):
            start = now + index * 1000
            span = scope_spans.spans.add(
                trace_id=os.urandom(16), span_id=os.urandom(8), parent_span_id=os.urandom(8),
                name="discovery", kind=1,
                start_time_unix_nano=start, end_time_unix_nano=start + 750,
            )  # fmt: skip
            attributes = {
                Attr.RUN_ID: run_id, Attr.SUITE: Suite.STEP_ENQUEUEING,
                Attr.SCENARIO: "chain_10", Attr.PHASE: "discovery",
                Attr.ITERATION: index, Attr.WARMUP: False,
                Attr.DB_SYSTEM: "postgresql", Attr.DB_OPERATION: "SELECT",
            }  # fmt: skip
            span.attributes.extend(as_key_values(attributes))
        bodies.append(request.SerializeToString())
    return bodies


def _post_all(
    host: str, port: int, bodies: list[bytes], next_index: list[int],
    lock: threading.Lock, counts: dict[str, int], acked_at: list[float],
) -> None:  # fmt: skip
    connection = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/x-protobuf"}
    while True:
        with lock:
            if next_index[0] >= len(bodies):
                break
            body = bodies[next_index[0]]
            next_index[0] += 1
        while True:
            connection.request("POST", "/v1/traces", body, headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                break
            with lock:
                counts[str(response.status)] = counts.get(str(response.status), 0) + 1
            if response.status != 503:
                raise SystemExit(f"sink answered {response.status}")
            time.sleep(float(response.getheader("Retry-After", "1")))
        now = time.monotonic()
        with lock:
            acked_at[0] = max(acked_at[0], now)
    connection.close()


def client_main(address: str, spans: int, batch: int, connections: int) -> None:
    """Build the bodies, say 'ready', wait for a line on stdin, post, print JSON results."""
    bodies = build_bodies(spans, batch, "throughput")
    print(json.dumps({"ready": True, "bytes": sum(map(len, bodies))}), flush=True)
    sys.stdin.readline()
    host, port = address.rsplit(":", 1)
    next_index, lock, counts, acked_at = [0], threading.Lock(), {}, [0.0]
    started = time.monotonic()
    threads = [
        threading.Thread(target=_post_all,
                         args=(host, int(port), bodies, next_index, lock, counts, acked_at))
        for _ in range(connections)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"started": started, "last_ack": acked_at[0], "refused": counts}), flush=True)


# ── driver ────────────────────────────────────────────────────────────────────


@dataclass
class Result:
    accepted_per_s: float
    converted_per_s: float
    per_cpu_s: float
    peak_rss: int
    base_rss: int
    refused: dict[str, int]


def _rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _json_line(stream: object) -> dict[str, object]:
    line = stream.readline()  # type: ignore[attr-defined]
    if not line:
        raise SystemExit("the client process ended early")
    return json.loads(line)


def run_once(spans: int, batch: int, connections: int, bound: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="sink-bench-") as scratch:
        ready_file = Path(scratch) / "ready.json"
        sink = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "spanbench", "collect",
             "--listen", "127.0.0.1:0", "--grpc", "off", "--out", f"{scratch}/runs",
             "--max-backlog-bytes", str(bound), "--ready-file", str(ready_file)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = None
        try:
            deadline = time.monotonic() + 30
            while not ready_file.exists():
                if sink.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the sink did not start")
                time.sleep(0.05)
            address = json.loads(ready_file.read_text())["http"]
            client = subprocess.Popen(
                ["taskset", "-c", "1", sys.executable, "-m", "benchmarks.sink_throughput",
                 "--client", address, "--spans", str(spans), "--batch", str(batch),
                 "--connections", str(connections)],
                cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            _json_line(client.stdout)
            base_rss = _rss(sink.pid, "VmRSS")
            base_cpu = _cpu_seconds(sink.pid)
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.flush()
            with httpx.Client(base_url=f"http://{address}", timeout=30) as status:
                while status.get("/status").json()["written_spans"] < spans:
                    time.sleep(0.05)
                written_at = time.monotonic()
                cpu = _cpu_seconds(sink.pid) - base_cpu
            timing = _json_line(client.stdout)
            client.wait(30)
            peak_rss = _rss(sink.pid, "VmHWM")
        finally:
            if client is not None and client.poll() is None:
                client.kill()
            sink.send_signal(signal.SIGTERM)
            code = sink.wait(60)
        if code != 0:
            raise SystemExit(f"sink exited with {code}")
    started, last_ack = float(timing["started"]), float(timing["last_ack"])  # type: ignore[arg-type]
    return Result(
        accepted_per_s=spans / (last_ack - started),
        converted_per_s=spans / (written_at - started),
        per_cpu_s=spans / cpu,
        peak_rss=peak_rss,
        base_rss=base_rss,
        refused=dict(timing["refused"]),  # type: ignore[arg-type]
    )


def _report(label: str, results: list[Result], bound: int) -> None:
    accepted = statistics.median(r.accepted_per_s for r in results)
    converted = statistics.median(r.converted_per_s for r in results)
    per_cpu = statistics.median(r.per_cpu_s for r in results)
    peak = statistics.median(r.peak_rss for r in results)
    base = statistics.median(r.base_rss for r in results)
    refused = sum(r.refused.get("503", 0) for r in results)
    print(
        f"{label:<22} accepted {accepted:>9,.0f} spans/s   converted {converted:>9,.0f} spans/s"
        f" ({per_cpu:>9,.0f} per sink CPU s)"
        f"   peak RSS {peak / MIB:6.1f} MiB (base {base / MIB:5.1f} + bound {bound / MIB:.0f})"
        f"   503s {refused}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bound-mib", type=int, default=256)
    parser.add_argument("--small-bound-mib", type=int, default=32)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client, args.spans, args.batch, args.connections)
        return
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the sink on CPU 0, the client on CPU 1")
    print(f"{args.spans:,} spans in requests of {args.batch}, {args.connections} connections, "
          f"sink pinned to CPU 0, medians of {args.repeat}")  # fmt: skip
    bound = args.bound_mib * MIB
    runs = [run_once(args.spans, args.batch, args.connections, bound) for _ in range(args.repeat)]
    _report(f"bound {args.bound_mib} MiB", runs, bound)
    small = args.small_bound_mib * MIB
    runs = [run_once(args.spans, args.batch, args.connections * 2, small)
            for _ in range(args.repeat)]  # fmt: skip
    _report(f"bound {args.small_bound_mib} MiB, 2× conns", runs, small)


if __name__ == "__main__":
    main()
