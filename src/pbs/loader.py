"""Running a dynamic musl target's programs on a glibc build machine, installing nothing.

Such a program names musl's loader, /lib/ld-musl-<arch>.so.1, which a glibc machine does not
have: executed there it fails with "required file not found" (exit 127). configure's test
programs, make's `./python`, and every check of a built distribution must run it all the same.
`LoaderOverlay` runs each command in a private mount namespace (unshare(1), propagation
private) in which a read-only overlay lays a directory holding only the toolchain's loader over
/lib's real directory: the command and everything it starts see the loader; the host's mount
table never does, and the namespace, with its mount, ends with the command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbs.errors import PbsError
from pbs.runner import CommandResult, Runner

# Where the loader must appear; its real path is looked up when a command runs (merged-/usr
# systems make /lib a link to usr/lib).
LIB = Path("/lib")
# Mounts the overlay, then runs the command: "$1" the loader's directory, "$2" /lib's real path.
OVERLAY_SCRIPT = ('mount -t overlay -o "ro,lowerdir=$1:$2" pbs-loader "$2" && shift 2 && '
                  'exec "$@"')


@dataclass(frozen=True, kw_only=True)
class ToolchainLibc:
    """A target's C library that the build machine lacks (musl), as its toolchain provides it:
    the dynamic loader to lay over /lib, and a C compiler for that libc (the toolchain's) with
    the linker it runs (clang names the host's ld when asked, not the lld it uses)."""

    loader: Path
    cc: Path
    ld: Path


@dataclass(frozen=True, kw_only=True)
class LoaderOverlay:
    """A Runner that runs every command with `loader_dir`'s files (the loader) in /lib."""

    runner: Runner
    loader_dir: Path

    def prefix(self) -> tuple[str, ...]:
        """What runs a command in a namespace of its own, the overlay mounted."""
        lib = LIB.resolve()
        for path in (self.loader_dir, lib):
            # overlayfs splits its options at commas and its layers at colons.
            if {",", ":"} & set(str(path)):
                raise PbsError(f"cannot lay {path} over /lib: its path holds ',' or ':'")
        if os.geteuid() != 0:
            raise PbsError("running musl programs on this glibc machine needs root "
                           "(a private mount namespace laying musl's loader over /lib)")
        return ("unshare", "--mount", "--propagation", "private", "--",
                "sh", "-c", OVERLAY_SCRIPT, "sh", str(self.loader_dir), str(lib))

    def __call__(
        self,
        command: Sequence[str | Path],
        *,
        step: str,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> CommandResult:
        return self.runner([*self.prefix(), *command], step=step, log=log, cwd=cwd, env=env,
                           check=check)
