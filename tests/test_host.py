"""The build machine's Debian packages: installed by pbs when it can, else one line naming the
command."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pbs.catalog import Catalog
from pbs.errors import UsageError
from pbs.host import ensure_emulation, ensure_packages, needed_packages
from pbs.runner import CommandResult


class Dpkg:
    """A runner standing in for dpkg-query and apt-get: `installed` are the installed packages."""

    def __init__(self, installed: set[str]) -> None:
        self.installed = installed
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str | Path], *, step: str, log: Path,
                 cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 check: bool = True) -> CommandResult:
        argv = [str(part) for part in command]
        self.commands.append(argv)
        if argv[0] == "dpkg-query":
            known = argv[-1] in self.installed
            return CommandResult(returncode=0 if known else 1, output="ii " if known else "")
        assert env == {"DEBIAN_FRONTEND": "noninteractive"}
        return CommandResult(returncode=0, output="")


def test_the_build_needs_the_toolchain_and_the_check_tools(catalog: Catalog) -> None:
    native = catalog.build_machine
    packages = needed_packages(catalog, native, checks=True)
    assert set(catalog.toolchain.debian_packages) <= set(packages)
    assert "xvfb" in packages and "openssl" in packages
    assert "xvfb" not in needed_packages(catalog, native, checks=False)
    assert len(set(packages)) == len(packages)


def test_a_foreign_target_needs_its_start_files_and_its_emulator(catalog: Catalog) -> None:
    foreign = next(target for target in catalog.targets if target.emulator is not None)
    assert foreign.emulator is not None
    packages = needed_packages(catalog, foreign, checks=False)
    assert foreign.sysroot.crt_package in packages
    assert set(foreign.emulator.packages) <= set(packages)
    assert not set(foreign.emulator.packages) & set(
        needed_packages(catalog, catalog.build_machine, checks=True))


def test_nothing_runs_when_all_are_installed(tmp_path: Path) -> None:
    dpkg = Dpkg({"xvfb", "gcc"})
    assert ensure_packages(["xvfb", "gcc"], runner=dpkg, log=tmp_path / "log") == []
    assert [argv[0] for argv in dpkg.commands] == ["dpkg-query", "dpkg-query"]


def test_root_installs_what_is_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    dpkg = Dpkg({"gcc"})
    assert ensure_packages(["xvfb", "gcc", "openssl"], runner=dpkg,
                           log=tmp_path / "log") == ["xvfb", "openssl"]
    assert dpkg.commands[-2:] == [
        ["apt-get", "-o", "DPkg::Lock::Timeout=900", "update"],
        ["apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y", "--no-install-recommends",
         "xvfb", "openssl"],
    ]


def test_others_are_told_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    dpkg = Dpkg({"gcc"})
    with pytest.raises(UsageError) as raised:
        ensure_packages(["xvfb", "gcc"], runner=dpkg, log=tmp_path / "log")
    assert str(raised.value) == (
        "missing Debian packages: xvfb; install them as root: apt-get update && "
        "apt-get install -y --no-install-recommends xvfb")
    assert all(argv[0] == "dpkg-query" for argv in dpkg.commands)


def test_an_unregistered_emulator_names_the_commands_that_register_it(
    catalog: Catalog, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    foreign = next(target for target in catalog.targets if target.emulator is not None)
    assert foreign.emulator is not None
    unknown = dataclasses.replace(foreign, emulator=dataclasses.replace(
        foreign.emulator, binfmt="pbs-test-no-such-entry"))
    with pytest.raises(UsageError) as raised:
        ensure_emulation(unknown, runner=Dpkg(set()), log=tmp_path / "log")
    assert str(raised.value).endswith(
        "as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && "
        "cat /usr/lib/binfmt.d/pbs-test-no-such-entry.conf > /proc/sys/fs/binfmt_misc/register"
        f" && mkdir -p /etc/qemu-binfmt && ln -sfn {foreign.emulator.ld_prefix} "
        "/etc/qemu-binfmt/pbs-test-no-such-entry")


def test_the_build_machine_needs_no_emulator(catalog: Catalog, tmp_path: Path) -> None:
    assert ensure_emulation(catalog.build_machine, runner=Dpkg(set()), log=tmp_path / "log") == []
