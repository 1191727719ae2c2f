"""The dependency build as a graph of cached steps, run in parallel within -j.

A step's key hashes everything that can change its output: its recipe module, the shared
recipe runner and this module's post-processing, the exact source file, the toolchain identity, the target, and the keys of the
steps it depends on. Build options are deliberately absent: no dependency is built differently
for PGO or LTO, so one build serves every option. An output is published by one rename once
complete, under a lock, so concurrent builds share a cache and a killed build leaves no entry.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from pbs.cache import Cache, key_of
from pbs.catalog import Target
from pbs.errors import PbsError
from pbs.extract import extract_archive, source_root
from pbs.fetch import Fetched
from pbs.recipes import base
from pbs.recipes.base import PREFIX, BuildContext, Recipe
from pbs.runner import Runner
from pbs.toolchain import Toolchain

STEP_FILE = "STEP.json"


@dataclass(frozen=True, kw_only=True)
class Step:
    recipe: Recipe
    fetched: Fetched
    key: str
    deps: tuple[Step, ...]

    @property
    def name(self) -> str:
        return self.recipe.name

    def closure(self) -> list[Step]:
        """Every step this one needs, transitively, each once."""
        seen: dict[str, Step] = {}
        for dep in self.deps:
            for step in (*dep.closure(), dep):
                seen.setdefault(step.name, step)
        return list(seen.values())


@dataclass(frozen=True, kw_only=True)
class StepResult:
    step: Step
    cached: bool
    seconds: float
    output: Path
    log: Path


def plan(
    recipes: dict[str, Recipe], fetched: dict[str, Fetched], toolchain: Toolchain, target: Target
) -> list[Step]:
    """The steps for `recipes`, dependencies before dependents, each with its cache key."""
    steps: dict[str, Step] = {}
    visiting: set[str] = set()

    def visit(name: str) -> Step:
        if name in steps:
            return steps[name]
        if name in visiting:
            raise PbsError(f"recipes form a cycle through {name}")
        if name not in recipes:
            raise PbsError(f"no recipe named {name}; known: {', '.join(sorted(recipes))}")
        visiting.add(name)
        recipe = recipes[name]
        deps = tuple(visit(dep) for dep in recipe.deps)
        source_file = fetched[recipe.source]
        key = key_of(
            Path(inspect.getsourcefile(recipe.build) or "").read_text(),
            Path(inspect.getsourcefile(base) or "").read_text(),
            # This module's own post-processing of every step's output.
            Path(__file__).read_text(),
            source_file.artifact.sha256,
            toolchain.identity,
            repr(target),
            *(dep.key for dep in deps),
        )
        steps[name] = Step(recipe=recipe, fetched=source_file, key=key, deps=deps)
        visiting.discard(name)
        return steps[name]

    for name in recipes:
        visit(name)
    return list(steps.values())


class StepRunner:
    """Builds steps into the cache, or finds them there."""

    def __init__(self, cache: Cache, toolchain: Toolchain, jobs: int, runner: Runner) -> None:
        self._cache = cache
        self._toolchain = toolchain
        self._jobs = jobs
        self._runner = runner

    def output(self, step: Step) -> Path:
        return self._cache.root / "steps" / f"{step.name}-{step.key}"

    def log(self, step: Step) -> Path:
        return self._cache.logs / "steps" / f"{step.name}-{step.key}.log"

    def is_cached(self, step: Step) -> bool:
        return (self.output(step) / STEP_FILE).is_file()

    def build(self, step: Step) -> StepResult:
        started = time.monotonic()
        final = self.output(step)
        log = self.log(step)
        with self._cache.lock(f"step-{step.key}"):
            if self.is_cached(step):
                return StepResult(step=step, cached=True, seconds=0.0, output=final, log=log)
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"# {step.name} {step.fetched.source.version} key {step.key}\n")
            with self._cache.staging() as staging:
                out = staging / "out"
                self._build_into(step, staging, out, log)
                seconds = time.monotonic() - started
                (out / STEP_FILE).write_text(
                    json.dumps(
                        {
                            "name": step.name,
                            "version": step.fetched.source.version,
                            "key": step.key,
                            "toolchain": self._toolchain.identity,
                            "seconds": round(seconds, 1),
                        },
                        indent=2,
                    )
                )
                self._cache.publish(out, final)
        return StepResult(step=step, cached=False, seconds=seconds, output=final, log=log)

    def _build_into(self, step: Step, staging: Path, out: Path, log: Path) -> None:
        unpacked = extract_archive(step.fetched.path, staging / "src")
        deps_root = staging / "deps-root"
        deps_root.mkdir()
        merge_outputs([self.output(dep) for dep in step.closure()], deps_root)
        out.mkdir()
        context = BuildContext(
            recipe=step.recipe,
            source=step.fetched.source,
            toolchain=self._toolchain,
            source_dir=source_root(unpacked),
            destdir=out,
            deps_root=deps_root,
            work_root=staging,
            jobs=self._jobs,
            log=log,
            runner=self._runner,
        )
        step.recipe.build(context)
        self._finish(context)

    @staticmethod
    def _finish(context: BuildContext) -> None:
        prefix = context.prefix
        if not prefix.is_dir():
            raise PbsError(f"{context.recipe.name} installed nothing under {PREFIX}")
        # libtool archives name absolute build paths and are of no use to static linking.
        for archive in prefix.rglob("*.la"):
            archive.unlink()
        # Build systems copy the flags they were given (-L<merged deps>) into the files that
        # tell consumers how to link; those must name the /deps prefix, not this build's tree.
        for build_path in (context.deps_prefix, context.prefix):
            for config in (*prefix.rglob("*.pc"), *prefix.rglob("*Config.sh")):
                text = config.read_text()
                if str(build_path) in text:
                    config.write_text(text.replace(str(build_path), PREFIX))
        licenses = prefix / "share" / "licenses" / context.recipe.name
        licenses.mkdir(parents=True, exist_ok=True)
        for name in context.source.license_files:
            shutil.copyfile(context.source_dir / name, licenses / Path(name).name)


def merge_outputs(outputs: list[Path], deps_root: Path) -> None:
    """Merge step outputs into one tree, deps_root/deps/{include,lib,…}.

    Hard links: merging costs no copying. Consumers must only read the merged tree.
    """
    for output in outputs:
        shutil.copytree(
            output / PREFIX.lstrip("/"),
            deps_root / PREFIX.lstrip("/"),
            copy_function=os.link,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(STEP_FILE),
        )


def execute(
    steps: list[Step],
    runner: StepRunner,
    *,
    parallel: int,
    on_start: Callable[[Step], None] = lambda step: None,
    on_done: Callable[[StepResult], None] = lambda result: None,
) -> list[StepResult]:
    """Run `steps` (in dependency order) with up to `parallel` at once; first failure wins."""
    results: dict[str, StepResult] = {}
    pending = list(steps)
    running: dict[Future[StepResult], Step] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            ready = [s for s in pending if all(d.name in results for d in s.deps)]
            while failure is None and ready and len(running) < max(1, parallel):
                step = ready.pop(0)
                pending.remove(step)
                on_start(step)
                running[pool.submit(runner.build, step)] = step
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                try:
                    result = future.result()
                except BaseException as exc:  # noqa: BLE001 (re-raised below, after the others end)
                    failure = failure or exc
                    continue
                results[result.step.name] = result
                on_done(result)
    if failure is not None:
        raise failure
    return [results[step.name] for step in steps]
