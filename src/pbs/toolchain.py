"""The compilers for a target: Debian's clang/lld/llvm over a glibc sysroot assembled from zig.

Why this pairing (measured in ../shared/toolchain.md): zig alone reaches the glibc floor but
ships no PGO runtime and refuses the linker flags BOLT needs; the host compiler alone links
against the host's glibc 2.36. Debian's clang-22 is the same LLVM as zig's, and with a sysroot
made of zig's glibc headers and symbol stubs it gives the floor, PGO, ThinLTO/LTO and
relocations for BOLT at once, and built CPython fastest.

The installed LLVM holds compiler-rt (the builtins and the PGO profile runtime) for x86 only.
For another architecture the toolchain carries, in a resource directory of its own beside
clang's headers, Debian's build of the same compiler-rt package and version for that
architecture (PGO included), or, where Debian builds none, zig's builtins (no PGO).

The sysroot and compiler wrappers are a cached step (pbs.steps.engine) whose key hashes every
input: compiler identity, zig version, the target's sysroot, the recipe in this module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.version import Version

from pbs.arfile import members
from pbs.buildpaths import BuildPath, excerpt, files_naming, machine_needles
from pbs.cache import Cache, key_of
from pbs.catalog import HeaderEdit, LibcCompat, MuslSysroot, Target, ToolchainSpec
from pbs.elf import max_glibc_version
from pbs.errors import PbsError
from pbs.loader import LoaderOverlay
from pbs.runner import Runner
from pbs.sources.fetch import Fetched
from pbs.sources.debian import DebianSource
from pbs.steps.engine import StepEngine

# The sources of the glibc functions newer than a floor that the sysroot defines (LibcCompat).
COMPAT_SOURCES = Path(__file__).parent / "toolchain_compat"
COMPAT_LIBRARY = "libpbs_libc_compat.a"
# A musl toolchain's directory holding its dynamic loader alone (pbs.loader lays it over /lib).
LOADER_DIR = "loader"
# clang's resource directory inside the toolchain, where compiler-rt comes from zig.
RESOURCE_DIR = "resource"
# zig's stub of the dynamic linker, renamed to the target's real soname in the sysroot.
ZIG_DYNAMIC_LINKER_STUB = "libld.so.2"
STARTUP_FILES = ("crt1.o", "Scrt1.o", "libc_nonshared.a")
# glibc's _init/_fini prologue and epilogue; they reference no versioned symbol, so the build
# machine's copies (its own, or a cross package's) serve any glibc floor of the architecture.
HOST_CRT_FILES = ("crti.o", "crtn.o")
ZIG_COMPILER_RT = "libcompiler_rt.a"
# What a target takes from Debian's compiler-rt package for its architecture, as (stem, suffix):
# the package names them <stem>-<arch><suffix> (in clang's name of the architecture: powerpc64le,
# armhf), once each, clang's per-target directory <stem><suffix>.
DEBIAN_RUNTIME_FILES = (("libclang_rt.builtins", ".a"), ("libclang_rt.profile", ".a"),
                        ("clang_rt.crtbegin", ".o"), ("clang_rt.crtend", ".o"))
# clang links these around every program when it uses compiler-rt. The code is compiled for
# .init_array, which needs neither, and lld defines __dso_handle: they are empty, as zig links
# glibc programs without any.
COMPILER_RT_CRT_FILES = ("clang_rt.crtbegin.o", "clang_rt.crtend.o")
# zig's compiler_rt also defines, weakly, C library functions (memcpy, strlen, sin, …) and
# glibc's fortify and stack-protector entry points, which a program must take from glibc; as
# an archive before libc on the link line it would provide them. Only compiler-rt's own
# (`__…`) stay global (llvm-objcopy --wildcard patterns; `!` excludes).
ZIG_BUILTIN_GLOBALS = ("__*", "!__*_chk", "!__chk_fail", "!__stack_chk_*")
PROBE_PROGRAM = """\
#include <math.h>
#include <pthread.h>
#include <stdio.h>
static void *work(void *arg) { return arg; }
int main(void) {
    pthread_t thread;
    pthread_create(&thread, 0, work, 0);
    pthread_join(thread, 0);
    printf("%.1f\\n", hypot(3.0, 4.0));
    return 0;
}
"""


class ToolchainMissing(PbsError):
    """A host package the toolchain needs is not installed; the message names the command."""


@dataclass(frozen=True, kw_only=True)
class Toolchain:
    """Ready-to-use compilers for one target. `identity` enters every build step's cache key."""

    target: Target
    root: Path
    identity: str
    description: str
    llvm_major: int
    llvm_version: str  # clang's full version, e.g. 22.1.8
    build_triple: str  # the build machine's autoconf name: configure's --build

    @property
    def llvm_bin(self) -> Path:
        return llvm_bin(self.llvm_major)

    @property
    def sysroot(self) -> Path:
        return self.root / "sysroot"

    @property
    def sysroot_libdir(self) -> Path:
        """The sysroot's libc (glibc's stubs, or musl) and start files."""
        if isinstance(self.target.sysroot, MuslSysroot):
            return self.sysroot / "lib"
        return self.sysroot / "usr" / "lib" / self.target.sysroot.multiarch

    def runner_for(self, runner: Runner) -> Runner:
        """What runs the commands of a build for the target, whose programs they run: for a
        musl target, `runner` with musl's loader laid over /lib (pbs.loader); else `runner`."""
        if isinstance(self.target.sysroot, MuslSysroot):
            return LoaderOverlay(runner=runner, loader_dir=self.root / LOADER_DIR)
        return runner

    @property
    def cc(self) -> Path:
        # CPython's configure takes its clang PGO/LTO paths only if CC's name contains "clang".
        return self.root / "bin" / f"{self.target.triple}-clang"

    def tool(self, name: str) -> Path:
        """An LLVM tool by short name: ar, nm, ranlib, objcopy, strip, profdata, bolt."""
        return self.llvm_bin / ("llvm-bolt" if name == "bolt" else f"llvm-{name}")

    def env(self) -> dict[str, str]:
        """Environment for configure/make: compiler and binary tools."""
        return {
            "CC": str(self.cc),
            "AR": str(self.tool("ar")),
            "NM": str(self.tool("nm")),
            "RANLIB": str(self.tool("ranlib")),
            "OBJCOPY": str(self.tool("objcopy")),
            "STRIP": str(self.tool("strip")),
            "LLVM_AR": str(self.tool("ar")),
            "LLVM_PROFDATA": str(self.tool("profdata")),
        }


