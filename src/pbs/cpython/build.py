"""Configure, compile and install CPython against the static dependencies.

Choices that shape the result (each measured or required, see ../shared/toolchain.md):
- Every stdlib extension module is built into the core (configure's MODULE_BUILDTYPE=static),
  except test-only modules, which stay shared objects in lib-dynload.
- `--enable-shared` gives embedders a libpython.so, while the `python` executable links the
  same objects statically (faster: no PLT indirection for the interpreter's own calls).
- `-Wl,--exclude-libs,ALL`: symbols of the static dependencies (OpenSSL, SQLite, …) are not
  exported from `python` or libpython, so they cannot clash with a library an extension loads.
- The prefix is `/install`, installed with DESTDIR; the tree is made relocatable afterwards.
- For a foreign target, configure runs in cross mode with the build machine's interpreter of
  the same version (`--with-build-python`); the built interpreter, which later stages run,
  runs under the target's emulator.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pbs.catalog import BoltSpec, BuildOptions, Python, SourcePatch
from pbs.cpython import bolt
from pbs.cpython.bolt import BoltTools, optimize_binary
from pbs.cpython.compiler import CPythonCompiler
from pbs.cpython.patches import apply_patches
from pbs.cpython.modules import (
    ModuleTable,
    module_states,
    read_module_table,
    setup_local,
    unbuilt_modules,
    with_setup_rules,
)
from pbs.errors import PbsError
from pbs.recipes.base import dependency_env, prefix_maps
from pbs.runner import CommandResult, Runner
from pbs.toolchain import Toolchain

INSTALL_PREFIX = "/install"
# Every ELF file of the distribution: relocations resolved at load and then read-only, and a
# stack that is never executable, whatever an object file asks for.
HARDENING_LDFLAGS = ("-Wl,-z,relro", "-Wl,-z,now", "-Wl,-z,noexecstack")
# The interpreter is a position-dependent executable, as Debian's is: a PIE of this size has
# ~70,000 relative relocations (CPython's static tables of pointers) to apply at every start,
# which made start-up slower than Debian's python3.11. Shared libraries stay position-independent.
INTERPRETER_LINK_FLAGS = ("-no-pie",)
# A +static build links every program it makes without any shared object (musl's libc.a).
STATIC_LINK_FLAGS = ("-static",)
# What the build records of its user's home (3.14's sysconfig vars and PYTHON.json list the
# `userbase`, ~/.local, recomputed at run time anyway): a home that names nobody's machine.
# Under /proc even root cannot create it, so a tool that writes to its home fails instead of
# leaving files on the machine (a root-created /nonexistent broke test_posixpath once).
NEUTRAL_HOME = "/proc/nonexistent"


class MissingModules(PbsError):
    """configure cannot build modules the distribution must have."""


@dataclass(kw_only=True)
class CPythonBuild:
    """One CPython compile: a writable unpacked source tree, the merged deps, a DESTDIR."""

    python: Python
    options: BuildOptions
    configure_options: tuple[str, ...]  # from the catalog, for these build options
    bolt: BoltSpec | None  # set if the interpreter is BOLT-optimized after the build
    patches: tuple[SourcePatch, ...]  # edits of the sources, made before configure
    excluded_modules: frozenset[str]
    setup_rules: tuple[str, ...] | None  # see Catalog.setup_rules_for
    toolchain: Toolchain
    compiler: CPythonCompiler
    source_dir: Path
    deps_prefix: Path  # the merged dependencies' /deps tree
    work_root: Path  # a directory holding source_dir and deps_prefix: mapped away in debug info
    destdir: Path
    jobs: int
    log: Path
    runner: Runner
    build_date: int  # seconds since 1970: what __DATE__ and __TIME__ say (sys.version)
    build_python: Path | None = None  # the build machine's interpreter, for a cross build

    @property
    def install_dir(self) -> Path:
        return self.destdir / INSTALL_PREFIX.lstrip("/")

    @property
    def compiler_bin(self) -> Path:
        return self.work_root / "bin"

    @cached_property
    def excluded(self) -> frozenset[str]:
        """The modules configure must not build: the catalog's exclusions, and for a +static
        build the test-only modules, which are shared objects by nature (a static interpreter
        loads none, and built in they break _freeze_module's link)."""
        if not self.options.static:
            return self.excluded_modules
        return self.excluded_modules | set(read_module_table(self.source_dir).test)

    def env(self) -> dict[str, str]:
        deps = self.deps_prefix
        excluded = {f"py_cv_module_{name}": "n/a" for name in sorted(self.excluded)}
        maps = prefix_maps(self.toolchain, self.work_root)
        return {
            **self.compiler.env(self.compiler_bin),
            "CFLAGS": " ".join((*maps, *self.toolchain.target.cflags, *self.compiler.spec.cflags)),
            "CPPFLAGS": f"-I{deps / 'include'} -I{deps / 'include' / 'ncursesw'}",
            # The maps again: gcc's LTO compiles at link time, naming the directory it runs in.
            "LDFLAGS": " ".join((f"-L{deps / 'lib'}", "-Wl,--exclude-libs,ALL", *HARDENING_LDFLAGS,
                                 *(STATIC_LINK_FLAGS if self.options.static else ()), *maps)),
            # Static libraries built for glibc 2.17 need libpthread/libdl named explicitly.
            "LIBS": "-lpthread -ldl -lm",
            # --static: the dependencies' private libraries (Libs.private) are needed too.
            "PKG_CONFIG": "pkg-config --static",
            **dependency_env(deps),
            # Compilers take __DATE__/__TIME__ (Modules/getbuildinfo.c) from it.
            "SOURCE_DATE_EPOCH": str(self.build_date),
            "MODULE_BUILDTYPE": "static",
            "HOME": NEUTRAL_HOME,
            **excluded,
            **self.toolchain.target.emulator_env,
        }

    def run(self, command: Sequence[str | Path], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, check: bool = True) -> CommandResult:
        return self.runner(command, step=f"build cpython {self.python.version}", log=self.log,
                           cwd=cwd or self.source_dir, env={**self.env(), **(env or {})},
                           check=check)

    # -- the stages, in order ----------------------------------------------------------------

    def build(self) -> ModuleTable:
        self.compiler.install(self.compiler_bin)
        table = self.configure()
        self.run(["make", f"-j{self.jobs}"])
        if self.bolt:
            self._optimize_with_bolt(self.bolt)
        # The interpreter is newer than everything it is linked from: install does not relink.
        self.run(["make", "install", f"DESTDIR={self.destdir}"])
        # What the full archive ships for relinking is linked by any compiler, not only this one.
        if command := self.compiler.plain_objects_command(self.source_dir, self.install_dir):
            self.run(command)
        return table

    def configure(self) -> ModuleTable:
        apply_patches(self.source_dir, self.patches)
        cross = [f"--with-build-python={self.build_python}"] if self.build_python else []
        self.run([
            "./configure",
            f"--prefix={INSTALL_PREFIX}",
            f"--build={self.toolchain.build_triple}",
            f"--host={self.toolchain.target.host_triple}",
            *cross,
            # libpython.so for embedders; a +static build has only libpython.a.
            *(() if self.options.static else ("--enable-shared",)),
            "--enable-loadable-sqlite-extensions",
            "--with-system-libmpdec",
            "--with-readline=editline",
            f"--with-openssl={self.deps_prefix}",
            "--with-dbmliborder=bdb",
            "--with-ensurepip=no",
            *self.configure_options,
        ])
        table = read_module_table(self.source_dir)
        if self.setup_rules is not None:
            table = with_setup_rules(table, self.setup_rules)
        unbuilt = unbuilt_modules(
            table, module_states(self.source_dir / "Makefile"), set(self.excluded)
        )
        if unbuilt:
            raise MissingModules(
                f"CPython {self.python.version} would be built without these extension modules: "
                f"{', '.join(unbuilt)}; see {self.log}"
            )
        self._link_interpreter_statically()
        add_interpreter_link_flags(
            self.source_dir / "Makefile.pre",
            (*INTERPRETER_LINK_FLAGS, *self.compiler.spec.interpreter_ldflags,
             *(bolt.LINK_FLAGS if self.bolt else ())),
        )
        (self.source_dir / "Modules" / "Setup.local").write_text(
            setup_local(self.source_dir / "Modules" / "Setup.stdlib", table, self.setup_rules,
                        self.excluded)
        )
        # Regenerate the Makefile from the edited Makefile.pre and the new Setup.local.
        self.run(["make", "Makefile"])
        return table

    def _link_interpreter_statically(self) -> None:
        """Make `python` (and the test embedder) link libpython's objects, not libpython.so;
        give libpython3.so a run path to the libpython it forwards to.

        The variables are edited in Makefile.pre, the template makesetup turns into the
        Makefile, so the change survives the Makefile's regeneration.
        """
        makefile_pre = self.source_dir / "Makefile.pre"
        text = makefile_pre.read_text()
        replacements = {
            "LINK_PYTHON_DEPS": "$(LIBRARY_DEPS) $(LIBRARY_OBJS)",
            "LINK_PYTHON_OBJS": "$(LIBRARY_OBJS)",
        }
        for name, value in replacements.items():
            text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
            if count != 1:
                raise PbsError(f"{makefile_pre} does not define {name} once; cannot link statically")
        # libpython3.so (the stable ABI's name) needs libpython3.X.so beside it: found there
        # wherever the tree is, through $ORIGIN.
        text, count = re.subn(r"^(libpython3\.so:.*\n\t.* -Wl,-h\$@) ", r"\1 '-Wl,-rpath,$$ORIGIN' ",
                              text, flags=re.MULTILINE)
        if count != 1:
            raise PbsError(f"{makefile_pre} has no single libpython3.so rule to give a run path")
        makefile_pre.write_text(text)

    def _optimize_with_bolt(self, spec: BoltSpec) -> None:
        """BOLT the interpreter, trained by the task PGO trained with."""
        task = self.make_variables(["PROFILE_TASK"])["PROFILE_TASK"]
        interpreter = self.source_dir / "python"
        llvm_bin = self.toolchain.llvm_bin
        optimize_binary(
            interpreter, [interpreter, *shlex.split(task)], spec=spec,
            tools=BoltTools(llvm_bolt=self.toolchain.tool("bolt"),
                            merge_fdata=llvm_bin / "merge-fdata",
                            objcopy=self.toolchain.tool("objcopy")),
            run=self.run, work_dir=self.source_dir,
        )

    def make_variables(self, names: Sequence[str]) -> dict[str, str]:
        """The expanded values of Makefile variables, as make itself computes them."""
        rule = "pbs-print-variables: ; $(foreach v,$(PBS_VARIABLES),$(info $(v)=$($(v))))@:"
        output = self.run(
            ["make", "--no-print-directory", "-s", f"--eval={rule}", "pbs-print-variables",
             f"PBS_VARIABLES={' '.join(names)}"]
        ).output
        values: dict[str, str] = {}
        for line in output.splitlines():
            name, sep, value = line.partition("=")
            if sep and name in names:
                values[name] = value.strip()
        missing = [name for name in names if name not in values]
        if missing:
            raise PbsError(f"make did not report {', '.join(missing)}; see {self.log}")
        return values


def add_interpreter_link_flags(makefile_pre: Path, flags: Sequence[str]) -> None:
    """Add linker flags to the rule that links `python` (not to LDFLAGS: those are recorded in
    sysconfig and would reach every extension module users build)."""
    text = makefile_pre.read_text()
    text, count = re.subn(r"^(\$\(BUILDPYTHON\):.*\n\t\$\(LINKCC\)) ",
                          lambda m: f"{m[1]} {' '.join(flags)} ", text, flags=re.MULTILINE)
    if count != 1:
        raise PbsError(f"{makefile_pre} has no single $(BUILDPYTHON) link rule to add "
                       f"{' '.join(flags)} to")
    makefile_pre.write_text(text)
