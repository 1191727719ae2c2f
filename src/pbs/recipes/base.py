"""What a recipe is, and the context it builds in: one shared autotools/make runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pbs.catalog import Source
from pbs.runner import CommandResult, Runner
from pbs.toolchain import Toolchain

# Every dependency installs below this prefix inside its output (with DESTDIR), so that its
# pkg-config files and headers name no build-machine path; consumers set a pkg-config sysroot.
PREFIX = "/deps"
# -O3, as CPython's own code is built: SQLite, libmpdec, zlib and the rest run inside the
# interpreter's benchmarks (sqlite_synth, telco, …). -fPIC: they are linked into libpython.so too.
OPTIMIZE = ("-O3", "-fPIC")
# What build-machine directories become in __FILE__ strings and debug information.
NEUTRAL_BUILD_DIR = "/build"
NEUTRAL_TOOLCHAIN_DIR = "/toolchain"
# Tools that stamp dates use this instead of the clock: py_compile then writes hash-checked
# .pyc files, which are reproducible.
SOURCE_DATE_EPOCH = "0"


def dependency_env(deps_prefix: Path) -> dict[str, str]:
    """How any build finds the merged dependencies: only their pkg-config files, never the
    host's, with their /deps prefix mapped onto the merged tree; and reproducible output."""
    pkgconfig = [deps_prefix / "lib" / "pkgconfig", deps_prefix / "share" / "pkgconfig"]
    return {
        "PKG_CONFIG_LIBDIR": os.pathsep.join(str(p) for p in pkgconfig),
        "PKG_CONFIG_PATH": "",
        "PKG_CONFIG_SYSROOT_DIR": str(deps_prefix.parent),
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
    }


def prefix_maps(toolchain: Toolchain, work_root: Path) -> tuple[str, ...]:
    """Compiler flags that keep build-machine paths out of __FILE__ and debug information."""
    return (
        f"-ffile-prefix-map={work_root}={NEUTRAL_BUILD_DIR}",
        f"-ffile-prefix-map={toolchain.root}={NEUTRAL_TOOLCHAIN_DIR}",
        # The compiler's own headers (stddef.h, …) live beside LLVM's binaries.
        f"-ffile-prefix-map={toolchain.llvm_bin.parent}={NEUTRAL_TOOLCHAIN_DIR}/llvm",
    )


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How to build one dependency: its catalog source, what it needs, and its steps."""

    name: str
    source: str  # a source name in the catalog
    deps: tuple[str, ...] = ()
    build: Callable[[BuildContext], None]


@dataclass(kw_only=True)
class BuildContext:
    """Everything a recipe's build function may use; paths are fresh for this build."""

    recipe: Recipe
    source: Source
    toolchain: Toolchain
    source_dir: Path  # the unpacked source root, writable
    destdir: Path  # install with DESTDIR=destdir; files land in destdir/deps/…
    deps_root: Path  # every dependency's output merged: deps_root/deps/{include,lib}
    work_root: Path  # the staging directory holding all of the above
    jobs: int
    log: Path
    runner: Runner
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> Path:
        """The installed tree of this build (destdir + PREFIX)."""
        return self.destdir / PREFIX.lstrip("/")

    @property
    def deps_prefix(self) -> Path:
        return self.deps_root / PREFIX.lstrip("/")

    def env(self) -> dict[str, str]:
        return {
            **self.toolchain.env(),
            "CFLAGS": self.cflags(),
            "CPPFLAGS": f"-I{self.deps_prefix / 'include'}",
            "LDFLAGS": f"-L{self.deps_prefix / 'lib'}",
            **dependency_env(self.deps_prefix),
            **self.extra_env,
        }

    def cflags(self, *extra: str) -> str:
        """OPTIMIZE, the target's flags, `extra`, and the mapping of build paths out of the
        objects."""
        return " ".join((*OPTIMIZE, *self.toolchain.target.cflags, *extra,
                         *prefix_maps(self.toolchain, self.work_root)))

    def run(
        self, command: Sequence[str | Path], *, cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        return self.runner(
            command,
            step=f"build {self.recipe.name}",
            log=self.log,
            cwd=cwd or self.source_dir,
            env={**self.env(), **(env or {})},
        )

    def configure(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None,
        script: str = "./configure",
    ) -> None:
        """Run an autoconf configure script (`script`, relative to `cwd`) for a static,
        position-independent library."""
        self.run(
            [
                script,
                f"--prefix={PREFIX}",
                f"--build={self.toolchain.build_triple}",
                f"--host={self.toolchain.target.host_triple}",
                "--enable-static",
                "--disable-shared",
                *args,
            ],
            env=env,
            cwd=cwd,
        )

    def make(self, *targets: str, cwd: Path | None = None) -> None:
        self.run(["make", f"-j{self.jobs}", *targets], cwd=cwd)

    def make_install(self, *targets: str, cwd: Path | None = None) -> None:
        self.run(["make", f"DESTDIR={self.destdir}", *(targets or ("install",))], cwd=cwd)

    def autotools(self, *configure_args: str) -> None:
        """configure, make, make install: what most libraries need and nothing more."""
        self.configure(*configure_args)
        self.make()
        self.make_install()

    def install_files(self, files: Mapping[str, Sequence[str]]) -> None:
        """Copy files from the source tree: {"include": ["bzlib.h"], "lib": ["libbz2.a"]}."""
        for subdir, names in files.items():
            target = self.prefix / subdir
            target.mkdir(parents=True, exist_ok=True)
            for name in names:
                shutil.copy2(self.source_dir / name, target / Path(name).name)

    def install_debian_files(self, *subdirs: str) -> None:
        """Copy directories of an unpacked Debian binary package (rooted at usr/) into the
        prefix, and point its pkg-config files at the prefix instead of /usr."""
        for subdir in subdirs:
            shutil.copytree(self.source_dir / subdir, self.prefix / subdir, dirs_exist_ok=True)
        for pc in self.prefix.rglob("*.pc"):
            pc.write_text(pc.read_text().replace("prefix=/usr\n", f"prefix={PREFIX}\n"))

    def write_pkgconfig(self, name: str, *, version: str, libs: str, description: str) -> None:
        """A pkg-config file for libraries whose own build system does not write one."""
        pkgconfig = self.prefix / "lib" / "pkgconfig"
        pkgconfig.mkdir(parents=True, exist_ok=True)
        (pkgconfig / f"{name}.pc").write_text(
            f"prefix={PREFIX}\n"
            "libdir=${prefix}/lib\n"
            "includedir=${prefix}/include\n\n"
            f"Name: {name}\nDescription: {description}\nVersion: {version}\n"
            f"Libs: -L${{libdir}} {libs}\nCflags: -I${{includedir}}\n"
        )
