"""Interrupted mid-stream (kill -9 then restart, or SIGTERM): every acknowledged span is in
Parquet exactly once and every file is readable."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from extract.receive.spool import encode_record
from tests.sink_harness import SinkProcess, all_part_files, make_request, read_spans

POSTERS = 3
SPANS_PER_REQUEST = 100
SMALL_SEGMENTS = {"SPANBENCH_SINK_SEGMENT_BYTES": str(64 * 1024)}  # convert constantly


@dataclass
class Ledger:
    """What a poster sent and which requests the sink acknowledged with 200."""

    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_until_refused(self, url: str, run_id: str, stop: threading.Event) -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                request, ids = make_request(SPANS_PER_REQUEST, run_id)
                with self.lock:
                    self.sent.update(ids)
                try:
                    response = client.post(
                        url, content=request.SerializeToString(),
                        headers={"Content-Type": "application/x-protobuf"},
                    )  # fmt: skip
                except httpx.TransportError:
                    return  # the sink is gone
                if response.status_code == 200:
                    with self.lock:
                        self.acknowledged.update(ids)


def _interrupt_mid_stream(sink: SinkProcess, run_id: str, interrupt: Callable[[], None]) -> Ledger:
    """Post from several threads; once spans are flowing into Parquet, `interrupt` the sink
    while the posters are still sending."""
    ledger = Ledger()
    stop = threading.Event()
    posters = [
        threading.Thread(target=ledger.post_until_refused, args=(sink.traces_url, run_id, stop))
        for _ in range(POSTERS)
    ]
    try:
        for poster in posters:
            poster.start()
        deadline = time.monotonic() + 20
        while sink.status()["written_spans"] < 5_000 or len(ledger.acknowledged) < 8_000:
            assert time.monotonic() < deadline, sink.status()
            time.sleep(0.05)
        interrupt()
    finally:
        stop.set()
        for poster in posters:
            poster.join(timeout=15)
        sink.__exit__(None, None, None)
    return ledger


def _assert_acknowledged_stored_once(out: Path, run_id: str, ledger: Ledger) -> None:
    for path in all_part_files(out):
        pq.read_table(path)  # every file readable
    rows = [row["SpanId"] for row in read_spans(out, [run_id])]
    assert len(rows) == len(set(rows)), "duplicate spans"
    stored = set(rows)
    missing = ledger.acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged spans lost"
    assert stored <= ledger.sent
    assert not list((out / ".spool").glob("*.seg"))


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run_id = f"crash-{uuid.uuid4().hex[:6]}"
    sink = SinkProcess(out, env=SMALL_SEGMENTS).start()
    ledger = _interrupt_mid_stream(sink, run_id, sink.kill)
    assert len(ledger.acknowledged) < len(ledger.sent)  # some requests were cut off
    leftovers = sorted((out / ".spool").glob("*.seg"))
    assert leftovers, "no segment left to recover"
    with leftovers[-1].open("ab") as newest:  # as if kill -9 had cut a write short
        newest.write(encode_record(b"never acknowledged")[:-3])

    with SinkProcess(out, env=SMALL_SEGMENTS) as restarted:
        assert restarted.stop() == 0, restarted.log()
    _assert_acknowledged_stored_once(out, run_id, ledger)


def test_sigterm_mid_stream_converts_everything(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run_id = f"term-{uuid.uuid4().hex[:6]}"
    sink = SinkProcess(out, env=SMALL_SEGMENTS).start()
    codes: list[int] = []
    ledger = _interrupt_mid_stream(sink, run_id, lambda: codes.append(sink.stop()))
    assert codes == [0], sink.log()
    _assert_acknowledged_stored_once(out, run_id, ledger)