def prepare_toolchain(
    spec: ToolchainSpec, target: Target, cache: Cache, runner: Runner,
    libc: Mapping[str, Fetched] | None = None,
) -> Toolchain:
    """The toolchain for `target`, generated into the cache on first use. A target whose libc
    is built from source (musl) needs `libc`: the fetched catalog.toolchain_sources(target),
    by name."""
    if isinstance(target.sysroot, MuslSysroot):
        # Imported here: the musl recipe builds on this module's pieces.
        from pbs.musl_sysroot import prepare_musl_toolchain
        return prepare_musl_toolchain(spec, target, cache, runner, libc or {})
    llvm = _installed_llvm_bin(spec)
    zig = _zig(spec)
    probe_log = cache.log("toolchain", "versions.log")
    clang_version, llvm_version, zig_version = compiler_versions(llvm, zig, runner, probe_log)
    host_crt = [Path(target.sysroot.crt_dir) / name for name in HOST_CRT_FILES]
    compat = libc_compat_for(spec, target)
    for path in host_crt:
        if not path.is_file():
            raise ToolchainMissing(f"{path} is missing; install it with: "
                                   f"apt-get install {target.sysroot.crt_package}")
    runtime = debian_runtime(spec, target, runner, probe_log)
    identity = key_of(
        clang_version,
        zig_version,
        target.triple,
        target.libc_floor,
        repr(target.sysroot),
        Path(__file__).read_text(),
        repr(compat),
        repr(spec.header_edits),
        repr(runtime),
        *(_compat_source(row).read_text() for row in compat),
        *(hashlib.sha256(p.read_bytes()).hexdigest() for p in host_crt),
    )
    step = ToolchainStep(
        name=f"toolchain-{target.triple}", key=identity,
        description=f"{clang_version}; glibc {target.libc_floor} sysroot from zig {zig_version}")
    engine = StepEngine(cache)
    toolchain = Toolchain(target=target, root=engine.output(step), identity=identity,
                          description=step.description, llvm_major=spec.llvm_major,
                          llvm_version=llvm_version,
                          build_triple=spec.build_triple)

    def build(work: Path, out: Path, log: Path) -> None:
        runtime_deb = None
        if runtime is not None:
            runtime_deb = DebianSource(spec.debian, cache, runner).download_package(
                runtime.package, runtime.version, runtime.arch, work)
        _assemble(out, zig, target, llvm, host_crt, runtime_deb, compat, spec.header_edits,
                  work, log, runner)
        _check(out, toolchain, compat, work, log, runner)
        _check_paths(out, [str(zig.parent), *machine_needles()])

    engine.run(step, build)
    return toolchain


