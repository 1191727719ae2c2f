"""Cache staging, locks, and what a killed process leaves behind."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pbs.cache import Cache


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
        from pbs.debian import DebianSource
        from pbs.fetch import Fetcher
        cache = Cache(Path({str(cache_root)!r}))
        artifact = Artifact(file="big.tar.gz", sha256={hashlib.sha256(b"").hexdigest()!r},
                            urls=({server.url!r},))
        source = Source(name="big", version="1", role="library", license="MIT",
                        license_files=("LICENSE",), artifacts=(artifact,))
        Fetcher(cache, DebianSource(load_catalog().debian, cache)).fetch(source)
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
