"""Cache staging, locks, and what a killed process leaves behind."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import multiprocessing
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from conftest import killed_leftover

from pbs.cache import UNLOCKED_GRACE_SECONDS, UNNAMED_SUFFIX, Cache, held_directory, sweep_held
from pbs.catalog import Artifact, Source
from pbs.sources.debian import DebianSource
from pbs.errors import CacheError
from pbs.sources.fetch import Fetcher
from pbs.runner import run
from pbs.pipeline import publish_lock


def test_staging_is_removed_after_use_even_on_error(cache: Cache) -> None:
    with pytest.raises(RuntimeError):
        with cache.staging() as staging:
            (staging / "half").write_bytes(b"x")
            raise RuntimeError("interrupted")
    assert list((cache.root / "tmp").iterdir()) == []


def test_publish_moves_a_complete_directory_in_one_rename(cache: Cache) -> None:
    with cache.staging() as staging:
        entry = staging / "entry"
        entry.mkdir()
        (entry / "file").write_text("done")
        inode = entry.stat().st_ino
        cache.publish(entry, cache.root / "sources" / "abc")
    published = cache.root / "sources" / "abc"
    assert (published / "file").read_text() == "done"
    assert published.stat().st_ino == inode


def test_lock_excludes_a_second_holder(cache: Cache) -> None:
    events: list[str] = []

    def second() -> None:
        with cache.lock("thing"):
            events.append("second")

    with cache.lock("thing"):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        events.append("first done")
    thread.join()
    assert events == ["first done", "second"]


class SlowServer:
    """Announces a large file and trickles it out, so a client can be killed mid-transfer."""

    def __init__(self) -> None:
        self.started = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 30))
                self.end_headers()
                try:
                    for _ in range(600):
                        self.wfile.write(b"x" * 4096)
                        self.wfile.flush()
                        outer.started.set()
                        time.sleep(0.05)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/big.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_a_fetch_killed_mid_transfer_leaves_no_cache_entry(tmp_path: Path) -> None:
    server = SlowServer()
    cache_root = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from pbs.cache import Cache
        from pbs.catalog import Artifact, Source, load_catalog
        from pbs.sources.debian import DebianSource
        from pbs.sources.fetch import Fetcher
        from pbs.runner import run
        cache = Cache(Path({str(cache_root)!r}))
        artifact = Artifact(file="big.tar.gz", sha256={hashlib.sha256(b"").hexdigest()!r},
                            urls=({server.url!r},))
        source = Source(name="big", version="1", role="library", license="MIT",
                        license_files=("LICENSE",), artifacts=(artifact,))
        Fetcher(cache, DebianSource(load_catalog().debian, cache, run), run).fetch(source)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert server.started.wait(30), "the fetch never started"
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        server.httpd.shutdown()
    cache = Cache(cache_root)
    assert not any(p.is_file() for p in cache.sources.rglob("*"))
    leftovers = list((cache_root / "tmp").iterdir())
    assert len(leftovers) == 1  # the killed process's staging directory, with the partial file
    assert cache.sweep_staging() == leftovers
    assert list((cache_root / "tmp").iterdir()) == []


def test_sweep_spares_a_staging_directory_in_use(cache: Cache) -> None:
    with cache.staging() as staging:
        assert cache.sweep_staging() == []
        assert staging.is_dir()


def test_a_stray_file_in_the_staging_area_is_removed_and_reported(
    cache: Cache, capfd: pytest.CaptureFixture[str]
) -> None:
    with cache.staging():
        pass  # creates tmp/
    stray = cache.root / "tmp" / "notes.txt"
    stray.write_text("left here by hand")
    with cache.staging() as live:
        assert cache.sweep_staging() == [stray]
        assert live.is_dir()
    assert not stray.exists()
    assert capfd.readouterr().err == (
        f"pbs: removed {stray}: a stray file where pbs keeps its temporary directories\n"
    )


def test_a_held_directory_is_swept_only_once_its_process_is_gone(tmp_path: Path) -> None:
    leftover = killed_leftover(tmp_path, ".work-")
    with held_directory(tmp_path, ".work-") as live:
        (live / "data").write_text("in use")
        # Just made and not yet locked: spared for a while, in case its process is alive.
        unnamed = tmp_path / f".work-{'0' * 16}{UNNAMED_SUFFIX}"
        unnamed.mkdir()
        assert sweep_held(tmp_path, ".work-") == [leftover]
        assert (live / "data").read_text() == "in use" and unnamed.is_dir()
        long_ago = time.time() - UNLOCKED_GRACE_SECONDS - 1
        os.utime(unnamed, (long_ago, long_ago))
        assert sweep_held(tmp_path, ".work-") == [unnamed]
        assert live.is_dir()
    assert list(tmp_path.iterdir()) == []


RACE_SECONDS = 2.5


def _stage(cache: Cache, until: float) -> tuple[int, list[str]]:
    """Use staging directories until `until`; every one must stay whole while in use."""
    done, problems = 0, []
    while time.time() < until:
        try:
            with cache.staging() as staging:
                (staging / "file").write_text("live")
                time.sleep(0.001)
                if (staging / "file").read_text() != "live":
                    problems.append(f"{staging} changed while in use")
            done += 1
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            problems.append(repr(exc))
    return done, problems


def _sweep(cache: Cache, until: float) -> tuple[int, list[str]]:
    done, problems = 0, []
    while time.time() < until:
        try:
            cache.sweep_staging()
            done += 1
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            problems.append(repr(exc))
    return done, problems


def _race(role: str, root: str, start: Barrier, results: Queue[tuple[int, list[str]]]) -> None:
    """One racer: it starts when every racer has started (a loaded machine can take seconds to
    spawn them), then stages or sweeps for RACE_SECONDS."""
    start.wait(timeout=120)
    work = _stage if role == "stage" else _sweep
    results.put(work(Cache(Path(root)), time.time() + RACE_SECONDS))


def test_staging_and_sweeping_race_from_several_processes(cache: Cache) -> None:
    """Three processes stage while two sweep the same cache, as fast as they can, together:
    no sweep removes a directory in use, and neither side fails on the other's leftovers."""
    cache.root.mkdir()
    context = multiprocessing.get_context("spawn")
    roles = ["stage"] * 3 + ["sweep"] * 2
    start, results = context.Barrier(len(roles)), context.Queue()
    racers = [context.Process(target=_race, args=(role, str(cache.root), start, results))
              for role in roles]
    for racer in racers:
        racer.start()
    try:
        outcomes = [results.get(timeout=180) for _ in racers]
    finally:
        for racer in racers:  # a racer that failed must not outlive the test
            racer.join(timeout=60)
            if racer.is_alive():
                racer.kill()
    assert [problem for _, problems in outcomes for problem in problems] == []
    # Enough rounds that the two sides met, even on a loaded machine (13 was seen under load).
    assert all(done >= 5 for done, _ in outcomes), outcomes
    assert list((cache.root / "tmp").iterdir()) == []


