"""An extracted archive's install tree, and running its interpreter with a clean environment."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pbs.catalog import Emulator, Target, TargetChecks
from pbs.errors import PbsError
from pbs.loader import LoaderOverlay, ToolchainLibc
from pbs.sources.extract import extract_archive
from pbs.distribution_json import load_python_json
from pbs.metadata import FILE_NAME
from pbs.runner import CommandResult, Runner

SCRIPTS = Path(__file__).parent / "scripts"
# What a foreign target's cross compiler is called in the checks: sysconfig's `cc`, and the
# `gcc` some of CPython's own tests and ctypes.util run.
TARGET_COMPILER_NAMES = ("cc", "gcc")


@dataclass(frozen=True, kw_only=True)
class InstallTree:
    """The `install/` tree of an extracted archive, with the scratch space its checks use."""

    prefix: Path  # holds bin/python3, lib/python3.X
    stdlib: Path  # lib/python3.X, or lib/python3.Xt for a free-threaded build
    work: Path  # scratch directory for files the checks write
    log: Path
    runner: Runner
    emulator: Emulator | None = None  # how a foreign target's programs run here
    target_cc: str | None = None  # the target's C compiler, where the build machine's cc is not
    libc_loader: Path | None = None  # the target's loader, where the build machine has none
    static: bool = False  # a +static build: one static executable that loads no shared object

    @property
    def emulator_env(self) -> dict[str, str]:
        """What every environment the checks give the archive's programs must hold."""
        return self.emulator.env if self.emulator else {}

    @property
    def target_tools(self) -> Path:
        """A directory first on the checks' PATH where the target's C compiler is not the build
        machine's: its `cc`, `gcc` and `ld` are the target's compiler and its linker, as a
        native machine's would build for it (sysconfig says `cc`; CPython's own tests run
        `gcc`, and ctypes.util runs `ld`)."""
        return self.work / "target tools"

    def for_target(self, target: Target, checks: TargetChecks | None = None,
                   libc: ToolchainLibc | None = None, static: bool = False) -> InstallTree:
        """This tree, checked for `target`: its programs run under its emulator, or natively,
        with `libc`'s loader (musl's, which the build machine lacks) laid over /lib. The checks'
        `cc` is `checks`' C compiler, else `libc`'s, else the emulator's. `static`: the archive
        holds a +static build."""
        cc = (checks.cc if checks else str(libc.cc) if libc
              else target.emulator.cc if target.emulator else None)
        runner = (LoaderOverlay(runner=self.runner, loader_dir=libc.loader.parent)
                  if libc else self.runner)
        if cc is not None:
            self.target_tools.mkdir()
            if found := host_tool(cc):
                linker = (str(libc.ld) if libc and cc == str(libc.cc) else
                          self.runner([found, "-print-prog-name=ld"], step="find the target's ld",
                                      log=self.log).output.strip())
                for name in TARGET_COMPILER_NAMES:
                    # A script, not a link: a toolchain's wrapper finds its sysroot from $0.
                    (self.target_tools / name).write_text(
                        f'#!/bin/sh\nexec {shlex.quote(found)} "$@"\n')
                    (self.target_tools / name).chmod(0o755)
                if os.path.isabs(linker):
                    (self.target_tools / "ld").symlink_to(os.path.realpath(linker))
        return replace(self, emulator=target.emulator, target_cc=cc,
                       libc_loader=libc.loader if libc else None,
                       runner=runner, static=static)

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python3"

    @property
    def home(self) -> Path:
        return self.work / "home"

    @property
    def config_dir(self) -> Path:
        found = sorted(self.stdlib.glob("config-*"))
        if not found:
            raise PbsError(f"the archive has no {self.stdlib.name}/config-* directory")
        return found[0]

    def run(
        self,
        command: Sequence[str | Path],
        *,
        step: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> CommandResult:
        """Run `command` with PATH and `env` as its whole environment (`env -i`): the host's
        PYTHONPATH, PYTHONHOME, SSL_CERT_FILE and the like must not help the archive pass.
        A foreign target's programs run under its emulator (binfmt_misc), told where the
        target's glibc is; a musl target's with its loader laid over /lib (the runner)."""
        # A private HOME: nothing from the user's dotfiles (pip.conf, .inputrc) takes part.
        path = os.environ.get("PATH", os.defpath)
        full = {
            "PATH": f"{self.target_tools}{os.pathsep}{path}" if self.target_cc else path,
            "HOME": str(self.home),
            **self.emulator_env,
            **(env or {}),
        }
        assignments = [f"{key}={value}" for key, value in full.items()]
        return self.runner(
            ["env", "-i", *assignments, *command],
            step=f"test {step}",
            log=self.log,
            cwd=cwd or self.work,
            check=False,
        )

    def script(
        self,
        name: str,
        *args: str | Path,
        step: str,
        env: Mapping[str, str] | None = None,
        python: Path | None = None,
    ) -> CommandResult:
        """Run scripts/<name>.py with the archive's interpreter (isolated mode: no user site)."""
        return self.run(
            [python or self.python, "-I", SCRIPTS / f"{name}.py", *args],
            step=step,
            env=env,
        )


def unpack(archive: Path, dest: Path, log: Path, runner: Runner) -> InstallTree:
    """Extract `archive` into `dest` (a new directory) and find its install tree.

    Full archives hold the tree at python/install/, install_only ones at python/.
    """
    if not archive.is_file():
        raise PbsError(f"no archive at {archive}")
    extract_archive(archive, dest)
    if os.path.lexists(dest / "python" / FILE_NAME):
        # A full archive is trusted no further than its PYTHON.json: `pbs link` makes the
        # same check before it reads any file the document names.
        load_python_json(dest / "python", archive.name)
    for prefix in (dest / "python" / "install", dest / "python"):
        if (prefix / "bin" / "python3").exists():
            break
    else:
        raise PbsError(
            f"{archive.name} is not a pbs archive: it has neither python/install/bin/python3 "
            "nor python/bin/python3"
        )
    stdlibs = [p for p in (prefix / "lib").glob("python3.*") if (p / "os.py").is_file()]
    if len(stdlibs) != 1:
        raise PbsError(f"{archive.name}: expected one standard library in {prefix / 'lib'}")
    work = dest / "scratch"
    (work / "home").mkdir(parents=True)
    return InstallTree(prefix=prefix, stdlib=stdlibs[0], work=work, log=log, runner=runner)


def host_tool(name: str, first: Path | None = None) -> str | None:
    """A host program the checks need (openssl, cc, Xvfb, chroot), looked up on PATH (after
    `first`, where given)."""
    path = os.environ.get("PATH", os.defpath)
    return shutil.which(name, path=f"{first}{os.pathsep}{path}" if first else path)