def compiler_versions(llvm: Path, zig: Path, runner: Runner, log: Path) -> tuple[str, str, str]:
    """clang's version line (which names its build), its bare version (22.1.8), zig's version."""
    clang_version = runner([llvm / "clang", "--version"], step="ask clang its version",
                           log=log).output.splitlines()[0]
    llvm_version = runner([llvm / "clang", "-dumpversion"], step="ask clang its version",
                          log=log).output.strip()
    zig_version = runner([zig, "version"], step="ask zig its version", log=log).output.strip()
    return clang_version, llvm_version, zig_version


@dataclass(frozen=True, kw_only=True)
class DebianRuntime:
    """Debian's build of the toolchain's compiler-rt package for a target's architecture: the
    installed package's version, so that the runtime is that of the compiler."""

    package: str
    version: str
    arch: str


def debian_runtime(
    spec: ToolchainSpec, target: Target, runner: Runner, log: Path
) -> DebianRuntime | None:
    if target.sysroot.compiler_rt != "debian" or target.sysroot.debian_arch is None:
        return None
    version = runner(["dpkg-query", "-W", "-f=${Version}", spec.runtime_package],
                     step=f"ask dpkg the version of {spec.runtime_package}", log=log).output.strip()
    return DebianRuntime(package=spec.runtime_package, version=version,
                         arch=target.sysroot.debian_arch)


@dataclass(frozen=True, kw_only=True)
class ToolchainStep:
    name: str
    key: str
    description: str

    def record(self) -> dict[str, str]:
        return {"description": self.description}


def libc_compat_for(spec: ToolchainSpec, target: Target) -> tuple[LibcCompat, ...]:
    """The glibc functions `target`'s floor lacks, which its sysroot defines itself."""
    floor = Version(target.libc_floor)
    return tuple(row for row in spec.libc_compat if row.glibc > floor)


def llvm_bin(major: int) -> Path:
    """Where Debian's LLVM `major` keeps its programs."""
    return Path(f"/usr/lib/llvm-{major}/bin")


def _installed_llvm_bin(spec: ToolchainSpec) -> Path:
    binaries = llvm_bin(spec.llvm_major)
    needed = ["clang", "ld.lld", "llvm-ar", "llvm-profdata", "llvm-bolt"]
    missing = [name for name in needed if not (binaries / name).exists()]
    builtins = (binaries.parent / "lib" / "clang" / str(spec.llvm_major) / "lib" / "linux").glob(
        "libclang_rt.builtins-*.a"
    )
    if missing or not any(builtins):
        raise ToolchainMissing(
            f"LLVM {spec.llvm_major} is not fully installed (missing: "
            f"{', '.join(missing) or 'compiler-rt'}); install it with: "
            f"apt-get install {' '.join(spec.debian_packages)}"
        )
    return binaries


def _zig(spec: ToolchainSpec) -> Path:
    found = importlib.util.find_spec(spec.python_package)
    if found is None or found.origin is None:
        raise ToolchainMissing(
            f"the {spec.python_package} package is missing; install it with: "
            f"pip install {spec.python_package}"
        )
    return Path(found.origin).parent / "zig"


