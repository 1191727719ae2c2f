"""The C compiler of CPython's own code: the toolchain's clang, or the host's gcc.

The catalog chooses it per CPython version (options.toml). The dependencies are always built by
the toolchain's clang into plain static objects, which either compiler links. gcc runs over the
toolchain's glibc sysroot, with the sysroot's start files (`-B`; the host's crt1.o would need
the host's glibc) and without Debian's default `--as-needed` (it dropped libpthread/libdl
named before the static OpenSSL that needs them). Its wrapper is written into the build's own
directory, not the toolchain's, so that adding gcc left every clang build's cache key alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pbs.catalog import CompilerSpec
from pbs.errors import PbsError
from pbs.runner import Runner
from pbs.toolchain import Toolchain, ToolchainMissing

GCC_TOOLS = {"CC": "gcc", "AR": "gcc-ar", "NM": "gcc-nm", "RANLIB": "gcc-ranlib"}
# gcc's LTO objects carry its intermediate code beside the machine code ("fat" objects). Only
# this very gcc version can read it, and its streams name the directory each file was compiled
# in, whatever -ffile-prefix-map says.
GCC_LTO_SECTIONS = (".gnu.lto_*", ".gnu.debuglto_*")


@dataclass(frozen=True, kw_only=True)
class CPythonCompiler:
    """The compiler CPython's configure and make are given."""

    spec: CompilerSpec
    toolchain: Toolchain
    identity: str  # the compiler's version line, with the toolchain's: keys the CPython step

    def env(self, bin_dir: Path) -> dict[str, str]:
        """configure/make's compiler variables, with gcc's wrapper in `bin_dir`."""
        env = self.toolchain.env()
        if self.spec.name != "gcc":
            return env
        tools = {variable: _host_tool(name) for variable, name in GCC_TOOLS.items()}
        return {**env, **tools, "CC": str(self._gcc_wrapper(bin_dir))}

    def install(self, bin_dir: Path) -> None:
        """Write the compiler wrapper env() names, if the compiler needs one."""
        if self.spec.name != "gcc":
            return
        wrapper = self._gcc_wrapper(bin_dir)
        libdir = self.toolchain.sysroot_libdir
        bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper.write_text(
            "#!/bin/sh\n"
            f'exec {_host_tool("gcc")} --sysroot={self.toolchain.sysroot} -B{libdir} -L{libdir} '
            '-Wl,--no-as-needed "$@"\n'
        )
        wrapper.chmod(0o755)

    def plain_objects_command(self, *roots: Path) -> list[str | Path] | None:
        """A command that leaves the object files and static libraries under `roots` with
        machine code only, or None if the compiler's objects are plain already."""
        if self.spec.name != "gcc":
            return None
        removals = [f"--remove-section={pattern}" for pattern in GCC_LTO_SECTIONS]
        return ["find", *roots, "(", "-name", "*.o", "-o", "-name", "*.a", ")", "-type", "f",
                "-exec", self.toolchain.tool("objcopy"), "--wildcard", *removals, "{}", ";"]

    def _gcc_wrapper(self, bin_dir: Path) -> Path:
        # CPython's configure takes its gcc PGO/LTO flags only if CC's name contains "gcc".
        return bin_dir / f"{self.toolchain.target.triple}-gcc"


def select_compiler(spec: CompilerSpec, toolchain: Toolchain, log: Path,
                    runner: Runner) -> CPythonCompiler:
    """The compiler `spec` names, asked for its version (which keys the build)."""
    if spec.name == "clang":
        return CPythonCompiler(spec=spec, toolchain=toolchain, identity=toolchain.identity)
    if spec.name != "gcc":
        raise PbsError(f"no recipe for the compiler '{spec.name}'; known: clang, gcc")
    version = runner([_host_tool("gcc"), "--version"], step="ask gcc its version",
                     log=log).output.splitlines()[0]
    return CPythonCompiler(spec=spec, toolchain=toolchain,
                           identity=f"{toolchain.identity} {version}")


def _host_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolchainMissing(f"{name} is missing; install it with: apt-get install gcc")
    return found
