"""Fetching against a real HTTP server on loopback: good, wrong, truncated, missing files."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from pbs.cache import Cache
from pbs.catalog import Artifact, Catalog, Source
from pbs.sources.debian import DebianSource
from pbs.errors import FetchError
from pbs.sources.fetch import Fetcher, Origin
from pbs.runner import run

from conftest import cache_entries

GOOD = b"pinned source bytes\n" * 5000
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


class Server:
    """A loopback HTTP server whose paths behave as named; it records every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                if self.path.startswith("/good/"):
                    self._send(GOOD, len(GOOD))
                elif self.path.startswith("/wrong/"):
                    self._send(b"tampered" + GOOD[8:], len(GOOD))
                elif self.path.startswith("/truncated/"):
                    # Announce the whole file, send half of it, then drop the connection.
                    self._send(GOOD[: len(GOOD) // 2], len(GOOD))
                    self.close_connection = True
                else:
                    self.send_error(404)

            def _send(self, body: bytes, length: int) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, kind: str, name: str = "demo-1.0.tar.gz") -> str:
        return f"{self.base}/{kind}/{name}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def demo_source(*artifacts: Artifact) -> Source:
    return Source(
        name="demo",
        version="1.0",
        role="library",
        license="MIT",
        license_files=("LICENSE",),
        artifacts=artifacts,
    )


def demo_artifact(*urls: str, file: str = "demo-1.0.tar.gz", sha256: str = GOOD_SHA) -> Artifact:
    return Artifact(file=file, sha256=sha256, size=len(GOOD), urls=urls)


def fetcher(catalog: Catalog, cache: Cache, console: Console, *dirs: Path) -> Fetcher:
    return Fetcher(cache, DebianSource(catalog.debian, cache, run), run, source_dirs=dirs,
                   console=console)


def test_good_file_is_verified_into_the_cache(catalog, cache, console, server) -> None:
    source = demo_source(demo_artifact(server.url("good")))
    fetched = fetcher(catalog, cache, console).fetch(source)
    assert fetched.origin is Origin.UPSTREAM
    assert fetched.detail == server.url("good")
    assert fetched.path == cache.sources / GOOD_SHA / "demo-1.0.tar.gz"
    assert fetched.path.read_bytes() == GOOD
    assert list((cache.root / "tmp").iterdir()) == []


def test_second_fetch_is_served_from_the_cache_without_a_request(
    catalog, cache, console, server
) -> None:
    source = demo_source(demo_artifact(server.url("good")))
    fetcher(catalog, cache, console).fetch(source)
    assert len(server.requests) == 1
    again = fetcher(catalog, cache, console).fetch(source)
    assert again.origin is Origin.CACHE
    assert len(server.requests) == 1


def test_wrong_hash_names_file_and_both_hashes_and_caches_nothing(
    catalog, cache, console, server
) -> None:
    source = demo_source(demo_artifact(server.url("wrong")))
    with pytest.raises(FetchError) as caught:
        fetcher(catalog, cache, console).fetch(source)
    tampered = hashlib.sha256(b"tampered" + GOOD[8:]).hexdigest()
    message = str(caught.value)
    assert "demo-1.0.tar.gz" in message
    assert f"expected {GOOD_SHA}" in message
    assert f"got {tampered}" in message
    assert cache_entries(cache) == []


def test_truncated_transfer_is_refused_and_caches_nothing(catalog, cache, console, server) -> None:
    source = demo_source(demo_artifact(server.url("truncated")))
    with pytest.raises(FetchError, match="truncated transfer") as caught:
        fetcher(catalog, cache, console).fetch(source)
    assert server.url("truncated") in str(caught.value)
    assert cache_entries(cache) == []


def test_missing_file_is_reported_and_the_next_location_used(
    catalog, cache, console, server
) -> None:
    source = demo_source(demo_artifact(server.url("missing"), server.url("good")))
    fetched = fetcher(catalog, cache, console).fetch(source)
    assert fetched.detail == server.url("good")
    assert [r.split("/")[1] for r in server.requests] == ["missing", "good"]
    report = console.file.getvalue()
    assert server.url("missing") in report and "HTTP 404" in report


def test_every_failure_is_listed_when_all_locations_fail(catalog, cache, console, server) -> None:
    source = demo_source(
        demo_artifact(server.url("missing"), server.url("truncated"), server.url("wrong"))
    )
    with pytest.raises(FetchError) as caught:
        fetcher(catalog, cache, console).fetch(source)
    lines = str(caught.value).splitlines()
    assert lines[0] == "cannot fetch demo-1.0; every location failed:"
    assert len(lines) == 4
    assert "HTTP 404" in lines[1] and "truncated" in lines[2] and "sha256 mismatch" in lines[3]


def test_a_second_artifact_serves_when_the_first_is_unobtainable(
    catalog, cache, console, server
) -> None:
    first = demo_artifact(server.url("missing"), sha256="0" * 64)
    second = demo_artifact(server.url("good", "demo_1.0.orig.tar.gz"), file="demo_1.0.orig.tar.gz")
    fetched = fetcher(catalog, cache, console).fetch(demo_source(first, second))
    assert fetched.artifact == second
    assert fetched.path.name == "demo_1.0.orig.tar.gz"


def test_source_dir_comes_first_and_is_verified(catalog, cache, console, server, tmp_path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "demo-1.0.tar.gz").write_bytes(GOOD)
    source = demo_source(demo_artifact(server.url("good")))
    fetched = fetcher(catalog, cache, console, local).fetch(source)
    assert fetched.origin is Origin.LOCAL
    assert fetched.path.read_bytes() == GOOD
    assert server.requests == []


def test_a_wrong_file_in_the_source_dir_is_skipped(
    catalog, cache, console, server, tmp_path
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "demo-1.0.tar.gz").write_bytes(b"not it")
    source = demo_source(demo_artifact(server.url("good")))
    fetched = fetcher(catalog, cache, console, local).fetch(source)
    assert fetched.origin is Origin.UPSTREAM
    assert "sha256 mismatch" in console.file.getvalue()


def test_a_corrupted_cache_entry_is_replaced(catalog, cache, console, server) -> None:
    source = demo_source(demo_artifact(server.url("good")))
    first = fetcher(catalog, cache, console).fetch(source)
    first.path.write_bytes(b"bit rot")
    again = fetcher(catalog, cache, console).fetch(source)
    assert again.origin is Origin.UPSTREAM
    assert again.path.read_bytes() == GOOD
    assert "corrupt cache entry removed" in console.file.getvalue()


def test_an_entry_whose_file_was_deleted_is_repaired(catalog, cache, console, server) -> None:
    """What a user's `rm` leaves of an entry (the directory, here with the pip-download/
    directory that pip's entries used to keep) must not block the next fetch."""
    source = demo_source(demo_artifact(server.url("good")))
    first = fetcher(catalog, cache, console).fetch(source)
    first.path.unlink()
    (first.path.parent / "pip-download").mkdir()
    for _ in range(2):
        again = fetcher(catalog, cache, console).fetch(source)
    assert again.path == first.path and again.path.read_bytes() == GOOD
    assert sorted(p.name for p in again.path.parent.iterdir()) == [again.path.name]
    assert console.file.getvalue().count(
        f"damaged cache entry {first.path.parent} removed"
    ) == 1
    assert list((cache.root / "tmp").iterdir()) == []
