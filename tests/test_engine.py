"""The cached-step engine and the scheduler, with steps whose build is a Python function."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pbs.cache import Cache
from pbs.steps.engine import STEP_FILE, StepEngine
from pbs.steps.schedule import execute


@dataclass(frozen=True)
class FakeStep:
    name: str
    key: str = "0123456789abcdef"
    deps: tuple[FakeStep, ...] = ()

    def record(self) -> dict[str, str]:
        return {"version": "1.0"}


@dataclass
class Recorder:
    events: list[tuple[str, str, bool]] = field(default_factory=list)

    def started(self, name: str, log: Path, cached: bool) -> None:
        self.events.append(("started", name, cached))

    def finished(self, name: str, cached: bool, seconds: float) -> None:
        self.events.append(("finished", name, cached))


def write_file(work: Path, out: Path, log: Path) -> None:
    assert work.is_dir() and out.is_dir() and out.parent == work
    with log.open("a") as sink:
        sink.write("built\n")
    (out / "result.txt").write_text("made\n")


def test_a_step_is_built_once_then_found_cached(cache: Cache) -> None:
    progress = Recorder()
    engine = StepEngine(cache, progress)
    step = FakeStep("thing")
    first = engine.run(step, write_file)
    second = engine.run(step, lambda *_: pytest.fail("a cached step was built again"))
    assert (first.cached, second.cached) == (False, True)
    assert first.output == second.output == engine.output(step)
    assert (first.output / "result.txt").read_text() == "made\n"
    record = json.loads((first.output / STEP_FILE).read_text())
    assert {k: record[k] for k in ("name", "key", "version")} == {
        "name": "thing", "key": step.key, "version": "1.0"}
    assert first.log.read_text().splitlines() == [
        f"# name thing key {step.key} version 1.0", "built"]
    assert progress.events == [("started", "thing", False), ("finished", "thing", False),
                               ("started", "thing", True), ("finished", "thing", True)]


def test_a_failed_build_publishes_nothing_and_leaves_no_staging(cache: Cache) -> None:
    engine = StepEngine(cache)
    step = FakeStep("broken")

    def fail(work: Path, out: Path, log: Path) -> None:
        (out / "half.txt").write_text("half")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        engine.run(step, fail)
    assert not engine.output(step).exists()
    assert not engine.is_cached(step)
    assert list((cache.root / "tmp").iterdir()) == []
    assert engine.run(step, write_file).cached is False  # the lock was let go


def test_steps_run_after_their_dependencies_and_a_failure_stops_new_starts(cache: Cache) -> None:
    engine = StepEngine(cache)
    base = FakeStep("base", key="1" * 16)
    middle = FakeStep("middle", key="2" * 16, deps=(base,))
    top = FakeStep("top", key="3" * 16, deps=(middle,))
    other = FakeStep("other", key="4" * 16)
    order: list[str] = []
    lock = threading.Lock()

    def build(step: FakeStep):
        def into(work: Path, out: Path, log: Path) -> None:
            with lock:
                order.append(step.name)
            for dep in step.deps:
                assert engine.is_cached(dep), f"{step.name} ran before {dep.name}"
        return engine.run(step, into)

    results = execute([base, middle, top, other], build, parallel=2)
    assert [r.name for r in results] == ["base", "middle", "top", "other"]
    assert order.index("base") < order.index("middle") < order.index("top")

    failing = FakeStep("failing", key="5" * 16)
    after = FakeStep("after", key="6" * 16, deps=(failing,))

    def build_failing(step: FakeStep):
        if step is failing:
            raise RuntimeError("failing broke")
        pytest.fail(f"{step.name} started after its dependency failed")

    with pytest.raises(RuntimeError, match="failing broke"):
        execute([failing, after], build_failing, parallel=2)


def test_the_cpython_key_hashes_the_code_its_stages_import_and_not_the_inert() -> None:
    from pbs.cpython import makesetup, step
    from pbs.steps.code import code_texts

    texts = code_texts("pbs.cpython.step", inert=step.INERT_CODE)
    # makesetup is imported only through modules.py and assemble.py: reached transitively.
    assert Path(makesetup.__file__).read_text() in texts
    assert Path(step.__file__).read_text() in texts
    for inert in ("runner", "cache", "toolchain"):
        assert Path(__import__(f"pbs.{inert}", fromlist=["_"]).__file__).read_text() not in texts
    assert len(set(texts)) == len(texts)
