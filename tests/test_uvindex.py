"""`pbs index`: python-downloads.json in uv's format, from a directory's archives and
SHA256SUMS; bad input is one line and leaves nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pbs.catalog import Catalog
from pbs.errors import UsageError
from pbs.names import ArchiveNames
from pbs.uvindex import current_settings, settings, write_index

TRIPLE = "x86_64-unknown-linux-gnu"
INDEX = "python-downloads.json"


def release_dir(directory: Path, catalog: Catalog, builds: dict[str, str],
                triple: str = TRIPLE) -> dict[str, Path]:
    """Fake archives of `builds` (options -> version) with their SHA256SUMS."""
    directory.mkdir(exist_ok=True)
    written = {}
    for options, version in builds.items():
        names = ArchiveNames(version=version, tag="20261121", triple=triple, options=options,
                             variant=catalog.release.variant(options))
        for name in (names.full(), names.install_only(), names.install_only_stripped()):
            (directory / name).write_bytes(f"{name} bytes".encode())
            written[name] = directory / name
    (directory / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n"
        for name, path in sorted(written.items())))
    return written


def pbs_index(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbs", "index", *map(str, args)],
                          capture_output=True, text=True, check=False)


def test_the_index_lists_each_variant_in_uvs_format(catalog: Catalog, tmp_path: Path) -> None:
    files = release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7", "freethreaded+pgo+lto": "3.14.7",
                                            "freethreaded+debug": "3.14.7", "noopt": "3.15.0rc1"})
    index = write_index(tmp_path, catalog, settings(tmp_path, catalog, base_url=None, flavor=None))
    records = json.loads((tmp_path / INDEX).read_text())
    assert records == index.entries
    assert sorted(records) == [
        "cpython-3.14.7+freethreaded+debug-linux-x86_64-gnu",
        "cpython-3.14.7+freethreaded-linux-x86_64-gnu",
        "cpython-3.14.7-linux-x86_64-gnu",
        "cpython-3.15.0rc1-linux-x86_64-gnu",
    ]
    name = f"cpython-3.14.7+20261121-{TRIPLE}-freethreaded-install_only_stripped.tar.gz"
    assert records["cpython-3.14.7+freethreaded-linux-x86_64-gnu"] == {
        "name": "cpython",
        "arch": {"family": "x86_64", "variant": None},
        "os": "linux",
        "libc": "gnu",
        "major": 3,
        "minor": 14,
        "patch": 7,
        "prerelease": "",
        "url": f"{tmp_path.resolve().as_uri()}/{name.replace('+', '%2B')}",
        "sha256": hashlib.sha256(files[name].read_bytes()).hexdigest(),
        "variant": "freethreaded",
        "build": "20261121",
    }
    rc = records["cpython-3.15.0rc1-linux-x86_64-gnu"]
    assert (rc["minor"], rc["patch"], rc["prerelease"], rc["variant"]) == (15, 0, "rc1", None)
    assert records["cpython-3.14.7+freethreaded+debug-linux-x86_64-gnu"]["variant"] == (
        "freethreaded+debug")


# How uv's own download list names python-build-standalone's archives of these targets: the
# key, and the record's arch family and libc.
UV_NAMES = {
    "aarch64-unknown-linux-gnu": ("cpython-3.14.7-linux-aarch64-gnu", "aarch64", "gnu"),
    "ppc64le-unknown-linux-gnu": ("cpython-3.14.7-linux-powerpc64le-gnu", "powerpc64le", "gnu"),
    "s390x-unknown-linux-gnu": ("cpython-3.14.7-linux-s390x-gnu", "s390x", "gnu"),
    "armv7-unknown-linux-gnueabihf": ("cpython-3.14.7-linux-armv7-gnueabihf", "armv7",
                                      "gnueabihf"),
    "riscv64-unknown-linux-gnu": ("cpython-3.14.7-linux-riscv64-gnu", "riscv64", "gnu"),
    "armv7-unknown-linux-gnueabi": ("cpython-3.14.7-linux-armv7-gnueabi", "armv7", "gnueabi"),
}


@pytest.mark.parametrize("triple", sorted(UV_NAMES))
def test_a_foreign_targets_archives_get_uvs_names(catalog: Catalog, tmp_path: Path,
                                                   triple: str) -> None:
    release_dir(tmp_path, catalog, {"noopt": "3.14.7"}, triple)
    records = write_index(tmp_path, catalog,
                          settings(tmp_path, catalog, base_url=None, flavor=None)).entries
    key, family, libc = UV_NAMES[triple]
    assert list(records) == [key]
    assert (records[key]["arch"], records[key]["libc"]) == ({"family": family, "variant": None},
                                                            libc)


@pytest.mark.parametrize("level", ["v2", "v3", "v4"])
def test_an_x86_64_level_is_the_architectures_variant(catalog: Catalog, tmp_path: Path,
                                                      level: str) -> None:
    """As uv's own list has them: `…-linux-x86_64_v3-gnu`, family x86_64, variant v3."""
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7", "freethreaded+pgo+lto": "3.14.7"},
                triple=f"x86_64_{level}-unknown-linux-gnu")
    records = write_index(tmp_path, catalog,
                          settings(tmp_path, catalog, base_url=None, flavor=None)).entries
    assert sorted(records) == [f"cpython-3.14.7+freethreaded-linux-x86_64_{level}-gnu",
                               f"cpython-3.14.7-linux-x86_64_{level}-gnu"]
    assert {json.dumps(record["arch"]) for record in records.values()} == {
        json.dumps({"family": "x86_64", "variant": level})}