def _assemble(
    entry: Path,
    zig: Path,
    target: Target,
    llvm: Path,
    host_crt: list[Path],
    runtime_deb: Path | None,
    compat: tuple[LibcCompat, ...],
    header_edits: tuple[HeaderEdit, ...],
    staging: Path,
    log: Path,
    runner: Runner,
) -> None:
    spec = target.sysroot
    sysroot = entry / "sysroot"
    include = sysroot / "usr" / "include"
    for name in spec.include_dirs:
        shutil.copytree(zig.parent / "lib" / "libc" / "include" / name, include, dirs_exist_ok=True)
    _pin_glibc_minor(include / "features.h", target.libc_floor)
    for row in compat:
        _ungate(include, row)
    for edit in header_edits:
        _edit_header(include, edit)

    libdir = sysroot / "usr" / "lib" / spec.multiarch
    libdir.mkdir(parents=True)
    stubs = _zig_stubs(zig, target, staging, log, runner)
    for path in stubs:
        if path.name == ZIG_COMPILER_RT:
            continue
        name = spec.dynamic_linker if path.name == ZIG_DYNAMIC_LINKER_STUB else path.name
        if path.suffix == ".a":
            _renamed_archive(path, libdir / name, llvm / "llvm-ar", staging, log, runner)
        else:
            shutil.copyfile(path, libdir / name)
    for path in host_crt:
        shutil.copyfile(path, libdir / path.name)
    for library in spec.libraries:
        stem = library.split(".so")[0]
        if stem != "libc":
            (libdir / f"{stem}.so").symlink_to(library)

    resource_dir = ""
    if spec.compiler_rt != "llvm":
        runtime = add_resource_dir(entry / RESOURCE_DIR, spec.zig_target, llvm, log, runner)
        if runtime_deb is not None:
            add_debian_runtime(runtime, runtime_deb)
        else:
            builtins = next(path for path in stubs if path.name == ZIG_COMPILER_RT)
            _add_zig_builtins(runtime, builtins, target, llvm, staging, log, runner)
        resource_dir = f'-resource-dir="${{0%/*}}/../{RESOURCE_DIR}" '

    bin_dir = entry / "bin"
    bin_dir.mkdir()
    machine = "".join(f"{flag} " for flag in spec.machine_flags)
    wrapper = bin_dir / f"{target.triple}-clang"
    # The sysroot is found relative to the wrapper, so the toolchain directory can move.
    # Link-only flags on compile-only commands must not warn: configure scripts use -Werror.
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec {llvm / "clang"} --target={spec.zig_target} {machine}'
        '--sysroot="${0%/*}/../sysroot" '
        f"{resource_dir}"
        '--rtlib=compiler-rt --unwindlib=none -fuse-ld=lld -Qunused-arguments "$@"\n'
    )
    wrapper.chmod(0o755)

    _build_compat_library(wrapper, llvm, compat, libdir, staging, log, runner)
    # As glibc installs it: libc_nonshared.a supplies what the shared libc does not export; the
    # compat library what the floor's libc lacks. libc.so.6 comes first, so its own definitions
    # win wherever it has them.
    (libdir / "libc.so").write_text(f"GROUP ( libc.so.6 libc_nonshared.a {COMPAT_LIBRARY} "
                                    f"AS_NEEDED ( {spec.dynamic_linker} ) )\n")


def add_resource_dir(resource: Path, clang_target: str, llvm: Path, log: Path,
                     runner: Runner) -> Path:
    """clang's resource directory for `clang_target`, with LLVM's own headers (stddef.h,
    arm_neon.h, …); returns the directory where clang looks for the target's compiler-rt."""
    resource.mkdir()
    clang = [llvm / "clang", f"--target={clang_target}"]
    (resource / "include").symlink_to(_clang_resource_dir(llvm, runner, log) / "include")
    triple = runner([*clang, "-print-target-triple"], step="ask clang its name of the target",
                    log=log).output.strip()
    runtime = resource / "lib" / triple
    runtime.mkdir(parents=True)
    return runtime


