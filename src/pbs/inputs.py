"""Checks of what the user names (option values, the environment, paths), made before any work
starts: a value pbs cannot use fails at once with UsageError, before the cache is touched or
anything is fetched, and these checks create nothing."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pbs.errors import UsageError

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
# ASCII only: str.isalnum() also accepts "２０２６" and other scripts' digits and letters.
_TAG = re.compile(r"[A-Za-z0-9]{1,64}")
_EPOCH = re.compile(r"[0-9]{1,12}")


def release_tag(tag: str) -> str:
    """`tag`, if it can go into an archive name after the `+`."""
    if not _TAG.fullmatch(tag):
        raise UsageError(f"--tag must be 1 to 64 ASCII letters and digits, not {tag!r}")
    return tag


def source_date_epoch() -> int | None:
    """`$SOURCE_DATE_EPOCH` as a number of seconds, or None when it is unset or empty."""
    value = os.environ.get(SOURCE_DATE_EPOCH)
    if not value:
        return None
    if not _EPOCH.fullmatch(value):
        raise UsageError(
            f"{SOURCE_DATE_EPOCH} must be a whole number of seconds since 1970, not {value!r}"
        )
    return int(value)


def output_directory(path: Path, option: str) -> None:
    """Refuse a directory pbs is to write in that cannot be created or written."""
    existing = path
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is not a directory")
    try:
        # Writing is the only sure test: permissions say nothing for root, nor about /proc.
        os.rmdir(tempfile.mkdtemp(prefix=".pbs-probe-", dir=existing))
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write in {existing}: {exc.strerror}") from None


def source_directory(path: Path, option: str) -> Path:
    """`path`, if it is a directory pbs can search for source files."""
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise UsageError(f"{option} {path} {what}")
    return path


def archive_file(path: Path) -> Path:
    """`path`, if it is a regular file (a FIFO or a device would block or never end)."""
    if not path.exists():
        raise UsageError(f"no archive at {path}")
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    return path
