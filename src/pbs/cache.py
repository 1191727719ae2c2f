"""pbs's cache directory: where it lives, its layout, locks and atomic publication.

Entries are only ever created by renaming a fully written staging directory into place, so a
killed process can leave stale staging directories under tmp/ but never a half-written entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "PBS_CACHE_DIR"
STAGING_LOCK = ".in-use"
UNLOCKED_GRACE_SECONDS = 60


def key_of(*parts: str) -> str:
    """A cache key: a short hash of every input part, unambiguously separated."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def default_cache_root() -> Path:
    """`$PBS_CACHE_DIR`, else `$XDG_CACHE_HOME/pbs`, else `~/.cache/pbs`."""
    if configured := os.environ.get(CACHE_ENV):
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pbs"


@dataclass(frozen=True)
class Cache:
    root: Path

    @property
    def sources(self) -> Path:
        """Content-addressed source files: sources/<sha256>/<file name>."""
        return self.root / "sources"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def apt(self) -> Path:
        """pbs's private apt state (source lists, indexes)."""
        return self.root / "apt"

    def source_path(self, sha256: str, file: str) -> Path:
        return self.sources / sha256 / file

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh directory on the cache's file system, removed afterwards whatever happens.

        While in use it is held by a lock, so that `sweep_staging` can tell the leftovers of a
        killed process from the staging directories of a pbs run still going.
        """
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(dir=tmp))
        with (holder / STAGING_LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = holder / "work"
            path.mkdir()
            try:
                yield path
            finally:
                shutil.rmtree(holder, ignore_errors=True)

    def sweep_staging(self) -> list[Path]:
        """Remove staging directories left by killed processes; return what was removed."""
        removed = []
        for holder in sorted((self.root / "tmp").glob("*")):
            try:
                with (holder / STAGING_LOCK).open("r") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    shutil.rmtree(holder, ignore_errors=True)
            except BlockingIOError:
                continue  # a live pbs process holds it
            except FileNotFoundError:
                # No lock yet: just created by a live process, or killed before it took it.
                if time.time() - holder.stat().st_mtime < UNLOCKED_GRACE_SECONDS:
                    continue
                shutil.rmtree(holder, ignore_errors=True)
            removed.append(holder)
        return removed

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock shared by every pbs process using this cache."""
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{name}.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def publish(staged: Path, final: Path) -> None:
        """Move a complete staged directory to `final` in one rename (same file system)."""
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
