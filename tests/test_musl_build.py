"""A musl build end to end: `pbs build` of CPython 3.14 noopt for x86_64-unknown-linux-musl,
dynamically linked against musl, whose archives pbs validates and tests (with the toolchain's
musl loader laid over /lib, and in a chroot holding the tree and that loader alone); then the
install_only interpreter is used here the same way.

The builds (conftest's SHARED_BUILDS) use the default pbs cache, so that they reuse what earlier
builds there left; cold, they build musl, every dependency for musl and CPython. The `+static`
build is a second build of the musl family: marked `variant`, it is left out of the default
run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pbs.catalog import Catalog, MuslSysroot, Target
from pbs.elf import ELF_MAGIC, elf_kind, interpreter, needed_libraries
from pbs.runner import run
from pbs.toolchain import Toolchain

from conftest import (SHARED_BUILDS, BuildReport, StartedBuild, only_download,
                      target_archives, unpacked)

pytestmark = pytest.mark.slow

BUILD = SHARED_BUILDS["musl_build"]
TAG, TRIPLE = BUILD.tag, str(BUILD.target)
ARCHIVES = target_archives(TRIPLE, TAG)


@pytest.fixture(scope="module")
def target(catalog: Catalog) -> Target:
    return catalog.target(TRIPLE)


@pytest.fixture(scope="module")
def musl_build(shared_builds: dict[str, StartedBuild]) -> tuple[Path, str]:
    return shared_builds["musl_build"].finished()


@pytest.fixture(scope="module")
def python_dir(tmp_path_factory: pytest.TempPathFactory, musl_build: tuple[Path, str]) -> Path:
    return unpacked(musl_build[0] / ARCHIVES[1], tmp_path_factory.mktemp("install only"))


def test_the_archives_are_named_for_musl(musl_build: tuple[Path, str]) -> None:
    record = only_download(musl_build[0], ARCHIVES)
    assert (record["arch"]["family"], record["os"], record["libc"]) == ("x86_64", "linux", "musl")


def test_every_check_passed(musl_build: tuple[Path, str]) -> None:
    """Validation found nothing, and every check of `pbs test` ran and passed: none skipped
    (api-names compares with the glibc reference, excepting glibc's own definitions)."""
    report = BuildReport(musl_build[1])
    report.assert_validated_clean(ARCHIVES)
    assert report.counts == ["0", "failed,", "0", "skipped"], report.counts
    report.assert_passed("c-extension", "binary-wheel", "chroot", "ssl-handshake", "regrtest")


def test_python_json_and_every_elf_file_are_musls(
    tmp_path: Path, musl_build: tuple[Path, str], target: Target
) -> None:
    sysroot = target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    dist, _ = musl_build
    subprocess.run(["tar", "-C", tmp_path, "-xf", dist / ARCHIVES[0]], check=True)
    doc = json.loads((tmp_path / "python" / "PYTHON.json").read_text())
    assert doc["target_triple"] == TRIPLE
    assert doc["crt_features"] == ["musl-dynamic", f"musl-version:{target.libc_floor}"]
    # musl's start files are in every program: its license ships with the build.
    assert (tmp_path / "python" / "licenses" / "musl" / "COPYRIGHT").is_file()
    loaders, system_libraries = set(), set()
    for path in (tmp_path / "python" / "install").rglob("*"):
        if path.is_file() and not path.is_symlink() and path.read_bytes()[:4] == ELF_MAGIC:
            loaders.add(interpreter(path))
            system_libraries.update(lib for lib in needed_libraries(path)
                                    if not lib.startswith("libpython"))
    assert loaders == {None, f"/lib/{sysroot.dynamic_linker}"}
    assert system_libraries == set(sysroot.loader_provides)


def test_the_interpreter_knows_it_is_musl_and_its_libraries_work(
    python_dir: Path, musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    script = (
        "import platform, sys, sysconfig, ssl, sqlite3, lzma, zlib, ctypes, decimal\n"
        "print(sys.implementation._multiarch, sysconfig.get_config_var('EXT_SUFFIX'))\n"
        "print(platform.libc_ver()[0], ssl.OPENSSL_VERSION.split()[1])\n"
        "print(zlib.decompress(lzma.decompress(lzma.compress(zlib.compress(b'ok')))).decode())\n"
        "print(ctypes.CDLL(None).strlen(b'musl'))\n"
    )
    runner = musl_toolchain.runner_for(run)
    output = runner([python_dir / "bin" / "python3", "-c", script], step="run the musl build",
                    log=tmp_path / "run.log").output
    multiarch, libc, roundtrip, length = output.splitlines()
    assert multiarch.split() == ["x86_64-linux-musl", ".cpython-314-x86_64-linux-musl.so"]
    assert libc.split()[0] == "musl"
    assert roundtrip == "ok"
    assert length == "4"


def test_the_interpreter_allocates_with_mimalloc(
    musl_build: tuple[Path, str], musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    """patches.toml: musl's malloc is slow. _testinternalcapi names the allocator; the full
    archive alone ships it."""
    subprocess.run(["tar", "-C", tmp_path, "-xf", musl_build[0] / ARCHIVES[0]], check=True)
    script = "import _testinternalcapi; print(_testinternalcapi.pymem_getallocatorsname())"
    runner = musl_toolchain.runner_for(run)
    output = runner([tmp_path / "python" / "install" / "bin" / "python3", "-c", script],
                    step="ask the musl build its allocator", log=tmp_path / "run.log").output
    assert output.strip() == "mimalloc"


def test_pbs_link_relinks_the_musl_archive(
    musl_build: tuple[Path, str], musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    """`pbs link` prepares the musl toolchain (building musl from its fetched source if need
    be) and links an interpreter without _sqlite3 that runs on musl and validates clean."""
    dist, _ = musl_build
    out = tmp_path / "custom"
    pbs = [sys.executable, "-m", "pbs"]
    linked = subprocess.run([*pbs, "link", dist / ARCHIVES[0], "-o", out, "--exclude", "_sqlite3"],
                            capture_output=True, text=True)
    assert linked.returncode == 0, linked.stderr
    assert "left out: _sqlite3" in linked.stdout
    runner = musl_toolchain.runner_for(run)
    output = runner([out / "python" / "bin" / "python3", "-c",
                     "import sys, ssl\n"
                     "try:\n    import _sqlite3\nexcept ImportError:\n    print('no sqlite')\n"
                     "print(sys.implementation._multiarch)"],
                    step="run the relinked musl interpreter", log=tmp_path / "run.log").output
    assert output.split() == ["no", "sqlite", "x86_64-linux-musl"]
    validated = subprocess.run([*pbs, "validate", out, "--target", TRIPLE], capture_output=True,
                               text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr


STATIC_ARCHIVES = target_archives(TRIPLE, TAG, static=True)


@pytest.fixture(scope="module")
def static_build(shared_builds: dict[str, StartedBuild]) -> tuple[Path, str]:
    return shared_builds["static_build"].finished()


@pytest.mark.variant
def test_a_static_build_is_one_executable_that_runs_anywhere(
    static_build: tuple[Path, str], catalog: Catalog, tmp_path: Path
) -> None:
    """Its checks passed (only the wheel check is skipped: it loads no extension module); no ELF
    file names a loader or needs a library, no shared object is shipped, and the interpreter
    runs here with nothing laid over /lib, knowing its C library is musl (platform.libc_ver(),
    from the mark the toolchain links into static programs)."""
    dist, output = static_build
    assert sorted(p.name for p in dist.glob("*.tar.*")) == sorted(STATIC_ARCHIVES)
    report = BuildReport(output)
    assert report.counts[:2] == ["0", "failed,"], report.counts
    assert report.skipped == {"binary-wheel"}, report.skipped
    with tarfile.open(dist / STATIC_ARCHIVES[1]) as archive:
        archive.extractall(tmp_path, filter="tar")
    elf_files = [path for path in (tmp_path / "python").rglob("*")
                 if path.is_file() and not path.is_symlink()
                 and elf_kind(path) in ("ET_EXEC", "ET_DYN")]
    assert [path.name for path in elf_files] == ["python3.14"]
    assert (interpreter(elf_files[0]), needed_libraries(elf_files[0])) == (None, [])
    done = subprocess.run([tmp_path / "python" / "bin" / "python3", "-c",
                           "import ctypes, platform, ssl, sqlite3\n"
                           "print(ctypes.pythonapi, *platform.libc_ver())"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "musl", catalog.library("musl").version]