def add_debian_runtime(runtime: Path, deb: Path) -> None:
    """compiler-rt's builtins, PGO profile runtime and start/end files from Debian's package for
    the target's architecture, under the names clang looks for in `runtime`."""
    found: dict[str, list[bytes]] = {f"{stem}{suffix}": [] for stem, suffix in DEBIAN_RUNTIME_FILES}
    (data,) = [member.data for member in members(deb) if member.name.startswith("data.tar")]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            name = PurePosixPath(member.name).name
            for stem, suffix in DEBIAN_RUNTIME_FILES:
                if (member.isfile() and name.startswith(f"{stem}-") and name.endswith(suffix)
                        and (file := tar.extractfile(member))):
                    found[f"{stem}{suffix}"].append(file.read())
    if wrong := sorted(name for name, copies in found.items() if len(copies) != 1):
        raise PbsError(f"{deb.name} does not hold exactly one copy of {', '.join(wrong)}")
    for name, (content,) in found.items():
        (runtime / name).write_bytes(content)


def _add_zig_builtins(
    runtime: Path, builtins: Path, target: Target, llvm: Path, staging: Path, log: Path,
    runner: Runner,
) -> None:
    """zig's compiler-rt builtins for `target`, and the empty start/end files clang links."""
    clang = [llvm / "clang", f"--target={target.sysroot.zig_target}"]
    # Without debug information, which names zig's installation.
    keep = [f"--keep-global-symbol={pattern}" for pattern in ZIG_BUILTIN_GLOBALS]
    runner([llvm / "llvm-objcopy", "--strip-debug", "--wildcard", *keep, builtins,
            runtime / "libclang_rt.builtins.a"], step="add zig's compiler-rt builtins", log=log)
    empty = staging / "empty.c"
    empty.write_text("")
    for name in COMPILER_RT_CRT_FILES:
        runner([*clang, "-c", empty, "-o", runtime / name], step=f"compile {name}", log=log)


def _clang_resource_dir(llvm: Path, runner: Runner, log: Path) -> Path:
    return Path(runner([llvm / "clang", "-print-resource-dir"],
                       step="ask clang for its resource directory", log=log).output.strip())


def _pin_glibc_minor(features_h: Path, floor: str) -> None:
    """zig passes __GLIBC_MINOR__ on its command line; a plain sysroot must define it."""
    minor = Version(floor).minor
    text = features_h.read_text()
    marker = "#define\t__GLIBC__\t2\n"
    if marker not in text:
        raise PbsError(f"{features_h}: zig's glibc headers changed; cannot pin __GLIBC_MINOR__")
    features_h.write_text(text.replace(marker, f"{marker}#define __GLIBC_MINOR__ {minor}\n", 1))


def _ungate(include: Path, row: LibcCompat) -> None:
    """Show a declaration zig's headers hide below the glibc release that added it."""
    if row.header is not None and row.gate is not None:
        _edit_header(include, HeaderEdit(
            header=row.header, find=f"{row.gate}\n",
            replace=f"#if 1 /* pbs: {COMPAT_LIBRARY} defines {row.name} */\n"))


def _edit_header(include: Path, edit: HeaderEdit) -> None:
    header = include / edit.header
    text = header.read_text()
    if text.count(edit.find) != 1:
        raise PbsError(f"{header}: zig's glibc headers changed; cannot find {edit.find.strip()!r}")
    header.write_text(text.replace(edit.find, edit.replace))


def _compat_source(row: LibcCompat) -> Path:
    return COMPAT_SOURCES / f"{row.name}.c"


def _build_compat_library(
    cc: Path,
    llvm: Path,
    compat: tuple[LibcCompat, ...],
    libdir: Path,
    staging: Path,
    log: Path,
    runner: Runner,
) -> None:
    """One archive member per source, so that a link takes only what it calls; no date, owner
    or build path enters the archive."""
    objects = []
    for row in compat:
        obj = staging / f"compat-{row.name}.o"
        runner([cc, "-O2", "-fPIC", "-g0", "-Wall", "-Werror", "-c", _compat_source(row),
                "-o", obj], step=f"compile the {row.name} stand-in", log=log)
        objects.append(obj)
    runner([llvm / "llvm-ar", "rcsD", libdir / COMPAT_LIBRARY, *objects],
           step="archive the glibc stand-ins", log=log)


