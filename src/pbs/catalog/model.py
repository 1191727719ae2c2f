"""Value objects of the catalog: plain frozen dataclasses, no I/O."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from packaging.specifiers import SpecifierSet
from packaging.version import Version


@dataclass(frozen=True, kw_only=True)
class DebianLocation:
    """A file in Debian's archive: `file` in the pool directory of source package `package`.

    With a `version`, the file is looked up through the source indexes (which also know the
    security archive's layout); without one, or when the indexes no longer list it, it is
    fetched by its pool path.
    """

    package: str
    file: str
    version: str | None = None

    @property
    def pool_path(self) -> str:
        # Debian shards its pool by the first letter, or by "libX" for lib* packages.
        prefix = self.package[:4] if self.package.startswith("lib") else self.package[0]
        return f"pool/main/{prefix}/{self.package}/{self.file}"


@dataclass(frozen=True, kw_only=True)
class PyPILocation:
    """A release file on the Python package index, fetched through the user's pip configuration."""

    project: str
    version: str


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """One file that provides a source; every location of it holds the same bytes."""

    file: str
    sha256: str
    size: int | None = None
    urls: tuple[str, ...] = ()
    debian: DebianLocation | None = None
    pypi: PyPILocation | None = None

    @property
    def local_names(self) -> tuple[str, ...]:
        """Names under which a user may have put this file into a --source-dir."""
        names = [self.file]
        if self.debian and self.debian.file != self.file:
            names.append(self.debian.file)
        return tuple(names)


@dataclass(frozen=True, kw_only=True)
class Source:
    """A pinned release of one component."""

    name: str
    version: str
    role: str
    license: str
    license_files: tuple[str, ...]
    artifacts: tuple[Artifact, ...]
    requires_python: SpecifierSet = SpecifierSet()

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"

    def needed_by(self, python: Version) -> bool:
        return self.requires_python.contains(python, prereleases=True)


@dataclass(frozen=True, kw_only=True)
class Python:
    """A CPython release pbs builds."""

    version: Version

    @property
    def minor(self) -> str:
        return f"{self.version.major}.{self.version.minor}"

    def __str__(self) -> str:
        return str(self.version)


@dataclass(frozen=True, kw_only=True)
class GlibcSysroot:
    """How to assemble a target's glibc sysroot from zig's files."""

    zig_target: str
    include_dirs: tuple[str, ...]
    multiarch: str  # Debian's name of the library directory: usr/lib/<multiarch>
    crt_dir: str  # where the build machine keeps the target's glibc crti.o/crtn.o
    crt_package: str  # the Debian package that installs them
    compiler_rt: str  # whose compiler-rt clang links: "llvm", "debian" or "zig" (targets.toml)
    debian_arch: str | None  # Debian's name of the architecture, whose compiler-rt "debian" takes
    dynamic_linker: str
    libraries: tuple[str, ...]  # glibc's shared libraries, stubbed from zig's
    machine_flags: tuple[str, ...] = ()  # the instruction set: clang flags on every command
    zig_glibc: str | None = None  # zig's glibc release of the stubs, where it is not the floor
    zig_flags: tuple[str, ...] = ()  # what zig's link that builds the stubs needs

    @property
    def provides(self) -> tuple[str, ...]:
        """The shared libraries a program linked against this sysroot may need."""
        return (*self.libraries, self.dynamic_linker)

    @property
    def packages(self) -> tuple[str, ...]:
        """The Debian packages assembling it needs."""
        return (self.crt_package,)


@dataclass(frozen=True, kw_only=True)
class MuslSysroot:
    """How to build a target's musl sysroot: musl compiled from its catalogued source by the
    toolchain's clang, with zig's Linux kernel headers beside musl's own."""

    source: str  # the catalogued musl source
    clang_target: str  # clang's --target for the sysroot's programs
    kernel_headers: tuple[str, ...]  # zig's lib/libc/include directories copied into include/
    extra_headers: tuple[tuple[str, str], ...]  # (include/ path, zig lib/libc/include path)
    compiler_rt: str  # whose compiler-rt clang links: "llvm" (the installed one) or "debian"
    debian_arch: str | None  # Debian's name of the architecture, whose compiler-rt "debian" takes
    dynamic_linker: str  # PT_INTERP's file name in /lib: musl's libc.so under another name
    loader_provides: tuple[str, ...]  # the names the loader answers for itself (libc.so)
    packages: tuple[str, ...]  # the Debian packages building it needs

    @property
    def provides(self) -> tuple[str, ...]:
        return (*self.loader_provides, self.dynamic_linker)


@dataclass(frozen=True, kw_only=True)
class Emulator:
    """How the build machine runs a foreign target's programs: qemu-user through binfmt_misc."""

    program: str  # Debian's static qemu-user for the target's architecture
    binfmt: str  # its binfmt_misc entry (/proc/sys/fs/binfmt_misc/<binfmt>)
    ld_prefix: str  # the target's glibc on the build machine (Debian's libc6-<arch>-cross)
    cc: str  # Debian's cross compiler for the target: what `cc` is on a native machine
    packages: tuple[str, ...]  # the Debian packages that install all of the above

    @property
    def interp_prefix(self) -> str:
        """Where Debian's qemu looks for the target's libraries when not told (its configured
        /etc/qemu-binfmt/%M): pbs links ld_prefix there."""
        return f"/etc/qemu-binfmt/{self.binfmt.removeprefix('qemu-')}"

    @property
    def command(self) -> tuple[str, ...]:
        """The prefix that runs one target program."""
        return (self.program, "-L", self.ld_prefix)

    @property
    def env(self) -> dict[str, str]:
        """What lets binfmt_misc's qemu find the target's glibc, in programs started by others."""
        return {"QEMU_LD_PREFIX": self.ld_prefix}


@dataclass(frozen=True, kw_only=True)
class TargetChecks:
    """What the checks of a target's archives use on the build machine, where its own `cc`
    builds for another libc: the target's C compiler, and the Debian packages installing it.
    (Kept out of Target, whose every field keys the dependency steps, which these do not
    concern.)"""

    cc: str
    packages: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Target:
    """A platform pbs builds for: every fact of it pbs acts on (see targets.toml)."""

    triple: str
    arch: str
    host_triple: str  # autoconf's --build/--host
    platform: str  # the interpreter's sysconfig.get_platform()
    openssl_target: str  # OpenSSL's Configure name of the platform
    elf_machine: str  # e_machine of its ELF files, as pyelftools names it (EM_AARCH64)
    march: str | None  # the instruction set level its code is compiled for (-march=)
    emulator: Emulator | None  # runs its programs on the build machine; None when native
    libc: str
    libc_floor: str
    allowed_libraries: tuple[str, ...]
    ca_bundles: tuple[str, ...]  # system CA bundle files, tried in order at run time
    sysroot: GlibcSysroot | MuslSysroot

    @property
    def cflags(self) -> tuple[str, ...]:
        """Compiler flags of every C file built for the target, dependencies and CPython alike."""
        return (f"-march={self.march}",) if self.march else ()

    @property
    def emulator_command(self) -> tuple[str, ...]:
        """The prefix that runs one of the target's programs on the build machine."""
        return self.emulator.command if self.emulator else ()

    @property
    def emulator_env(self) -> dict[str, str]:
        """Environment under which the target's programs, and those they start, run here."""
        return self.emulator.env if self.emulator else {}


@dataclass(frozen=True, kw_only=True)
class IsaLevel:
    """An x86-64 micro-architecture level: the CPU features it adds to the levels before it."""

    name: str  # as -march names it: x86-64, x86-64-v2, …
    features: tuple[str, ...]  # iced-x86's CpuidFeature names


@dataclass(frozen=True, kw_only=True)
class DispatchedCode:
    """Functions that run only once CPUID said the CPU has their features (isa.toml)."""

    name: str
    functions: tuple[str, ...]  # fnmatch patterns of function names, without symbol suffixes
    features: frozenset[str]  # the features above a level they may use
    reason: str

    def accepts(self, function: str, features: frozenset[str]) -> bool:
        return features <= self.features and any(
            fnmatch.fnmatchcase(function, pattern) for pattern in self.functions)


@dataclass(frozen=True, kw_only=True)
class IsaSpec:
    """What `pbs validate` holds an x86-64 archive's machine code to (isa.toml)."""

    levels: tuple[IsaLevel, ...]  # in order, the baseline first
    same_below: dict[str, str]  # mnemonic -> why every level's CPUs run it
    symbol_suffixes: tuple[str, ...]  # regular expressions compilers and BOLT append to names
    unreachable_symbols: tuple[str, ...]  # fnmatch patterns: nothing after their bytes runs
    dispatched: tuple[DispatchedCode, ...]

    def rank(self, level: str) -> int:
        """The level's place among the levels: 0 for the baseline."""
        return [known.name for known in self.levels].index(level)

@dataclass(frozen=True, kw_only=True)
class CPythonTargetSettings:
    """How CPython itself is built for a target (kept out of Target, whose every field keys
    the dependency steps, which these do not concern)."""

    # configure's results for the target that a cross build cannot find out (NAME=value)
    cpython_configure: tuple[str, ...] = ()
    option_bases: tuple[str, ...] = ()  # the options bases it is built with; () for every one


@dataclass(frozen=True, kw_only=True)
class RegrtestPlan:
    """Which of CPython's own regression tests `pbs test` runs on a full archive."""

    selection: tuple[str, ...]  # test files that exercise the bundled libraries
    resources: tuple[str, ...]  # regrtest -u resources, in order ("all", "-network", ...)
    skip_files: dict[str, str]  # test file -> why it cannot pass here (regrtest -x)
    skip_tests: dict[str, str]  # test method or class name -> why (regrtest -i)
    skip_tests_python: dict[str, SpecifierSet]  # a skip -> the versions it applies to
    skip_tests_libc: dict[str, tuple[str, ...]] = field(default_factory=dict)  # -> its libcs
    # the skips that apply only where the interpreter runs under an emulator (qemu-user)
    skip_tests_emulated: frozenset[str] = frozenset()
    # a skip (file or test) -> the option parts a build must have for it (`static`)
    skip_options: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def files_skipped(self, options: tuple[str, ...]) -> tuple[str, ...]:
        """The test files not run for a build with these option parts."""
        return tuple(name for name in self.skip_files if self._for_options(name, options))

    def skip_patterns(self, version: Version, libc: str, options: tuple[str, ...], *,
                      emulated: bool = False) -> tuple[str, ...]:
        """The regrtest -i patterns for CPython `version` built against `libc` with these
        option parts, run natively or (`emulated`) under an emulator."""
        return tuple(name for name in self.skip_tests
                     if (name not in self.skip_tests_python
                         or self.skip_tests_python[name].contains(version, prereleases=True))
                     and libc in self.skip_tests_libc.get(name, (libc,))
                     and (emulated or name not in self.skip_tests_emulated)
                     and self._for_options(name, options))

    def _for_options(self, name: str, options: tuple[str, ...]) -> bool:
        return set(self.skip_options.get(name, ())) <= set(options)


@dataclass(frozen=True, kw_only=True)
class PythonConfigure:
    """Configure arguments every build of the matching CPython versions gets."""

    requires_python: SpecifierSet
    configure: tuple[str, ...]
    arches: tuple[str, ...] = ()  # the target architectures they are for; () for every one


@dataclass(frozen=True, kw_only=True)
class CompilerSpec:
    """A C compiler CPython can be built with (clang or gcc)."""

    name: str
    lto_configure: tuple[str, ...]  # configure arguments of a link-time optimized build
    cflags: tuple[str, ...]  # added to CPython's CFLAGS
    interpreter_ldflags: tuple[str, ...]  # added to the interpreter executable's link


@dataclass(frozen=True, kw_only=True)
class PythonCompiler:
    """The compiler of the matching CPython versions, for targets of the C libraries `libcs`
    (every one if empty)."""

    requires_python: SpecifierSet
    compiler: str
    libcs: tuple[str, ...] = ()

    def covers(self, version: Version, libc: str) -> bool:
        return (self.requires_python.contains(version, prereleases=True)
                and (not self.libcs or libc in self.libcs))


@dataclass(frozen=True, kw_only=True)
class BoltSpec:
    """Which builds BOLT optimizes, and llvm-bolt's arguments for each of its two runs."""

    bases: tuple[str, ...]
    arches: tuple[str, ...]
    compilers: tuple[str, ...]
    training_exit_codes: frozenset[int]  # those of a training run that ran its whole task
    skip_functions: tuple[str, ...]  # left alone by both runs
    instrument: tuple[str, ...]
    apply: tuple[str, ...]

    @property
    def skip_flag(self) -> str:
        return f"-skip-funcs={','.join(self.skip_functions)}"


@dataclass(frozen=True, kw_only=True)
class BoltOmission:
    """llvm-bolt `apply` flags left out for the CPython versions `requires_python` contains,
    in builds of the options bases `bases` (every BOLT-optimized base if the catalog names none)."""

    requires_python: SpecifierSet
    bases: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OptionsGrammar:
    """What may be written in --options: `[prefix+]base[+suffix]`."""

    bases: tuple[str, ...]
    default: str
    prefixes: dict[str, SpecifierSet]  # prefix -> Python versions that support it
    suffixes: dict[str, tuple[str, ...]]  # suffix -> libcs that support it
    configure: dict[str, tuple[str, ...]]  # base, prefix or suffix -> CPython configure args
    python_configure: tuple[PythonConfigure, ...]
    lto_bases: tuple[str, ...]
    full_regrtest_bases: tuple[str, ...]  # builds judged by CPython's whole test suite
    compilers: dict[str, CompilerSpec]
    python_compilers: tuple[PythonCompiler, ...]
    bolt: BoltSpec
    bolt_omissions: tuple[BoltOmission, ...]
    # Options suffixes whose builds are not BOLT-optimized. Kept out of BoltSpec, which keys the
    # CPython step of every build it optimizes.
    bolt_excluded_suffixes: tuple[str, ...]

    def spellings(self) -> list[str]:
        """Every base, and the shape of the prefixed/suffixed forms, for error messages."""
        forms = list(self.bases)
        forms += [f"{prefix}+<base>" for prefix in self.prefixes]
        forms += [f"<base>+{suffix}" for suffix in self.suffixes]
        return forms

    def compiler_for(self, version: Version, libc: str) -> CompilerSpec:
        """The compiler CPython `version` is built with against `libc` (the catalog check
        makes it one)."""
        names = [rule.compiler for rule in self.python_compilers if rule.covers(version, libc)]
        if len(names) != 1:
            raise ValueError(f"{len(names)} compilers are catalogued for CPython {version} "
                             f"on {libc}")
        return self.compilers[names[0]]

    def configure_args(self, options: BuildOptions, version: Version,
                       target: Target) -> tuple[str, ...]:
        parts = (*options.prefixes, options.base, *options.suffixes)
        lto = (self.compiler_for(version, target.libc).lto_configure
               if options.base in self.lto_bases else ())
        by_version = (arg for extra in self.python_configure
                      if extra.requires_python.contains(version, prereleases=True)
                      and (not extra.arches or target.arch in extra.arches)
                      for arg in extra.configure)
        return (*(arg for part in parts for arg in self.configure[part]), *lto, *by_version)

    def needs_full_regrtest(self, options: BuildOptions) -> bool:
        """Whether a build with `options` must pass CPython's whole test suite to be published."""
        return options.base in self.full_regrtest_bases

    def bolt_for(self, options: BuildOptions, target: Target,
                 version: Version) -> BoltSpec | None:
        """The BOLT settings if builds of CPython `version` with `options` for `target` are
        BOLT-optimized."""
        if (options.base in self.bolt.bases and target.arch in self.bolt.arches
                and self.compiler_for(version, target.libc).name in self.bolt.compilers
                and not set(options.suffixes) & set(self.bolt_excluded_suffixes)):
            omitted = {flag for omission in self.bolt_omissions
                       if omission.requires_python.contains(version, prereleases=True)
                       and options.base in omission.bases
                       for flag in omission.flags}
            if not omitted:
                return self.bolt
            return replace(self.bolt, apply=tuple(f for f in self.bolt.apply if f not in omitted))
        return None


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """A parsed --options value."""

    base: str
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    @property
    def freethreaded(self) -> bool:
        return "freethreaded" in self.prefixes

    @property
    def static(self) -> bool:
        """One statically linked executable: no loader, no shared object."""
        return "static" in self.suffixes

    @property
    def parts(self) -> tuple[str, ...]:
        return (*self.prefixes, self.base, *self.suffixes)

    def __str__(self) -> str:
        return "+".join((*self.prefixes, self.base, *self.suffixes))


@dataclass(frozen=True, kw_only=True)
class DebianArchive:
    """Which parts of Debian's archive pbs consults (never the mirror host: apt config has it)."""

    suites: tuple[str, ...]
    security_suites: tuple[str, ...]
    components: tuple[str, ...]
    keyring: str


@dataclass(frozen=True, kw_only=True)
class ToolchainSpec:
    """The host compilers pbs drives and where they come from."""

    llvm_major: int
    debian_packages: tuple[str, ...]
    runtime_package: str  # of debian_packages, the one with compiler-rt (builtins, profile)
    debian: DebianArchive  # where a foreign architecture's build of runtime_package comes from
    python_package: str
    libc_compat: tuple[LibcCompat, ...]
    header_edits: tuple[HeaderEdit, ...]
    libc_patches: tuple[LibcPatch, ...]
    build_triple: str  # the build machine's autoconf name (its target's host_triple)


@dataclass(frozen=True, kw_only=True)
class LibcPatch:
    """A patch file, inside the catalogued source `patch_source`, applied (patch -p1) to the
    libc source `source` before the toolchain builds it."""

    source: str
    patch_source: str
    file: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class HeaderEdit:
    """An edit of a sysroot header: `find`, which occurs exactly once in it, becomes `replace`."""

    header: str
    find: str
    replace: str


@dataclass(frozen=True, kw_only=True)
class LibcCompat:
    """glibc functions newer than a floor that the toolchain's sysroot defines itself, from
    src/pbs/toolchain_compat/<name>.c; `gate`, if any, is the line of `header` that hides their
    declarations below release `glibc`."""

    name: str
    functions: tuple[str, ...]
    glibc: Version
    header: str | None
    gate: str | None


@dataclass(frozen=True, kw_only=True)
class InstallOnlySpec:
    """What install_only archives leave out of the install/ tree (release.toml)."""

    left_out_names: tuple[str, ...]  # fnmatch patterns of file or directory names, anywhere
    test_packages: tuple[PurePosixPath, ...]  # under lib/python3.X/
    test_extensions: frozenset[str]  # extension module names, as lib-dynload/NAME.*.so

    def leaves_out(self, path: PurePosixPath) -> bool:
        """Whether `path`, relative to install/, stays out of install_only (a directory with
        its whole subtree)."""
        if any(fnmatch.fnmatchcase(path.name, name) for name in self.left_out_names):
            return True
        parts = path.parts
        if len(parts) < 3 or parts[0] != "lib" or not parts[1].startswith("python"):
            return False
        if parts[2] == "lib-dynload" and len(parts) == 4:
            return parts[3].split(".", 1)[0] in self.test_extensions
        return any(parts[2 : 2 + len(test.parts)] == test.parts for test in self.test_packages)


@dataclass(frozen=True, kw_only=True)
class ReleaseSpec:
    """How archives are named in a release directory and listed for uv (release.toml)."""

    variant_parts: tuple[str, ...]  # option parts that name install_only archives
    optimization_order: tuple[str, ...]  # which build of a variant owns its install_only names
    index_flavors: tuple[str, ...]  # the flavors an index can list, the default first
    index_file: str
    uv_arch_families: dict[str, str]  # a triple's architecture -> uv's name, where they differ
    uv_variants: tuple[str, ...]
    install_only: InstallOnlySpec

    def variant(self, options: str) -> str:
        """The variant of a build's options, as its install_only names carry it ("" for none)."""
        return "+".join(part for part in options.split("+") if part in self.variant_parts)

    def optimization_rank(self, options: str) -> int:
        """Where a build with `options` stands among its variant's builds: 0 is first."""
        optimizations = "+".join(part for part in options.split("+")
                                 if part not in self.variant_parts)
        if not optimizations:
            return 0  # a variant whose base names it (debug) has only one build
        if optimizations not in self.optimization_order:
            return len(self.optimization_order)  # a name pbs never writes comes last
        return self.optimization_order.index(optimizations)


@dataclass(frozen=True, kw_only=True)
class HostSpec:
    """Debian packages the build machine needs besides the toolchain's (host.toml), and those
    pbs's own test suite needs besides."""

    packages: tuple[str, ...]
    test_packages: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SourcePatch:
    """An edit of CPython's sources: `find`, which occurs exactly once in `file`, becomes
    `replace`, for the versions `python` contains (and builds with every part of `options`, for
    targets of one of the C libraries `libc`)."""

    name: str
    file: str
    python: SpecifierSet
    find: str
    replace: str
    options: tuple[str, ...] = ()  # option parts (`static`) a build must have for the edit
    libc: tuple[str, ...] = ()  # the C libraries whose targets take the edit; () for every one


@dataclass(frozen=True, kw_only=True)
class ApiException:
    """Names of `module` (fnmatch patterns) a distribution may lack, for the versions `python`
    contains, on targets of the C library `libc` (None: every one) and of any architecture but
    `unless_arch` (a name only that architecture's kernel defines), and why."""

    module: str
    names: tuple[str, ...]
    python: SpecifierSet
    reason: str
    libc: str | None = None
    unless_arch: str | None = None

    def covers(self, module: str, name: str, version: Version, target: Target) -> bool:
        return (self.module == module and version in self.python
                and self.libc in (None, target.libc) and self.unless_arch != target.arch
                and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.names))


@dataclass(frozen=True, kw_only=True)
class ApiSpec:
    """The modules whose public names a distribution must share with a host-glibc build of the
    same CPython (api.toml), and the documented exceptions."""

    modules: tuple[str, ...]
    exceptions: tuple[ApiException, ...]

    def excepted(self, module: str, name: str, version: Version,
                 target: Target) -> ApiException | None:
        """The exception that lets `module` lack `name` in `version` on `target`, if any."""
        return next((e for e in self.exceptions if e.covers(module, name, version, target)),
                    None)
