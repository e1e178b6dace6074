"""Coverage-guided fuzzing of the decoder with structured hostile requests (atheris + Hypothesis).

libFuzzer's bytes drive the Hypothesis strategies of tests/otlp_strategies.py (through
Hypothesis' `fuzz_one_input`), so the mutations land on well-formed requests with
out-of-range ids, timestamps, run ids and attribute values instead of mostly on bytes
protobuf refuses at once. Failures are reported by Hypothesis and saved by libFuzzer.

    .venv/bin/python fuzz/otlp_structured_fuzz.py -max_total_time=60
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORK_CORPUS = Path("tmp") / "fuzz" / "otlp_structured"


def one_input(data: bytes) -> None:
    """The first byte picks a property; the rest is Hypothesis' choice sequence for it."""
    from tests.unit import test_otlp_decode_properties as properties

    targets = (
        properties.test_hostile_messages_every_span_accounted_for,
        properties.test_hostile_messages_as_json_agree_with_protobuf,
    )
    if data:
        targets[data[0] % len(targets)].hypothesis.fuzz_one_input(data[1:])  # type: ignore[attr-defined]


def main() -> None:
    import atheris

    with atheris.instrument_imports():
        import extract.receive.columns
        import extract.receive.ingest
        import extract.receive.otlp_decode  # noqa: F401
    args = list(sys.argv)
    if not any(not arg.startswith("-") for arg in args[1:]):
        WORK_CORPUS.mkdir(parents=True, exist_ok=True)
        args.append(str(WORK_CORPUS))
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