def _zig_stubs(
    zig: Path, target: Target, staging: Path, log: Path, runner: Runner
) -> list[Path]:
    """Have zig build its glibc stubs and start files by linking a program, then collect them.

    `-s`: zig compiles the start files with debug information naming its own package
    directory and the current directory; stripped, they name neither and are the same bytes
    wherever pbs is installed or run from.
    """
    zig_cache = staging / "zig-cache"
    probe = staging / "probe.c"
    probe.write_text(PROBE_PROGRAM)
    env = {"ZIG_GLOBAL_CACHE_DIR": str(zig_cache), "ZIG_LOCAL_CACHE_DIR": str(zig_cache)}
    zig_target = f"{target.sysroot.zig_target}.{target.sysroot.zig_glibc or target.libc_floor}"
    for extra in ([], ["-fPIE", "-pie"]):
        runner(
            [zig, "cc", "-target", zig_target, *target.sysroot.zig_flags, "-s", *extra, probe,
             "-o", staging / "probe", "-lm"],
            step=f"build glibc {target.libc_floor} stubs with zig",
            log=log,
            cwd=staging,
            env=env,
        )
    found = []
    builtins = (ZIG_COMPILER_RT,) if target.sysroot.compiler_rt == "zig" else ()
    for name in (*target.sysroot.libraries, ZIG_DYNAMIC_LINKER_STUB, *STARTUP_FILES, *builtins):
        matches = sorted(zig_cache.glob(f"o/*/{name}"))
        if len(matches) != 1:
            raise PbsError(f"zig produced {len(matches)} copies of {name}, expected one; log: {log}")
        found.append(matches[0])
    return found


def _renamed_archive(
    source: Path, dest: Path, llvm_ar: Path, staging: Path, log: Path, runner: Runner
) -> None:
    """`source` archived again, deterministically, with its members named by their file names:
    zig names them by their paths in its cache, which differ with every staging directory."""
    unpacked = staging / f"{source.name}.members"
    unpacked.mkdir()
    names = []
    for member in members(source):
        name = Path(member.name).name
        if name in names:
            # A linker takes the first definition it finds: renaming must keep every member.
            raise PbsError(f"{source} holds two members named {name}; cannot rename them")
        (unpacked / name).write_bytes(member.data)
        names.append(name)
    # The members' order is kept: it decides which definition a linker picks.
    runner([llvm_ar, "rcsD", dest, *names], step=f"archive {dest.name} again", log=log,
           cwd=unpacked)


def _check(
    entry: Path,
    toolchain: Toolchain,
    compat: tuple[LibcCompat, ...],
    staging: Path,
    log: Path,
    runner: Runner,
) -> None:
    """Compile, link and run programs with the new toolchain; they must respect the glibc floor.
    The second links every stand-in, as configure's link tests do (`char f(void);`)."""
    wrapper = entry / "bin" / toolchain.cc.name
    functions = [name for row in compat for name in row.functions]
    compat_probe = staging / "compat-probe.c"
    compat_probe.write_text(
        "".join(f"char {name}(void);\n" for name in functions)
        + "static char (*const used[])(void) = {" + ", ".join(functions) + "};\n"
        + "int main(void) { return sizeof used / sizeof used[0] == 0; }\n"
    )
    for probe in (staging / "probe.c", compat_probe):
        program = staging / f"{probe.stem}-clang"
        runner(
            [wrapper, "-O2", probe, "-o", program, "-lm", "-lpthread", "-ldl"],
            step="check the new toolchain",
            log=log,
        )
        runner([*toolchain.target.emulator_command, program],
               step="run a program built by the new toolchain", log=log)
        needed = max_glibc_version(program)
        floor = Version(toolchain.target.libc_floor)
        if needed is not None and needed > floor:
            raise PbsError(
                f"the toolchain's test program {probe.name} needs GLIBC_{needed}, "
                f"above the floor {floor}")


def _check_paths(entry: Path, build_paths: list[BuildPath]) -> None:
    """Everything built with the toolchain links its start files: they must name no path of
    this machine (zig's directory, the current one, the staging directory)."""
    leaks = files_naming(entry, build_paths)
    if leaks:
        raise PbsError(f"the toolchain names a build-machine path in {leaks[0]}: "
                       f"{excerpt(leaks[0], build_paths)}")
