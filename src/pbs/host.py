"""The Debian packages the build machine needs: the toolchain's, and the tools of the checks
`pbs build` runs on its archives (a check whose tool is missing would be skipped, and the
archives published unchecked). pbs installs what is missing when it can (root, apt-get) and
otherwise stops, naming the command that would.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from pbs.catalog import Catalog
from pbs.errors import UsageError
from pbs.runner import Runner

_INSTALLED = "ii"  # dpkg's status abbreviation: wanted install, installed
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def needed_packages(catalog: Catalog, *, checks: bool) -> tuple[str, ...]:
    """The toolchain's packages, and with `checks` those of the archive checks."""
    extra = catalog.host.packages if checks else ()
    return tuple(dict.fromkeys((*catalog.toolchain.debian_packages, *extra)))


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
    runner(["apt-get", "update"], step="apt-get update", log=log, env=_APT_ENV)
    runner(command, step=f"install {' '.join(missing)}", log=log, env=_APT_ENV)
    return missing


def _installed(package: str, runner: Runner, log: Path) -> bool:
    result = runner(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package],
                    step=f"is {package} installed", log=log, check=False)
    return result.returncode == 0 and result.output.strip() == _INSTALLED
