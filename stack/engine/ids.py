"""UUID v7 keys, the same layout as tasker.uuid_generate_v7() in SQL."""

import os
import time
import uuid

_TIMESTAMP_MASK = (1 << 48) - 1


def uuid7() -> uuid.UUID:
    """A time-ordered UUID: 48-bit Unix milliseconds, version 7, RFC 4122 variant, random rest."""
    value = (time.time_ns() // 1_000_000 & _TIMESTAMP_MASK) << 80
    value |= int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)
