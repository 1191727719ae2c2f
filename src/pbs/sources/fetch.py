"""Fetching pinned source files into the content-addressed cache.

Locations are tried in a fixed order: the user's source directories, the cache, upstream URLs,
Debian's archive, the Python package index. Every file is verified (size and sha256) before it
enters the cache, and it enters by one atomic rename, so the cache never holds a partial or
unverified file. A failing location is reported and the next one tried; when all fail, one
error lists every attempt.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rich.console import Console

from pbs import __version__
from pbs.cache import Cache
from pbs.catalog import Artifact, DebianLocation, Source
from pbs.sources.debian import DebianSource
from pbs.errors import CacheError, FetchError, HashMismatch, PbsError
from pbs.progress import activity
from pbs.runner import Runner

HTTP_TIMEOUT_SECONDS = 30
CHUNK = 1 << 20


class Origin(StrEnum):
    LOCAL = "local dir"
    CACHE = "cache"
    UPSTREAM = "upstream"
    DEBIAN = "Debian"
    PYPI = "PyPI"


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """A verified source file in the cache and where it came from."""

    source: Source
    artifact: Artifact
    path: Path
    origin: Origin
    detail: str


# A way to obtain an artifact: writes the file to the given path, returns what it used (a URL).
Download = Callable[[Path], str]


@dataclass(frozen=True, kw_only=True)
class Attempt:
    artifact: Artifact
    origin: Origin
    detail: str
    download: Download


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, artifact: Artifact) -> None:
    """Raise `HashMismatch` unless `path` holds exactly the artifact's pinned bytes."""
    actual = sha256_of(path)
    if actual != artifact.sha256:
        size = path.stat().st_size
        expected_size = f" ({artifact.size} bytes)" if artifact.size else ""
        raise HashMismatch(
            f"{artifact.file}: sha256 mismatch: expected {artifact.sha256}{expected_size}, "
            f"got {actual} ({size} bytes)"
        )


