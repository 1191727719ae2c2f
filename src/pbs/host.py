"""The Debian packages the build machine needs: the toolchain's, those of a foreign target
(its glibc start files, its emulator), and the tools of the checks `pbs build` runs on its
archives (a check whose tool is missing would be skipped, and the archives published
unchecked). pbs installs what is missing when it can (root, apt-get) and otherwise stops,
naming the command that would. A foreign target's emulator must also be registered with the
kernel's binfmt_misc, which pbs does as systemd-binfmt would at boot.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from pbs.catalog import Catalog, Target
from pbs.errors import UsageError
from pbs.runner import Runner

_INSTALLED = "ii"  # dpkg's status abbreviation: wanted install, installed
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# apt-get as pbs runs it: a concurrent install (another pbs run, a benchmark's reference build)
# holds dpkg's lock for a while, and is waited for rather than failed on.
APT_GET = ("apt-get", "-o", "DPkg::Lock::Timeout=900")
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# Where Debian's qemu-user-static puts the binfmt_misc registration of each emulator.
BINFMT_CONF_DIR = Path("/usr/lib/binfmt.d")


def needed_packages(catalog: Catalog, target: Target, *, checks: bool) -> tuple[str, ...]:
    """The toolchain's packages for `target` (its emulator runs the toolchain's own check),
    and with `checks` those of the archive checks."""
    emulator = target.emulator.packages if target.emulator else ()
    checks_tools = catalog.target_checks.get(target.triple)
    target_checks = checks_tools.packages if checks_tools else ()
    extra = (*catalog.host.packages, *target_checks) if checks else ()
    return tuple(dict.fromkeys((*catalog.toolchain.debian_packages, *target.sysroot.packages,
                                *emulator, *extra)))


def ensure_emulation(target: Target, *, runner: Runner, log: Path) -> list[str]:
    """Set up the emulator of a foreign `target` where it is not; returns what was done.

    Programs the emulated ones start (subprocesses, venvs, regrtest's workers) are foreign too:
    only the kernel can hand them to the emulator (binfmt_misc), and some start them with an
    empty environment, so qemu must find the target's glibc where it looks by default.
    """
    emulator = target.emulator
    if emulator is None:
        return []
    entry = BINFMT_DIR / emulator.binfmt
    link = Path(emulator.interp_prefix)
    registered = entry.is_file() and entry.read_text().startswith("enabled")
    linked = link.resolve() == Path(emulator.ld_prefix).resolve()
    if registered and linked:
        return []
    conf = BINFMT_CONF_DIR / f"{emulator.binfmt}.conf"
    register = BINFMT_DIR / "register"
    commands = [f"mount -t binfmt_misc binfmt_misc {BINFMT_DIR}", f"cat {conf} > {register}",
                f"mkdir -p {link.parent}", f"ln -sfn {emulator.ld_prefix} {link}"]
    if os.geteuid() != 0:
        raise UsageError(f"{target.triple} programs run under qemu, which is not set up; as "
                         f"root: {' && '.join(commands)}")
    done = []
    if not linked:
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(emulator.ld_prefix)
        done.append(f"linked {link} to {emulator.ld_prefix}")
    if not registered:
        if not conf.is_file():
            raise UsageError(f"{conf} is missing: is {' '.join(emulator.packages)} installed?")
        if not register.exists():
            runner(["mount", "-t", "binfmt_misc", "binfmt_misc", BINFMT_DIR],
                   step="mount binfmt_misc", log=log)
        if entry.exists():
            entry.write_text("-1")  # a disabled entry of that name: replaced by the package's
        register.write_text(conf.read_text().strip())
        done.append(f"registered {emulator.binfmt} with binfmt_misc")
    return done


def ensure_packages(packages: Sequence[str], *, runner: Runner, log: Path) -> list[str]:
    """Install those of `packages` that are missing; returns them (empty when none were)."""
    if shutil.which("dpkg-query") is None:
        raise UsageError(f"pbs needs these Debian packages, and this machine has no dpkg: "
                         f"{' '.join(packages)}")
    missing = [package for package in packages if not _installed(package, runner, log)]
    if not missing:
        return []
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise UsageError(f"missing Debian packages: {' '.join(missing)}; install them as root: "
                         f"apt-get update && {shlex.join(command)}")
    runner([*APT_GET, "update"], step="apt-get update", log=log, env=_APT_ENV)
    runner([*APT_GET, *command[1:]], step=f"install {' '.join(missing)}", log=log, env=_APT_ENV)
    return missing


def _installed(package: str, runner: Runner, log: Path) -> bool:
    result = runner(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package],
                    step=f"is {package} installed", log=log, check=False)
    return result.returncode == 0 and result.output.strip() == _INSTALLED
