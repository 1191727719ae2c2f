"""The one executor of cached steps: lock, staging, build, STEP.json, log and publication.

A step is anything with a name and a key that hashes every input of its output. Its output is
published by one rename once complete, under a lock named by its key, so concurrent runs share
a cache and a killed run leaves no entry: only an entry holding STEP.json counts as built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pbs.cache import Cache

STEP_FILE = "STEP.json"

# What builds a step: (work directory, output directory to fill, log) -> None.
Build = Callable[[Path, Path, Path], None]


class Progress(Protocol):
    """Told when each step starts and ends (a live view, or nothing)."""

    def started(self, name: str, log: Path, cached: bool) -> None: ...

    def finished(self, name: str, cached: bool, seconds: float) -> None: ...


class NoProgress:
    def started(self, name: str, log: Path, cached: bool) -> None:
        pass

    def finished(self, name: str, cached: bool, seconds: float) -> None:
        pass


class CachedStep(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str: ...

    def record(self) -> Mapping[str, str]:
        """What STEP.json and the log's first line say of the step besides its name and key."""
        ...


@dataclass(frozen=True, kw_only=True)
class StepResult:
    name: str
    key: str
    cached: bool
    seconds: float
    output: Path
    log: Path


class StepEngine:
    """Runs steps into the cache, or finds them there, telling `progress` of each."""

    def __init__(self, cache: Cache, progress: Progress | None = None) -> None:
        self._cache = cache
        self._progress = progress or NoProgress()

    @property
    def cache_root(self) -> Path:
        return self._cache.root

    def output(self, step: CachedStep) -> Path:
        return self._cache.step_output(step.name, step.key)

    def log(self, step: CachedStep) -> Path:
        return self._cache.step_log(step.name, step.key)

    def is_cached(self, step: CachedStep) -> bool:
        return (self.output(step) / STEP_FILE).is_file()

    def run(self, step: CachedStep, build: Build) -> StepResult:
        final, log = self.output(step), self.log(step)
        self._progress.started(step.name, log, self.is_cached(step))
        result = self._run(step, build, final, log)
        self._progress.finished(step.name, result.cached, result.seconds)
        return result

    def _run(self, step: CachedStep, build: Build, final: Path, log: Path) -> StepResult:
        started = time.monotonic()
        with self._cache.lock(f"step-{step.key}"):
            if self.is_cached(step):
                return StepResult(name=step.name, key=step.key, cached=True, seconds=0.0,
                                  output=final, log=log)
            record = {"name": step.name, "key": step.key, **step.record()}
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("# " + " ".join(f"{name} {value}" for name, value in record.items())
                           + "\n")
            with self._cache.staging() as work:
                out = work / "out"
                out.mkdir()
                build(work, out, log)
                seconds = time.monotonic() - started
                (out / STEP_FILE).write_text(
                    json.dumps({**record, "seconds": round(seconds, 1)}, indent=2))
                self._cache.publish(out, final)
        return StepResult(name=step.name, key=step.key, cached=False, seconds=seconds,
                          output=final, log=log)