def test_base_url_and_flavor(catalog: Catalog, tmp_path: Path) -> None:
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    result = pbs_index(tmp_path, "--base-url", "https://example.invalid/rel/", "--flavor",
                       "install_only")
    assert result.returncode == 0, result.stderr
    (record,) = json.loads((tmp_path / INDEX).read_text()).values()
    assert record["url"] == (f"https://example.invalid/rel/cpython-3.14.7%2B20261121-{TRIPLE}"
                             "-install_only.tar.gz")
    # `pbs build` rewrites the index with the settings it was written with.
    assert current_settings(tmp_path, catalog) == settings(
        tmp_path, catalog, base_url="https://example.invalid/rel", flavor="install_only")


def test_a_newer_tag_of_the_same_python_wins(catalog: Catalog, tmp_path: Path) -> None:
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    newer = tmp_path / f"cpython-3.14.7+20261231-{TRIPLE}-install_only_stripped.tar.gz"
    newer.write_bytes(b"newer")
    with (tmp_path / "SHA256SUMS").open("a") as sums:
        sums.write(f"{hashlib.sha256(b'newer').hexdigest()}  {newer.name}\n")
    index = write_index(tmp_path, catalog, settings(tmp_path, catalog, base_url=None, flavor=None))
    (record,) = index.entries.values()
    assert record["build"] == "20261231"
    assert index.notes == (f"cpython-3.14.7+20261121-{TRIPLE}-install_only_stripped.tar.gz: "
                           f"left out, {newer.name} is a newer build of "
                           "cpython-3.14.7-linux-x86_64-gnu",)


def bad(directory: Path, *args: str) -> str:
    """pbs index's one-line error, having checked it wrote nothing."""
    before = sorted(os.listdir(directory)) if directory.is_dir() else None
    result = pbs_index(directory, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert (sorted(os.listdir(directory)) if directory.is_dir() else None) == before
    return result.stderr.removeprefix("pbs: error: ").rstrip("\n")


def test_a_directory_without_archives(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no archives")
    assert bad(tmp_path) == f"{tmp_path} holds no archives (cpython-….tar.gz or .tar.zst)"
    assert bad(tmp_path / "missing") == f"{tmp_path / 'missing'} is not a directory"


def test_a_file_name_that_does_not_parse(catalog: Catalog, tmp_path: Path) -> None:
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    (tmp_path / "cpython-3.14-latest.tar.gz").write_bytes(b"")
    assert bad(tmp_path).startswith("cpython-3.14-latest.tar.gz: not an archive name of the form")


def test_a_sha256sums_line_that_does_not_match(catalog: Catalog, tmp_path: Path) -> None:
    files = release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    stripped = next(path for name, path in files.items() if "stripped" in name)
    stripped.write_bytes(b"changed after SHA256SUMS was written")
    assert bad(tmp_path) == (f"{tmp_path / 'SHA256SUMS'}: the sha256 of {stripped.name} is not "
                             "the file's")


def test_an_archive_sha256sums_does_not_name(catalog: Catalog, tmp_path: Path) -> None:
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(line for line in sums.read_text().splitlines(keepends=True)
                            if "install_only_stripped" not in line))
    assert bad(tmp_path).startswith(f"{sums} has no line for cpython-3.14.7+20261121-")
    sums.unlink()
    assert bad(tmp_path) == f"{tmp_path} has no SHA256SUMS, where the archives' hashes come from"


def test_an_unknown_flavor_or_url(catalog: Catalog, tmp_path: Path) -> None:
    release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    assert bad(tmp_path, "--flavor", "full") == (
        "--flavor 'full' is not one of install_only_stripped, install_only")
    assert bad(tmp_path, "--base-url", "ftp://host/") == (
        "--base-url 'ftp://host/' is not an http://, https:// or file:// URL")
    assert bad(tmp_path, "--base-url", "https://host/a b\u00e9/") == (
        "--base-url 'https://host/a b\u00e9/' holds characters a URL carries only "
        "percent-encoded: ' \u00e9'")
    assert bad(tmp_path, "--base-url", "https://host/?a=1").startswith(
        "--base-url 'https://host/?a=1': the archive's name is appended to it")


def test_an_unknown_target(catalog: Catalog, tmp_path: Path) -> None:
    name = "cpython-3.14.7+20261121-sparc-sun-solaris-gnu-install_only_stripped.tar.gz"
    (tmp_path / name).write_bytes(b"x")
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(b'x').hexdigest()}  {name}\n")
    assert bad(tmp_path).startswith(f"{name}: unknown target 'sparc-sun-solaris-gnu'")


def test_no_archive_of_the_flavor(catalog: Catalog, tmp_path: Path) -> None:
    files = release_dir(tmp_path, catalog, {"pgo+lto": "3.14.7"})
    for name, path in files.items():
        if "install_only_stripped" in name:
            path.unlink()
    with pytest.raises(UsageError, match="holds no install_only_stripped archives"):
        write_index(tmp_path, catalog, settings(tmp_path, catalog, base_url=None, flavor=None))
    assert not (tmp_path / INDEX).exists()
