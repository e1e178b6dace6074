"""The atheris target's one-input function over its seed corpus, so the target cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.otlp_decode_fuzz import CORPUS, one_input

SEEDS = sorted(CORPUS.iterdir())


def test_the_corpus_has_real_requests() -> None:
    assert len(SEEDS) >= 6


@pytest.mark.parametrize("seed", SEEDS, ids=lambda path: path.name[:10])
def test_one_input_accepts_every_seed(seed: Path) -> None:
    one_input(seed.read_bytes())


def test_one_input_catches_a_lost_span(monkeypatch: pytest.MonkeyPatch) -> None:
    """A converter that drops a row must fail the target (the invariant is really checked)."""
    import extract.receive.columns

    real = extract.receive.columns.to_tables
    monkeypatch.setattr(extract.receive.columns, "to_tables",
                        lambda payloads: {k: t.slice(1) for k, t in real(payloads).items()})
    biggest = max(SEEDS, key=lambda path: path.stat().st_size)
    with pytest.raises(AssertionError):
        one_input(biggest.read_bytes())


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x01", bytes(range(256)) * 4])
def test_the_structured_target_runs(data: bytes) -> None:
    from fuzz.otlp_structured_fuzz import one_input as structured_one_input

    structured_one_input(data)
