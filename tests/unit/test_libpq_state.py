"""LibpqStateConnection's translation of the poll's query and parameter (its round trips run
in tests/integration/test_completion_polling.py, through every DatabaseStatePoller there)."""

from __future__ import annotations

import pytest

from instrument.workload.libpq_state import array_literal, libpq_sql


def test_the_one_placeholder_becomes_libpqs() -> None:
    assert libpq_sql("SELECT 1 WHERE a = ANY(%s::uuid[])") == (
        b"SELECT 1 WHERE a = ANY($1::uuid[])")
    for wrong in ("SELECT 1", "SELECT %s, %s"):
        with pytest.raises(ValueError):
            libpq_sql(wrong)


def test_the_uuids_become_an_array_literal() -> None:
    assert array_literal([]) == b"{}"
    assert array_literal(["0195b6a4-0000-7000-8000-000000000001", "ab"]) == (
        b"{0195b6a4-0000-7000-8000-000000000001,ab}")
    with pytest.raises(ValueError):
        array_literal(['x"}, {y'])
