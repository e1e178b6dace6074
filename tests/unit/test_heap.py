"""keep_freed_memory: freed numpy arrays' pages are reused, not faulted in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_FAULTS_OF_REPEATED_ARRAYS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from extract.receive.heap import keep_freed_memory
    assert keep_freed_memory()
def round_of_arrays():
    arrays = [np.ones(size << 17) for size in range(1, 17)]  # 1 to 16 MiB, freed together
    del arrays
round_of_arrays()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    round_of_arrays()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS_OF_REPEATED_ARRAYS, mode],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_freed_arrays_reuse_their_pages() -> None:
    pages_per_round = sum(range(1, 17)) * (1 << 20) // 4096
    assert _faults("default") > pages_per_round  # glibc hands most of them back each round
    assert _faults("keep") < pages_per_round // 10  # kept from the first round on
