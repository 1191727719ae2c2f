"""Steps that depend on each other, run in dependency order with up to -j at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

from pbs.steps.engine import StepResult


class Scheduled(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def deps(self) -> Sequence[Scheduled]: ...


S = TypeVar("S", bound=Scheduled)


def execute(
    steps: Sequence[S],
    build: Callable[[S], StepResult],
    *,
    parallel: int,
) -> list[StepResult]:
    """Run `steps` (in dependency order) with up to `parallel` at once; first failure wins."""
    results: dict[str, StepResult] = {}
    pending = list(steps)
    running: dict[Future[StepResult], S] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            ready = [s for s in pending if all(d.name in results for d in s.deps)]
            while failure is None and ready and len(running) < max(1, parallel):
                step = ready.pop(0)
                pending.remove(step)
                running[pool.submit(build, step)] = step
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
                results[result.name] = result
    if failure is not None:
        raise failure
    return [results[step.name] for step in steps]
