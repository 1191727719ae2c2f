"""Debian's archive as a fallback: the machine's apt configuration, and real downloads."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from conftest import RecordingRunner
from pbs.catalog import Catalog, DebianLocation
from pbs.sources.debian import APT_HELPER, DebianSource, machine_mirrors
from pbs.errors import FetchError
from pbs.sources.fetch import Fetcher, Origin, sha256_of
from pbs.runner import run

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Enabled: no
"""

VENDOR = """\
Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
"""

ONE_LINE = """\
# a comment
deb [arch=amd64 signed-by=/etc/keys/x.gpg] http://other.example/debian trixie main
deb http://ppa.example/ubuntu jammy main
"""


def apt_etc(tmp_path: Path) -> Path:
    etc = tmp_path / "etc-apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list.d" / "debian.sources").write_text(DEB822)
    (etc / "sources.list.d" / "vendor.sources").write_text(VENDOR)
    (etc / "sources.list.d" / "old.list.disabled").write_text("deb http://off.example/d sid main\n")
    (etc / "sources.list").write_text(ONE_LINE)
    return etc


def test_mirrors_come_from_the_machines_apt_configuration(catalog: Catalog, tmp_path) -> None:
    mirrors = machine_mirrors(catalog.debian, apt_etc(tmp_path))
    assert [(m.uri, m.security, m.keyring) for m in mirrors] == [
        ("http://other.example/debian", False, "/etc/keys/x.gpg"),
        ("http://mirror.example/debian", False, "/usr/share/keyrings/debian-archive-keyring.gpg"),
        ("http://security.example/debian-security", True, None),
    ]


def test_private_source_list_covers_catalogued_suites(catalog: Catalog, cache, tmp_path) -> None:
    etc = apt_etc(tmp_path)
    debian = DebianSource(catalog.debian, cache, run, etc)
    text = debian._source_list(machine_mirrors(catalog.debian, etc))
    lines = text.splitlines()
    assert len(lines) == 2 * len(catalog.debian.suites) + len(catalog.debian.security_suites)
    assert (
        "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://security.example/debian-security trixie-security main"
    ) in lines


def test_no_debian_mirror_is_a_clear_error(catalog: Catalog, cache, tmp_path) -> None:
    empty = tmp_path / "empty"
    (empty / "sources.list.d").mkdir(parents=True)
    debian = DebianSource(catalog.debian, cache, run, empty)
    location = catalog.source("xtrans", "1.4.0").artifacts[0].debian
    assert location is not None
    with pytest.raises(FetchError, match="no Debian mirror in the apt configuration"):
        debian.download(location, tmp_path / "out")


@pytest.mark.skipif(shutil.which("apt-get") is None or not APT_HELPER.exists(),
                    reason="needs apt")
def test_a_versioned_file_is_looked_up_in_fresh_indexes_then_downloaded(
    catalog: Catalog, cache, tmp_path, recorder: RecordingRunner
) -> None:
    location = DebianLocation(package="libdemo", file="libdemo_1.0.orig.tar.gz", version="1.0-1")
    uri = "http://mirror.example/debian/pool/main/libd/libdemo/libdemo_1.0.orig.tar.gz"
    recorder.outputs["apt-get"] = f"'{uri}' libdemo_1.0.orig.tar.gz 123 SHA256:ab\n"
    dest = tmp_path / "dest"
    debian = DebianSource(catalog.debian, cache, recorder, apt_etc(tmp_path))
    assert debian.download(location, dest) == uri
    update, lookup, download = recorder.argvs
    private = f"Dir::Etc::sourcelist={cache.apt / 'sources.list'}"
    assert all(private in argv for argv in recorder.argvs)
    assert (update[0], update[-1]) == ("apt-get", "update")
    assert lookup[0] == "apt-get"
    assert lookup[-4:] == ["source", "--print-uris", "--only-source", "libdemo=1.0-1"]
    assert download[0] == str(APT_HELPER)
    assert download[-3:] == ["download-file", uri, str(dest)]
    assert "http://mirror.example/debian" in (cache.apt / "sources.list").read_text()


def test_another_architectures_package_comes_from_the_machines_suites_through_apt(
    catalog: Catalog, cache, tmp_path, recorder: RecordingRunner
) -> None:
    """Binary indexes for that architecture only, of the suites the machine's apt uses, in a
    state of their own; updated once when there are none, then apt downloads the version."""
    dest = tmp_path / "dest"
    dest.mkdir()
    recorder.effect = lambda argv: (
        (dest / "libdemo_1%3a1.0-1_arm64.deb").write_bytes(b"deb") if "download" in argv else None)
    debian = DebianSource(catalog.debian, cache, recorder, apt_etc(tmp_path))
    deb = debian.download_package("libdemo", "1:1.0-1", "arm64", dest)
    assert deb == dest / "libdemo_1%3a1.0-1_arm64.deb"
    update, download = recorder.argvs
    assert update[-1] == "update" and download[-2:] == ["download", "libdemo:arm64=1:1.0-1"]
    assert "APT::Architectures::=arm64" in download
    assert recorder.commands[1].cwd == dest
    listing = (cache.apt / "binary-arm64" / "sources.list").read_text().splitlines()
    assert listing == [
        "deb [arch=arm64 signed-by=/etc/keys/x.gpg] http://other.example/debian trixie main",
        "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian bookworm main",
        "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian bookworm-updates main",
        "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://security.example/debian-security bookworm-security main",
    ]


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt")
def test_a_version_debian_does_not_have_is_a_clear_error(catalog: Catalog, cache, tmp_path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    debian = DebianSource(catalog.debian, cache, run)
    with pytest.raises(FetchError, match=r"Debian's libc6:arm64=0\.0-0 is not in the machine's "
                                         r"Debian suites \(.*\); see "):
        debian.download_package("libc6", "0.0-0", "arm64", dest)
    assert list(dest.iterdir()) == []


def debian_only(catalog: Catalog, name: str, version: str):
    """The catalogued source with its upstream URLs dropped, so only Debian can serve it."""
    source = catalog.source(name, version)
    artifacts = tuple(dataclasses.replace(a, urls=()) for a in source.artifacts if a.debian)
    return dataclasses.replace(source, artifacts=artifacts)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("libpthread-stubs", "0.5"),  # listed in the indexes: looked up by package=version
        ("xcbgen", "1.17.0"),  # in no index: fetched by its pool path
    ],
)
def test_real_fetch_through_debian(catalog: Catalog, cache, console, name, version) -> None:
    source = debian_only(catalog, name, version)
    fetched = Fetcher(cache, DebianSource(catalog.debian, cache, run), run,
                      console=console).fetch(source)
    assert fetched.origin is Origin.DEBIAN
    assert fetched.detail.endswith("/" + fetched.artifact.debian.pool_path.split("/", 2)[2])
    assert sha256_of(fetched.path) == fetched.artifact.sha256
    assert fetched.path.stat().st_size == fetched.artifact.size
