"""A cross build end to end: `pbs build` of CPython 3.14 noopt for aarch64-unknown-linux-gnu on
this x86_64 machine, whose archives pbs validates and tests under the target's emulator
(qemu-user through binfmt_misc), and then their use here the same way.

It uses the default pbs cache, so that it reuses what earlier builds there left (the build
machine's own interpreter, which a cross build needs, among them); cold, it builds the two
toolchains, that interpreter, every dependency for aarch64 and CPython.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from packaging.version import Version

from pbs.catalog import Catalog, Target
from pbs.elf import ELF_MAGIC

pytestmark = pytest.mark.slow

TAG = "20260103"
TRIPLE = "aarch64-unknown-linux-gnu"
PREFIX = f"cpython-3.14.7+{TAG}-{TRIPLE}"
ARCHIVES = (
    f"{PREFIX}-noopt-full.tar.zst",
    f"{PREFIX}-install_only.tar.gz",
    f"{PREFIX}-install_only_stripped.tar.gz",
)


@pytest.fixture(scope="module")
def target(catalog: Catalog) -> Target:
    return catalog.target(TRIPLE)


@pytest.fixture(scope="module")
def cross_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pbs", "build", "--python", "3.14", "--target", TRIPLE,
         "--options", "noopt", "--tag", TAG, "--out", str(dist), "-j", str(os.cpu_count() or 1)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return dist, result.stdout


@pytest.fixture(scope="module")
def python_dir(tmp_path_factory: pytest.TempPathFactory, cross_build: tuple[Path, str]) -> Path:
    root = tmp_path_factory.mktemp("install only")
    with tarfile.open(cross_build[0] / ARCHIVES[1]) as archive:
        archive.extractall(root, filter="tar")
    return root / "python"


def test_the_archives_are_named_for_the_target(cross_build: tuple[Path, str]) -> None:
    dist, _ = cross_build
    names = sorted(p.name for p in dist.iterdir())
    assert names == sorted([*ARCHIVES, "SHA256SUMS", "python-downloads.json"])
    index = json.loads((dist / "python-downloads.json").read_text())
    (record,) = index.values()
    assert (record["arch"]["family"], record["os"], record["libc"]) == ("aarch64", "linux", "gnu")


def test_every_check_passed_under_the_emulator(cross_build: tuple[Path, str]) -> None:
    """Validation found nothing, and every check of `pbs test` ran and passed: none skipped."""
    _, output = cross_build
    lines = output.splitlines()
    for name in ARCHIVES:
        (summary,) = [line for line in lines if line.startswith(f"validate {name}: checked ")]
        assert summary.endswith(": 0 problems")
    (caption,) = [line for line in lines if " passed, " in line and " failed, " in line]
    assert caption.split()[2:] == ["0", "failed,", "0", "skipped"], caption
    for check in ("c-extension", "chroot", "ssl-handshake", "tkinter-xvfb", "regrtest"):
        (row,) = [line for line in lines if f" {check} " in line]
        assert "passed" in row, row


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
        "import platform, sysconfig, ssl, sqlite3, lzma, zlib, ctypes, decimal\n"
        "print(platform.machine(), sysconfig.get_platform(), sysconfig.get_config_var('HOST_GNU_TYPE'))\n"
        "print(ssl.OPENSSL_VERSION.split()[1], sqlite3.sqlite_version)\n"
        "print(zlib.decompress(lzma.decompress(lzma.compress(zlib.compress(b'ok')))).decode())\n"
        "print(decimal.Decimal(1) / 7)\n"
    )
    result = subprocess.run([python_dir / "bin" / "python3", "-c", script], capture_output=True,
                            text=True, check=False,
                            env={"PATH": os.environ["PATH"], **target.emulator_env})
    assert result.returncode == 0, result.stderr[-3000:]
    machine, versions, roundtrip, seventh = result.stdout.splitlines()
    assert machine.split() == [target.arch, target.platform, target.host_triple]
    assert versions.split()[0].startswith("3.")
    assert roundtrip == "ok"
    assert seventh == "0.1428571428571428571428571429"