class Fetcher:
    """Obtains the artifacts of catalogued sources, caching them by content."""

    def __init__(
        self,
        cache: Cache,
        debian: DebianSource,
        runner: Runner,
        *,
        source_dirs: Sequence[Path] = (),
        console: Console | None = None,
    ) -> None:
        self._cache = cache
        self._debian = debian
        self._runner = runner
        self._source_dirs = tuple(source_dirs)
        self._console = console or Console(stderr=True)

    def fetch(self, source: Source) -> Fetched:
        """Return `source` verified in the cache, downloading it if need be."""
        failures: list[str] = []
        for found in (self._from_source_dirs(source, failures), self._from_cache(source)):
            if found:
                return found
        for attempt in self._remote_attempts(source):
            try:
                return self._download(source, attempt)
            except CacheError:
                raise  # the cache is broken, not this location
            except PbsError as exc:
                failure = f"{attempt.origin} {attempt.detail}: {exc}"
                failures.append(failure)
                self._console.print(f"[yellow]{source.key}:[/] {failure}; trying the next location")
        tried = "\n".join(f"  - {failure}" for failure in failures)
        raise FetchError(f"cannot fetch {source.key}; every location failed:\n{tried}")

    # -- local copies ----------------------------------------------------------------------

    def _from_source_dirs(self, source: Source, failures: list[str]) -> Fetched | None:
        for directory in self._source_dirs:
            for artifact in source.artifacts:
                for name in artifact.local_names:
                    candidate = directory / name
                    if not candidate.is_file():
                        continue
                    try:
                        verify(candidate, artifact)
                    except HashMismatch as exc:
                        failures.append(f"{Origin.LOCAL} {candidate}: {exc}")
                        self._console.print(f"[yellow]{source.key}:[/] {candidate}: {exc}")
                        continue
                    attempt = Attempt(
                        artifact=artifact,
                        origin=Origin.LOCAL,
                        detail=str(candidate),
                        download=lambda dest, src=candidate: _copy(src, dest),
                    )
                    return self._download(source, attempt)
        return None

    def _from_cache(self, source: Source) -> Fetched | None:
        for artifact in source.artifacts:
            cached = self._cache.source_path(artifact.sha256, artifact.file)
            if not cached.is_file():
                continue
            try:
                verify(cached, artifact)
            except HashMismatch as exc:
                # Only corruption after publication gets here; drop the entry and refetch.
                self._console.print(f"[yellow]{source.key}:[/] corrupt cache entry removed: {exc}")
                shutil.rmtree(cached.parent, ignore_errors=True)
                continue
            return Fetched(
                source=source,
                artifact=artifact,
                path=cached,
                origin=Origin.CACHE,
                detail=str(cached),
            )
        return None

    # -- remote locations ------------------------------------------------------------------

    def _remote_attempts(self, source: Source) -> Iterator[Attempt]:
        for artifact in source.artifacts:
            for url in artifact.urls:
                yield Attempt(
                    artifact=artifact,
                    origin=Origin.UPSTREAM,
                    detail=url,
                    download=lambda dest, url=url, a=artifact: self._http(url, dest, a),
                )
        for artifact in source.artifacts:
            if location := artifact.debian:
                yield Attempt(
                    artifact=artifact,
                    origin=Origin.DEBIAN,
                    detail=f"{location.package} {location.file}",
                    download=lambda dest, loc=location: self._debian_download(loc, dest),
                )
        for artifact in source.artifacts:
            if release := artifact.pypi:
                yield Attempt(
                    artifact=artifact,
                    origin=Origin.PYPI,
                    detail=f"{release.project}=={release.version}",
                    download=lambda dest, a=artifact: self._pypi(a, dest),
                )

    def _download(self, source: Source, attempt: Attempt) -> Fetched:
        """Run one attempt into a staging directory, verify, publish into the cache."""
        artifact = attempt.artifact
        final = self._cache.source_path(artifact.sha256, artifact.file)
        with self._cache.lock(f"source-{artifact.sha256}"):
            if final.is_file():
                # Another pbs process published it while this one waited for the lock.
                return Fetched(
                    source=source, artifact=artifact, path=final, origin=Origin.CACHE,
                    detail=str(final),
                )
            if os.path.lexists(final.parent):
                # An entry without its file (deleted by hand): publishing onto it would fail.
                self._console.print(
                    f"[yellow]{source.key}:[/] damaged cache entry {final.parent} removed"
                )
                _remove(final.parent)
            with self._cache.staging() as staging:
                entry = staging / "entry"
                entry.mkdir()
                staged = entry / artifact.file
                detail = attempt.download(staged)
                verify(staged, artifact)
                self._cache.publish(entry, final.parent)
        return Fetched(
            source=source, artifact=artifact, path=final, origin=attempt.origin, detail=detail
        )

    def _http(self, url: str, dest: Path, artifact: Artifact) -> str:
        http_download(url, dest, console=self._console, expected_size=artifact.size)
        return url

    def _debian_download(self, location: DebianLocation, dest: Path) -> str:
        with activity(self._console, f"{dest.name} from Debian"):
            return self._debian.download(location, dest)

    def _pypi(self, artifact: Artifact, dest: Path) -> str:
        assert artifact.pypi is not None
        requirement = f"{artifact.pypi.project}=={artifact.pypi.version}"
        downloads = dest.parent / "pip-download"
        with activity(self._console, f"{artifact.file} from the package index"):
            self._runner(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    downloads,
                    requirement,
                ],
                step=f"download {requirement} with pip",
                log=self._cache.log("fetch", f"{artifact.file}.log"),
            )
        got = downloads / artifact.file
        if not got.is_file():
            offered = ", ".join(p.name for p in downloads.iterdir()) or "nothing"
            raise FetchError(f"pip download {requirement} gave {offered}, not {artifact.file}")
        got.rename(dest)
        shutil.rmtree(downloads)  # the cache entry holds the wheel alone
        return requirement


def http_download(
    url: str, dest: Path, *, console: Console, expected_size: int | None = None
) -> None:
    """Stream `url` into `dest`; a short or failed transfer raises `FetchError`."""
    request = urllib.request.Request(url, headers={"User-Agent": f"pbs/{__version__}"})
    host = urllib.parse.urlsplit(url).netloc
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced else expected_size
            with dest.open("wb") as out, activity(console, f"{dest.name} from {host}", total) as act:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    act.advance(len(chunk))
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"cannot connect: {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise FetchError(f"truncated transfer: received {received + len(exc.partial)} bytes") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"transfer failed: {exc}") from None
    if announced and received != int(announced):
        raise FetchError(f"truncated transfer: received {received} of {announced} bytes")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _copy(source: Path, dest: Path) -> str:
    shutil.copyfile(source, dest)
    return str(source)
