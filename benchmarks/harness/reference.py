"""The reference interpreter: CPython built the way the official docker `python` image builds it.

The recipe follows docker-library/python's Debian Dockerfile: host gcc, `--enable-shared
--enable-optimizations --with-lto`, Debian's hardening flags from `dpkg-buildflags`, frame
pointers on amd64/arm64, and a second link of `python` with an `$ORIGIN/../lib` run path.
The image also passes `--enable-experimental-jit=yes-off` on 3.14; pbs's issue defines the
reference without it (the JIT is off at run time either way).

The source is the catalogued tarball pbs itself builds from, fetched and hash-verified by pbs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pbs.cache import Cache, default_cache_root
from pbs.catalog import load_catalog
from pbs.host import APT_GET
from pbs.sources.extract import extract_archive, source_root
from pbs.runner import run

# What the docker image's build stage installs besides gcc (buildpack-deps plus its own list).
HOST_PACKAGES = (
    "gcc", "make", "dpkg-dev", "libssl-dev", "libffi-dev", "zlib1g-dev", "libbz2-dev",
    "liblzma-dev", "libsqlite3-dev", "libreadline-dev", "libncurses-dev", "uuid-dev", "tk-dev",
    "libgdbm-dev", "libgdbm-compat-dev", "libzstd-dev", "libbluetooth-dev",
)
# Bumped whenever the recipe below changes, so an old reference build is not reused.
RECIPE_REVISION = "1"
COMPLETE_MARKER = ".complete"


@dataclass(frozen=True, kw_only=True)
class ReferencePython:
    version: str
    prefix: Path

    @property
    def executable(self) -> Path:
        major_minor = ".".join(self.version.split(".")[:2])
        return self.prefix / "bin" / f"python{major_minor}"

    @property
    def built(self) -> str:
        """When the build finished (its marker's time, UTC): later runs reuse it."""
        mtime = (self.prefix / COMPLETE_MARKER).stat().st_mtime
        return datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")


def missing_host_packages() -> list[str]:
    missing = []
    for package in HOST_PACKAGES:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
        )
        if status.returncode != 0 or not status.stdout.endswith("installed"):
            missing.append(package)
    return missing


def install_host_packages(log: Path) -> None:
    missing = missing_host_packages()
    if missing:
        run([*APT_GET, "install", "-y", "--no-install-recommends", *missing],
            step="install the reference build's packages", log=log,
            env={"DEBIAN_FRONTEND": "noninteractive"})


def fetch_source(version: str, cache_dir: Path | None, log: Path) -> Path:
    """The verified CPython tarball of `version`, fetched into pbs's cache by `pbs fetch`."""
    catalog = load_catalog()
    source = catalog.python_source(catalog.python(version))
    command = [sys.executable, "-m", "pbs"]
    if cache_dir:
        command += ["--cache-dir", str(cache_dir)]
    run([*command, "fetch", "--python", version], step=f"fetch CPython {version}", log=log)
    artifact = source.artifacts[0]
    cache = Cache(cache_dir or default_cache_root())
    return cache.source_path(artifact.sha256, artifact.file)


def build_reference(version: str, work_dir: Path, *, jobs: int, cache_dir: Path | None,
                    log: Path) -> ReferencePython:
    """Build (or reuse) the docker-recipe CPython `version` under `work_dir`."""
    reference = ReferencePython(
        version=version, prefix=work_dir / f"docker-{version}-r{RECIPE_REVISION}"
    )
    if (reference.prefix / COMPLETE_MARKER).exists():
        return reference
    # An interrupted earlier build leaves a prefix without the marker: start over.
    shutil.rmtree(reference.prefix, ignore_errors=True)
    install_host_packages(log)
    tarball = fetch_source(version, cache_dir, log)
    build_root = work_dir / f"docker-{version}-build"
    shutil.rmtree(build_root, ignore_errors=True)
    source = source_root(extract_archive(tarball, build_root))

    step = f"docker-recipe build of CPython {version}"
    arch = _output(["dpkg", "--print-architecture"])
    gnu_type = _output(["dpkg-architecture", "--query", "DEB_BUILD_GNU_TYPE"])
    cflags = _output(["dpkg-buildflags", "--get", "CFLAGS"])
    ldflags = _output(["dpkg-buildflags", "--get", "LDFLAGS"])
    if arch in ("amd64", "arm64"):
        cflags += " -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer"
    elif arch != "i386":
        cflags += " -fno-omit-frame-pointer"
    env = {"CC": "gcc"}
    run(["./configure", f"--build={gnu_type}", f"--prefix={reference.prefix}",
         "--enable-loadable-sqlite-extensions", "--enable-optimizations",
         "--enable-option-checking=fatal", "--enable-shared", "--with-lto", "--with-ensurepip"],
        step=step, log=log, cwd=source, env=env)
    run(["make", f"-j{jobs}", f"EXTRA_CFLAGS={cflags}", f"LDFLAGS={ldflags}"],
        step=step, log=log, cwd=source, env=env)
    # The image relinks `python` so that it finds its own libpython, not a system one.
    (source / "python").unlink()
    run(["make", f"-j{jobs}", f"EXTRA_CFLAGS={cflags}",
         f"LDFLAGS={ldflags or '-Wl'},-rpath='$$ORIGIN/../lib'", "python"],
        step=step, log=log, cwd=source, env=env)
    run(["make", "install"], step=step, log=log, cwd=source, env=env)
    (reference.prefix / COMPLETE_MARKER).write_text(f"{version} recipe r{RECIPE_REVISION}\n")
    shutil.rmtree(build_root, ignore_errors=True)
    return reference


def _output(command: list[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C"}).stdout.strip()
