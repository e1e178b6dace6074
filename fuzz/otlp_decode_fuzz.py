"""Coverage-guided fuzzing of the OTLP decoder (protobuf and JSON) with atheris.

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python fuzz/otlp_decode_fuzz.py -max_total_time=60

Each input is decoded as protobuf and as OTLP/JSON, screened, and what is accepted is
converted to Arrow. The only exception allowed out is OtlpDecodeError; every accepted span
must become exactly one row. `tests/unit/test_fuzz_corpus.py` runs `one_input` over the
seed corpus so this target cannot rot. `fuzz/make_seed_corpus.py` rebuilds the corpus.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CORPUS = Path(__file__).resolve().parent / "corpus" / "otlp_decode"
"""The committed seed corpus (read only: new inputs go to WORK_CORPUS)."""
DICTIONARY = Path(__file__).resolve().parent / "otlp.dict"
"""OTLP/JSON field names and bench.* keys, for libFuzzer's -dict."""
WORK_CORPUS = Path("tmp") / "fuzz" / "otlp_decode"
"""Where libFuzzer adds the inputs it finds interesting, unless corpus directories are given."""


def one_input(data: bytes) -> None:
    """Decode `data` both ways; raise AssertionError (or anything unexpected) on a bug."""
    from extract.receive.columns import to_tables
    from extract.receive.ingest import Format, prepare
    from extract.receive.otlp_decode import OtlpDecodeError

    for fmt in (Format.PROTOBUF, Format.JSON):
        try:
            prepared = prepare(data, fmt)
        except OtlpDecodeError:
            continue
        if prepared.payload is None:
            assert prepared.accepted_spans == 0, prepared
            continue
        rows = sum(table.num_rows for table in to_tables([prepared.payload]).values())
        assert rows == prepared.accepted_spans, (rows, prepared.accepted_spans)


def main() -> None:
    import atheris

    with atheris.instrument_imports():
        import extract.receive.columns
        import extract.receive.ingest
        import extract.receive.otlp_decode  # noqa: F401
    args = list(sys.argv)
    if not any(arg.startswith("-dict=") for arg in args):
        args.append(f"-dict={DICTIONARY}")
    if not any(not arg.startswith("-") for arg in args[1:]):
        WORK_CORPUS.mkdir(parents=True, exist_ok=True)
        args += [str(WORK_CORPUS), str(CORPUS)]  # libFuzzer writes to the first only
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
