"""The command line as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pbs.catalog import Catalog, Source
from pbs.extract import extract_archive, source_root


def pbs(*args: str, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pbs", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PBS_CACHE_DIR": str(cache), **env},
        check=False,
    )


def test_unknown_python_is_one_line_listing_valid_versions(tmp_path) -> None:
    result = pbs("fetch", "--python", "3.9", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("pbs: error: unknown Python version '3.9'; valid versions:")
    for version in ("3.11.2", "3.13.15", "3.14.7", "3.15.0rc1"):
        assert version in result.stderr
    assert not (tmp_path / "cache").exists()


def test_unknown_target_is_one_line_listing_valid_targets(tmp_path) -> None:
    result = pbs("fetch", "--target", "sparc-sun-solaris", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr == (
        "pbs: error: unknown target 'sparc-sun-solaris'; valid targets: x86_64-unknown-linux-gnu\n"
    )


@pytest.mark.parametrize("options", ["pgo+lto", "lto", "pgo", "freethreaded+pgo+lto"])
def test_an_optimized_build_cannot_skip_its_tests(tmp_path, options: str) -> None:
    result = pbs("build", "--python", "3.14", "--options", options, "--no-test",
                 "--out", str(tmp_path / "dist"), cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"pbs: error: --no-test cannot be used with {options}:")
    assert "whole test suite" in result.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "dist").exists()


def test_ls_lists_versions_targets_options_and_sources(catalog: Catalog, tmp_path) -> None:
    result = pbs("ls", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    for python in catalog.pythons:
        assert str(python.version) in result.stdout
    for text in ("x86_64-unknown-linux-gnu", "2.17", "pgo+lto", "freethreaded+<base>", "openssl",
                 "3.5.7", "Apache-2.0"):
        assert text in result.stdout


def test_ls_one_section(tmp_path) -> None:
    result = pbs("ls", "targets", cache=tmp_path / "cache")
    assert result.returncode == 0
    assert "x86_64-unknown-linux-gnu" in result.stdout and "openssl" not in result.stdout


@pytest.mark.slow
def test_fetch_python_314_for_real(catalog: Catalog, tmp_path) -> None:
    """`pbs fetch --python 3.14` gets every source, verifies it; a second run uses the cache."""
    cache = tmp_path / "cache"
    first = pbs("fetch", "--python", "3.14", cache=cache)
    assert first.returncode == 0, first.stderr
    sources = catalog.sources_for(catalog.python("3.14"), catalog.target(None))
    rows = [line for line in first.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == len(sources)
    assert "0 from the cache" in first.stdout

    second = pbs("fetch", "--python", "3.14", cache=cache)
    assert second.returncode == 0, second.stderr
    assert f"{len(sources)} from the cache" in second.stdout
    assert second.stderr == ""  # nothing was tried remotely

    fetched = {source.key: fetched_file(cache, source) for source in sources}

    # A source dir holding every file serves a fetch into a new cache without any download.
    source_dir = tmp_path / "mirror"
    source_dir.mkdir()
    for path in fetched.values():
        (source_dir / path.name).symlink_to(path)
    third = pbs("fetch", "--python", "3.14", cache=tmp_path / "cache2", PBS_SOURCE_DIR=str(source_dir))
    assert third.returncode == 0, third.stderr
    assert third.stdout.count("local dir") == len(sources)

    # Every license file the catalog names is where it says, in the fetched bytes.
    for source in sources:
        path = fetched[source.key]
        if path.suffix == ".whl":
            continue
        root = source_root(extract_archive(path, tmp_path / "unpacked" / source.key))
        for license_file in source.license_files:
            assert (root / license_file).is_file(), (source.key, license_file)


def fetched_file(cache: Path, source: Source) -> Path:
    for artifact in source.artifacts:
        path = cache / "sources" / artifact.sha256 / artifact.file
        if path.is_file():
            return path
    raise AssertionError(f"{source.key} is not in the cache")


def test_deps_refuses_unknown_options_before_any_work(tmp_path) -> None:
    result = pbs("deps", "--options", "fast", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.startswith("pbs: error: unknown build options 'fast'; valid options:")
    assert not (tmp_path / "cache").exists()
