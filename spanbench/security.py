"""Checks every part applies to untrusted input: names that become paths, and shared secrets.

Like the vocabulary, every part may import this module; it imports nothing of ours.
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

NAME_PATTERN: Final = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
"""Run ids, suite names and baseline names: a letter or digit, then up to 127 of letters,
digits, '.', '_' and '-'. No separator, no leading dot, no NUL, no newline: such a name is
one plain entry of a directory. Anchored with \\A and \\Z, so `match` is as strict as
`fullmatch` (a `$` would let a trailing newline through)."""


FILE_NAME_PATTERN: Final = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}\Z")
"""A file name spanbench makes from names (e.g. an export of scenario `linear_3@c4`): like
NAME_PATTERN, with '@' and '+' too, up to 255 characters (a file name's limit)."""


class UnsafeName(ValueError):
    """A name that would not stay one plain directory entry; the message names the rule."""


class PathEscape(ValueError):
    """A path that resolves outside the directory it must stay in."""


def is_safe_name(name: object) -> bool:
    """Whether `name` is a string matching NAME_PATTERN entirely."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def check_name(name: str, what: str) -> str:
    """`name` unchanged, or UnsafeName saying which rule it breaks."""
    if not is_safe_name(name):
        shown = repr(name) if len(name) <= 80 else f"{name[:80]!r}… ({len(name)} characters)"
        raise UnsafeName(
            f"{what} {shown} is not valid: use 1 to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no '/', no leading '.')"
        )
    return name


def check_file_name(name: str, what: str) -> str:
    """`name` unchanged, or UnsafeName when it is not one plain file name (FILE_NAME_PATTERN)."""
    if FILE_NAME_PATTERN.fullmatch(name) is None:
        shown = repr(name) if len(name) <= 80 else f"{name[:80]!r}… ({len(name)} characters)"
        raise UnsafeName(
            f"{what} {shown} is not valid: use 1 to 255 letters, digits, '.', '_', '@', '+' "
            "or '-', starting with a letter or digit; or pass --output"
        )
    return name


def contained(root: Path, *names: str) -> Path:
    """`root/names…`, or PathEscape when the resolved result leaves `root` (symlinks included).

    The path is returned as joined (not resolved), so callers keep the names they expect.
    """
    path = Path(root).joinpath(*names)
    resolved_root = Path(root).resolve()
    if not path.resolve().is_relative_to(resolved_root):
        raise PathEscape(
            f"{path} resolves to {path.resolve()}, outside {resolved_root}: "
            "a symbolic link or '..' leads out of it; remove the link or pick another name"
        )
    return path


def redact_url(url: str) -> str:
    """`url` with its password replaced by `***`, for messages and consoles."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def token_matches(presented: str | None, expected: str) -> bool:
    """Whether `presented` equals `expected`, compared in constant time (hmac.compare_digest)."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