def test_a_run_waiting_for_a_lock_says_for_what_and_whom(catalog, tmp_path: Path) -> None:
    """`pbs fetch` waits for the lock of its first download, which this process holds."""
    cache = Cache(tmp_path / "cache")
    names = sorted({f"source-{a.sha256}" for s in catalog.sources for a in s.artifacts})
    with contextlib.ExitStack() as held:
        for name in names:
            held.enter_context(cache.lock(name))
        assert (cache.root / "locks" / f"{names[0]}.lock").read_text() == f"{os.getpid()}\n"
        lines = _waiting_line_then_stopped(["fetch", "--python", "3.14"], cache, tmp_path)
    waiting = lines.get(timeout=10)
    match = re.fullmatch(r"pbs: waiting for (source-[0-9a-f]{64}) \(held by pid (\d+)\)\n", waiting)
    assert match is not None, waiting
    assert match[1] in names and int(match[2]) == os.getpid()
    assert lines.get(timeout=10) == "pbs: interrupted by SIGTERM\n"


def test_a_cache_deleted_during_a_fetch_is_one_error(catalog, tmp_path: Path) -> None:
    """The server deletes the cache before it answers, as a user might during a download."""
    cache = Cache(tmp_path / "cache")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            shutil.rmtree(cache.root)
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"bytes")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/demo.tar.gz"
    artifact = Artifact(file="demo.tar.gz", sha256=hashlib.sha256(b"bytes").hexdigest(),
                        urls=(url, url))
    source = Source(name="demo", version="1", role="library", license="MIT",
                    license_files=("LICENSE",), artifacts=(artifact,))
    try:
        with pytest.raises(CacheError, match="deleted during the run") as caught:
            Fetcher(cache, DebianSource(catalog.debian, cache, run), run).fetch(source)
    finally:
        httpd.shutdown()
    assert f"was the cache {cache.root} deleted during the run? Run pbs again." in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_build_into_a_directory_another_run_publishes_into_waits(tmp_path: Path) -> None:
    """The run that holds the right to publish into dist/ (this process) keeps a second
    `pbs build` into it, spelled differently, from touching it until it lets go."""
    cache = Cache(tmp_path / "cache")
    dist = tmp_path / "dist"
    dist.mkdir()
    with publish_lock(cache, dist):
        lines = _waiting_line_then_stopped(
            ["build", "--python", "3.14", "--options", "noopt", "--out", "dist/../dist"],
            cache, tmp_path)
    assert lines.get(timeout=10).startswith("building CPython")
    assert lines.get(timeout=10) == (f"pbs: waiting for another pbs run publishing into dist/../dist "
                       f"(held by pid {os.getpid()})\n")
    assert list(dist.iterdir()) == []


def _waiting_line_then_stopped(args: list[str], cache: Cache, cwd: Path) -> queue.Queue[str]:
    """Run pbs with `args` until it says it waits for a lock, then stop it with SIGTERM.
    Returns its stderr's lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pbs", *args], cwd=cwd,
        env={**os.environ, "PBS_CACHE_DIR": str(cache.root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    threading.Thread(target=lambda: [(lines.put(line), seen.put(line)) for line in process.stderr],
                     daemon=True).start()
    try:
        while not seen.get(timeout=60).startswith("pbs: waiting for "):
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
    finally:
        process.kill()
    return lines
