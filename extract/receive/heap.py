"""Keep freed heap memory mapped between conversions instead of handing it back to the OS.

numpy allocates each array through glibc's malloc, which serves a block above
M_MMAP_THRESHOLD (128 KiB at first, raised by use to at most 32 MiB) with a fresh mmap and
returns free memory at the heap's top above M_TRIM_THRESHOLD: converting 20k spans faulted
in ~37 MiB of new pages every time, ~30 ms of system time (about 15% of the conversion).
Fixed thresholds let the next chunk reuse those pages. Memory kept this way is memory a
chunk already used at its peak, so the peak RSS, which the backlog bound limits, stays.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Final

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
MMAP_THRESHOLD_BYTES: Final = 32 * 1024 * 1024  # glibc's largest on 64-bit systems
TRIM_THRESHOLD_BYTES: Final = 512 * 1024 * 1024  # above the converter's peak: never trimmed


def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds for this process; False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        gnu_version = libc.gnu_get_libc_version  # glibc only: musl and macOS have no mallopt
    except (OSError, AttributeError):
        return False
    del gnu_version
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    done = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and done
    if not done:
        log.warning("glibc refused the malloc thresholds; conversion runs slower")
    return done
