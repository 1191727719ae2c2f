"""pbs's cache directory: where it lives, its layout, locks and atomic publication.

Entries are only ever created by renaming a fully written staging directory into place, so a
killed process can leave stale staging directories under tmp/ but never a half-written entry.
Staging directories, like the other temporary directories pbs makes (beside an output, in the
system's temporary directory), are held directories: each is locked by its process for as long
as it exists under its name, so a later run removes the leftovers of killed processes and never
a directory still in use.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pbs import runner
from pbs.errors import CacheError, PbsError, UsageError

CACHE_ENV = "PBS_CACHE_DIR"
HELD_LOCK = ".in-use"
# A held directory is made under its name plus this suffix and renamed once its lock is taken.
UNNAMED_SUFFIX = ".new"
UNLOCKED_GRACE_SECONDS = 60
KEY_LENGTH = 16  # hex digits of a cache key, and of a held directory's random name
# Absolute paths of this layout, wherever the cache is: a staging directory
# (tmp/<random>/work/, see `Cache.staging`) and a step's output (steps/<name>-<key>/).
# A shipped file naming one names the machine it was built on.
LAYOUT_PATTERNS = (
    re.compile(rb"/tmp/[0-9a-f]{%d}/work/" % KEY_LENGTH),
    re.compile(rb"/steps/[\w.+-]+-[0-9a-f]{%d}/" % KEY_LENGTH),
)
LOCK_POLL_SECONDS = 0.2


def notice(message: str) -> None:
    """Tell the user on stderr what pbs repaired or waits for: not an error."""
    # sys.stderr is looked up now: a live display replaces it to print above itself.
    print(f"pbs: {message}", file=sys.stderr, flush=True)


def key_of(*parts: str) -> str:
    """A cache key: a short hash of every input part, unambiguously separated."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:KEY_LENGTH]


def default_cache_root() -> Path:
    """`$PBS_CACHE_DIR`, else `$XDG_CACHE_HOME/pbs`, else `~/.cache/pbs`."""
    if configured := os.environ.get(CACHE_ENV):
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pbs"


def open_cache(root: Path) -> Cache:
    """The cache at `root`, created if need be; UsageError if it cannot be created or written."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"cannot use {root} as the cache directory: it is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
        # An unnamed file: proves the directory writable and leaves nothing behind.
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise UsageError(f"cannot use {root} as the cache directory: {exc.strerror}") from None
    return Cache(root)


@contextmanager
def held_directory(parent: Path, prefix: str) -> Iterator[Path]:
    """A new directory `parent/<prefix><random>`, removed afterwards whatever happens.

    It gets its name only once its process holds the lock on its HELD_LOCK file, and keeps
    the lock until the directory is gone, so `sweep_held` never takes it for a leftover.
    """
    parent.mkdir(parents=True, exist_ok=True)
    holder = parent / f"{prefix}{secrets.token_hex(KEY_LENGTH // 2)}"
    unnamed = holder.with_name(holder.name + UNNAMED_SUFFIX)
    unnamed.mkdir()
    try:
        with (unnamed / HELD_LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            os.rename(unnamed, holder)
            try:
                yield holder
            finally:
                shutil.rmtree(holder, ignore_errors=True)
    finally:
        # Still there only if the rename was not reached.
        shutil.rmtree(unnamed, ignore_errors=True)


def sweep_held(
    parent: Path, prefix: str, salvage: Callable[[Path], None] | None = None
) -> list[Path]:
    """Remove what `held_directory(parent, prefix)` left behind in killed processes.

    Directories a live process holds are left alone, entries may vanish meanwhile (their
    owners remove them), and a stray file is removed and reported. `salvage`, if given, is
    called with each abandoned directory, under its lock, before it is removed. Returns what
    was removed.
    """
    try:
        entries = sorted(entry for entry in parent.iterdir() if entry.name.startswith(prefix))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [entry for entry in entries if _sweep(entry, salvage)]


def _sweep(entry: Path, salvage: Callable[[Path], None] | None) -> bool:
    try:
        info = entry.lstat()
    except FileNotFoundError:
        return False
    if info.st_uid != os.getuid():
        return False  # in a shared directory such as /tmp: someone else's
    if not stat.S_ISDIR(info.st_mode):
        entry.unlink(missing_ok=True)
        notice(f"removed {entry}: a stray file where pbs keeps its temporary directories")
        return True
    if entry.name.endswith(UNNAMED_SUFFIX):
        # Not locked yet: a live process renames it microseconds after making it.
        if time.time() - info.st_mtime < UNLOCKED_GRACE_SECONDS:
            return False
        shutil.rmtree(entry, ignore_errors=True)
        return True
    try:
        # Non-blocking and not through a symlink: whatever sits there, the sweep cannot hang.
        fd = os.open(entry / HELD_LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        if not os.path.lexists(entry):
            return False  # its owner removed it meanwhile
        # No lock file: its owner is removing it, or was killed while removing it.
        shutil.rmtree(entry, ignore_errors=True)
        return True
    except OSError:
        return False  # not a lock file pbs made (a symlink, say): not pbs's to remove
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    else:
        if salvage is not None:
            salvage(entry)
        shutil.rmtree(entry, ignore_errors=True)
    finally:
        os.close(fd)
    return True


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

    def step_output(self, name: str, key: str) -> Path:
        """Where a cached step's finished output lives (see pbs.steps.engine)."""
        return self.root / "steps" / f"{name}-{key}"

    def step_log(self, name: str, key: str) -> Path:
        return self.logs / "steps" / f"{name}-{key}.log"

    def log(self, area: str, name: str) -> Path:
        """The log of work done outside a step: fetching, probing tools, linking."""
        return self.logs / area / name

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh directory on the cache's file system, removed afterwards whatever happens.

        It lives in a held directory, so that `sweep_staging` can tell the leftovers of a
        killed process from the staging directories of a pbs run still going.
        """
        with held_directory(self.root / "tmp", "") as holder:
            path = holder / "work"
            try:
                path.mkdir()
                yield path
            except Exception as exc:
                if holder.is_dir():
                    raise
                raise CacheError(
                    f"{holder} disappeared while pbs was using it: was the cache {self.root} "
                    "deleted during the run? Run pbs again."
                ) from exc

    def sweep_staging(self) -> list[Path]:
        """Remove staging directories left by killed processes; return what was removed."""
        return sweep_held(self.root / "tmp", "")

    @contextmanager
    def lock(self, name: str, what: str | None = None) -> Iterator[None]:
        """An exclusive lock shared by every pbs process using this cache.

        The holder writes its pid into the lock file, so that a process that has to wait
        says what it waits for (`what`, else the lock's name) and for whom.
        """
        what = what or name
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        # Not "w": truncating on open would wipe the holder's pid before the lock is ours.
        fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(fd, "r+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = handle.read().strip() or "unknown"
                notice(f"waiting for {what} (held by pid {holder})")
                _wait_for_lock(handle.fileno(), what)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def publish(staged: Path, final: Path) -> None:
        """Move a complete staged directory to `final` in one rename (same file system)."""
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)


def _wait_for_lock(fd: int, name: str) -> None:
    """Take the lock once its holder lets go; give up if this run is being stopped.

    Polled rather than blocking: a worker thread blocked in flock could not be stopped, and
    an interrupted run would wait for the other process to finish its step.
    """
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if runner.stopping():
                raise PbsError(f"stopped waiting for {name}: pbs was interrupted") from None
            time.sleep(LOCK_POLL_SECONDS)
