"""A cross build end to end: `pbs build` of CPython 3.14 noopt for aarch64-unknown-linux-gnu on
this x86_64 machine, whose archives pbs validates and tests under the target's emulator
(qemu-user through binfmt_misc), and then their use here the same way.

The build (conftest's SHARED_BUILDS) uses the default pbs cache, so that it reuses what earlier
builds there left (the build machine's own interpreter, which a cross build needs, among them);
cold, it builds the two toolchains, that interpreter, every dependency for aarch64 and CPython.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from packaging.version import Version

from pbs.catalog import Catalog, Target
from pbs.elf import ELF_MAGIC

from conftest import (SHARED_BUILDS, BuildReport, StartedBuild, only_download,
                      target_archives, unpacked)

# A second build of the glibc family, which the default run builds natively (test_build.py).
pytestmark = [pytest.mark.slow, pytest.mark.variant]

BUILD = SHARED_BUILDS["cross_build"]
TAG, TRIPLE = BUILD.tag, str(BUILD.target)
ARCHIVES = target_archives(TRIPLE, TAG)


@pytest.fixture(scope="module")
def target(catalog: Catalog) -> Target:
    return catalog.target(TRIPLE)


@pytest.fixture(scope="module")
def cross_build(shared_builds: dict[str, StartedBuild]) -> tuple[Path, str]:
    return shared_builds["cross_build"].finished()


@pytest.fixture(scope="module")
def python_dir(tmp_path_factory: pytest.TempPathFactory, cross_build: tuple[Path, str]) -> Path:
    return unpacked(cross_build[0] / ARCHIVES[1], tmp_path_factory.mktemp("install only"))


def test_the_archives_are_named_for_the_target(cross_build: tuple[Path, str]) -> None:
    record = only_download(cross_build[0], ARCHIVES)
    assert (record["arch"]["family"], record["os"], record["libc"]) == ("aarch64", "linux", "gnu")


def test_every_check_passed_under_the_emulator(cross_build: tuple[Path, str]) -> None:
    """Validation found nothing, and every check of `pbs test` ran and passed: none skipped."""
    report = BuildReport(cross_build[1])
    report.assert_validated_clean(ARCHIVES)
    assert report.counts == ["0", "failed,", "0", "skipped"], report.counts
    report.assert_passed("c-extension", "chroot", "ssl-handshake", "tkinter-xvfb", "regrtest")


def test_python_json_and_every_elf_file_are_the_targets(
    tmp_path: Path, cross_build: tuple[Path, str], target: Target
) -> None:
    dist, _ = cross_build
    subprocess.run(["tar", "-C", tmp_path, "-xf", dist / ARCHIVES[0]], check=True)
    doc = json.loads((tmp_path / "python" / "PYTHON.json").read_text())
    assert doc["target_triple"] == TRIPLE
    assert doc["python_platform_tag"] == target.platform
    (glibc,) = [feature.partition(":")[2] for feature in doc["crt_features"]
                if feature.startswith("glibc-max-symbol-version:")]
    assert Version(glibc) <= Version(target.libc_floor)
    machines = set()
    for path in (tmp_path / "python" / "install").rglob("*"):
        if path.is_file() and not path.is_symlink() and path.read_bytes()[:4] == ELF_MAGIC:
            with path.open("rb") as handle:
                machines.add(ELFFile(handle)["e_machine"])
    assert machines == {target.elf_machine}


def test_the_interpreter_knows_its_platform_and_its_libraries_work(
    python_dir: Path, target: Target
) -> None:
    script = (
        "import platform, sys, sysconfig, ssl, sqlite3, lzma, zlib, ctypes, decimal\n"
        "print(platform.machine(), sysconfig.get_platform(), sysconfig.get_config_var('HOST_GNU_TYPE'))\n"
        "print(ssl.OPENSSL_VERSION.split()[1], sqlite3.sqlite_version)\n"
        "print(zlib.decompress(lzma.decompress(lzma.compress(zlib.compress(b'ok')))).decode())\n"
        "print(decimal.Decimal(1) / 7)\n"
        "print(sys.hash_info.algorithm)\n"
    )
    result = subprocess.run([python_dir / "bin" / "python3", "-c", script], capture_output=True,
                            text=True, check=False,
                            env={"PATH": os.environ["PATH"], **target.emulator_env})
    assert result.returncode == 0, result.stderr[-3000:]
    machine, versions, roundtrip, seventh, hashing = result.stdout.splitlines()
    assert machine.split() == [target.arch, target.platform, target.host_triple]
    assert versions.split()[0].startswith("3.")
    assert roundtrip == "ok"
    assert seventh == "0.1428571428571428571428571429"
    # As a native build finds (configure cannot run its probe when it cross-compiles).
    assert hashing == "siphash13"
