"""The toolchain of a musl target: musl built from its catalogued source by the toolchain's clang.

zig ships musl's headers, but its musl libc is partly written in Zig and its libc.so is a stub:
neither a loader that runs programs nor a libc.a for static interpreters can be made of it. So
the toolchain step unpacks the catalogued musl release, applies the catalogued fixes, and builds
it with Debian's clang for the target, linking compiler-rt's builtins (musl's configure would
otherwise pick the host gcc's libgcc). Its installed tree is the sysroot: include/ (plus zig's
Linux kernel headers, which musl does not ship), lib/ with crt1.o, Scrt1.o, libc.a and libc.so,
which is also the dynamic loader. A copy of the loader alone, in loader/, is what
pbs.loader lays over /lib to run the target's programs here. lib/ also holds the stand-ins for
the glibc functions clang's profile runtime calls, which the compiler wrapper links into
instrumented programs only (PGO).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from pbs.buildpaths import machine_needles
from pbs.cache import Cache, key_of
from pbs.catalog import LibcPatch, MuslSysroot, Target, ToolchainSpec
from pbs.elf import interpreter, needed_libraries
from pbs.errors import PbsError
from pbs.loader import LoaderOverlay
from pbs.runner import Runner
from pbs.sources.extract import extract_archive, source_root
from pbs.sources.debian import DebianSource
from pbs.sources.fetch import Fetched
from pbs.steps.engine import StepEngine
from pbs.toolchain import (
    LOADER_DIR,
    PROBE_PROGRAM,
    RESOURCE_DIR,
    Toolchain,
    ToolchainStep,
    _check_paths,
    _installed_llvm_bin,
    _zig,
    add_debian_runtime,
    add_resource_dir,
    compiler_versions,
    debian_runtime,
)

# musl's configure would install its own compiler wrappers (musl-clang), naming absolute paths.
CONFIGURE = ("--prefix=/", "--syslibdir=/lib", "--enable-shared", "--enable-static",
             "--disable-wrapper")
PROFILE_FORTIFY_SOURCE = Path(__file__).parent / "toolchain_musl" / "profile_fortify.c"
PROFILE_FORTIFY_LIBRARY = "libpbs_profile_fortify.a"
LIBC_MARK_SOURCE = Path(__file__).parent / "toolchain_musl" / "libc_mark.c"
LIBC_MARK_OBJECT = "pbs_libc_mark.o"
# The flags that make clang link its profile runtime.
PROFILE_FLAGS = ("-fprofile-instr-generate", "-fprofile-generate")


def prepare_musl_toolchain(
    spec: ToolchainSpec, target: Target, cache: Cache, runner: Runner,
    libc: Mapping[str, Fetched],
) -> Toolchain:
    """The toolchain for a musl `target`, built into the cache on first use from `libc`, the
    fetched sources of catalog.toolchain_sources(target) by name."""
    sysroot = target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    patches = tuple(p for p in spec.libc_patches if p.source == sysroot.source)
    missing = {sysroot.source, *(p.patch_source for p in patches)} - set(libc)
    if missing:
        raise PbsError(f"the toolchain for {target.triple} needs the sources "
                       f"{', '.join(sorted(missing))}, which were not fetched")
    llvm = _installed_llvm_bin(spec)
    zig = _zig(spec)
    probe_log = cache.log("toolchain", "versions.log")
    clang_version, llvm_version, zig_version = compiler_versions(llvm, zig, runner, probe_log)
    runtime = debian_runtime(spec, target, runner, probe_log)
    musl = libc[sysroot.source]
    identity = key_of(
        clang_version,
        zig_version,  # its kernel headers
        target.triple,
        target.libc_floor,
        repr(sysroot),
        repr(patches),
        repr(runtime),
        Path(__file__).read_text(),
        Path(__file__).with_name("toolchain.py").read_text(),
        PROFILE_FORTIFY_SOURCE.read_text(),
        LIBC_MARK_SOURCE.read_text(),
        *(libc[name].artifact.sha256 for name in sorted(libc)),
    )
    step = ToolchainStep(
        name=f"toolchain-{target.triple}", key=identity,
        description=f"{clang_version}; musl {musl.source.version} built by it, "
                    f"kernel headers from zig {zig_version}")
    engine = StepEngine(cache)
    toolchain = Toolchain(target=target, root=engine.output(step), identity=identity,
                          description=step.description, llvm_major=spec.llvm_major,
                          llvm_version=llvm_version,
                          # Under the loader overlay this machine runs its own architecture's
                          # programs as its own: configure scripts build natively, running their
                          # tests. Another architecture's is a cross build, as for glibc.
                          build_triple=(target.host_triple if target.emulator is None
                                        else spec.build_triple))

    def build(work: Path, out: Path, log: Path) -> None:
        resource = None
        if runtime is not None:
            # The installed LLVM has compiler-rt for x86 only: Debian's for the architecture.
            resource = out / RESOURCE_DIR
            deb = DebianSource(spec.debian, cache, runner).download_package(
                runtime.package, runtime.version, runtime.arch, work)
            add_debian_runtime(add_resource_dir(resource, sysroot.clang_target, llvm, log,
                                                runner), deb)
        source = _patched_source(musl, patches, libc, work, log, runner)
        _build_musl(source, out / "sysroot", sysroot, llvm, resource, log, runner)
        _add_headers(out / "sysroot" / "include", zig.parent / "lib" / "libc" / "include",
                     sysroot)
        loader = out / LOADER_DIR
        loader.mkdir()
        shutil.copyfile(out / "sysroot" / "lib" / "libc.so", loader / sysroot.dynamic_linker)
        (loader / sysroot.dynamic_linker).chmod(0o755)
        _write_wrapper(out / "bin" / toolchain.cc.name, sysroot, llvm, resource is not None)
        _build_profile_fortify(out / "bin" / toolchain.cc.name, llvm,
                               out / "sysroot" / "lib", work, log, runner)
        runner([out / "bin" / toolchain.cc.name, "-O2", "-g0", "-Wall", "-Werror",
                f"-DPBS_MUSL_VERSION={musl.source.version}", "-c", LIBC_MARK_SOURCE,
                "-o", out / "sysroot" / "lib" / LIBC_MARK_OBJECT],
               step="compile the static programs' libc mark", log=log)
        _check(out, toolchain, f"musl-{musl.source.version}", work, log, runner)
        _check_paths(out, [str(zig.parent), *machine_needles()])

    engine.run(step, build)
    return toolchain


def _patched_source(
    musl: Fetched, patches: tuple[LibcPatch, ...], libc: Mapping[str, Fetched], work: Path,
    log: Path, runner: Runner,
) -> Path:
    source = source_root(extract_archive(musl.path, work / "musl"))
    roots: dict[str, Path] = {}
    for patch in patches:
        if patch.patch_source not in roots:
            roots[patch.patch_source] = source_root(extract_archive(
                libc[patch.patch_source].path, work / f"patches-{patch.patch_source}"))
        runner(["patch", "-p1", "--forward", "--batch", "-i",
                roots[patch.patch_source] / patch.file],
               step=f"patch musl: {patch.reason}", log=log, cwd=source)
    return source


def _build_musl(source: Path, dest: Path, sysroot: MuslSysroot, llvm: Path,
                resource: Path | None, log: Path, runner: Runner) -> None:
    target = [f"--target={sysroot.clang_target}",
              *([f"-resource-dir={resource}"] if resource else [])]
    clang = " ".join([str(llvm / "clang"), *target])
    builtins = runner([llvm / "clang", *target, "--rtlib=compiler-rt", "-print-libgcc-file-name"],
                      step="ask clang for compiler-rt's builtins", log=log).output.strip()
    env = {
        "CC": clang,
        "AR": str(llvm / "llvm-ar"),
        "RANLIB": str(llvm / "llvm-ranlib"),
        "LDFLAGS": "-fuse-ld=lld",
        # Without it, configure finds the host gcc's libgcc through clang's gcc detection.
        "LIBCC": builtins,
        # musl's __FILE__ strings (assert) must not name this build's directory.
        "CFLAGS": f"-ffile-prefix-map={source}=/musl",
    }
    runner(["./configure", *CONFIGURE], step="configure musl", log=log, cwd=source, env=env)
    runner(["make", f"-j{os.cpu_count() or 1}"], step="build musl", log=log, cwd=source,
           env=env)
    runner(["make", "install", f"DESTDIR={dest}"], step="install musl", log=log, cwd=source,
           env=env)
    # musl installs the loader as an absolute link to /lib/libc.so: make it point inside.
    loader = dest / "lib" / sysroot.dynamic_linker
    loader.unlink()
    loader.symlink_to("libc.so")


def _add_headers(include: Path, zig_include: Path, sysroot: MuslSysroot) -> None:
    """zig's kernel headers and the extra headers, none of which may replace one of musl's."""
    copies = [(path, include / path.relative_to(zig_include / name))
              for name in sysroot.kernel_headers
              for path in sorted((zig_include / name).rglob("*")) if path.is_file()]
    copies += [(zig_include / origin, include / name) for name, origin in sysroot.extra_headers]
    musl_headers = {path for path in include.rglob("*") if path.is_file()}
    for origin, dest in copies:
        if dest in musl_headers:
            raise PbsError(f"zig's {origin.relative_to(zig_include)} would replace musl's "
                           f"{dest.relative_to(include)}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, dest)


def _write_wrapper(wrapper: Path, sysroot: MuslSysroot, llvm: Path, own_resource: bool) -> None:
    # The sysroot (and compiler-rt, where the toolchain carries its own) is found relative to
    # the wrapper, so the toolchain directory can move.
    # compiler-rt: musl is linked without libgcc. stdc-predef.h: gcc pre-includes it on Linux,
    # clang does not; musl keeps __STDC_ISO_10646__ (wchar_t is Unicode) there, which sources
    # written for gcc (libedit) test. Link-only flags and inputs on compile-only commands must
    # not warn: configure scripts use -Werror. lld takes an archive's members wherever it
    # stands on the command line, so the stand-ins can follow the profile runtime's reference.
    # Static programs get musl's mark (libc_mark.c). `-x none`: after `-x c -` (a source on
    # stdin) an appended input would be read as C too.
    patterns = "|".join(f'*" {flag}"*' for flag in PROFILE_FLAGS)
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in {patterns}) '
        f'set -- "$@" -x none "${{0%/*}}/../sysroot/lib/{PROFILE_FORTIFY_LIBRARY}" ;; esac\n'
        f'case " $* " in *" -static "*) '
        f'set -- "$@" -x none "${{0%/*}}/../sysroot/lib/{LIBC_MARK_OBJECT}" ;; esac\n'
        f'exec {llvm / "clang"} --target={sysroot.clang_target} '
        '--sysroot="${0%/*}/../sysroot" '
        + (f'-resource-dir="${{0%/*}}/../{RESOURCE_DIR}" ' if own_resource else "")
        + "--rtlib=compiler-rt --unwindlib=none -fuse-ld=lld -include stdc-predef.h "
        '-Qunused-arguments "$@"\n'
    )
    wrapper.chmod(0o755)


def _build_profile_fortify(wrapper: Path, llvm: Path, libdir: Path, work: Path, log: Path,
                           runner: Runner) -> None:
    """The archive of glibc's fortified functions that Debian's profile runtime calls."""
    obj = work / "profile_fortify.o"
    runner([wrapper, "-O2", "-fPIC", "-g0", "-Wall", "-Werror", "-c", PROFILE_FORTIFY_SOURCE,
            "-o", obj], step="compile the profile runtime's stand-ins", log=log)
    runner([llvm / "llvm-ar", "rcsD", libdir / PROFILE_FORTIFY_LIBRARY, obj],
           step="archive the profile runtime's stand-ins", log=log)


def _check(entry: Path, toolchain: Toolchain, mark: str, work: Path, log: Path,
           runner: Runner) -> None:
    """Build and run a dynamic and a static program: the dynamic one must name musl's loader
    and need only what the loader provides; the static one must need nothing and carry musl's
    `mark` (libc_mark.c). Then an
    instrumented program must link and write its profile, as PGO's training run does."""
    sysroot = toolchain.target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    wrapper = entry / "bin" / toolchain.cc.name
    probe = work / "probe.c"
    probe.write_text(PROBE_PROGRAM)
    overlay = LoaderOverlay(runner=runner, loader_dir=entry / LOADER_DIR)
    for kind, flags in (("dynamic", ()), ("static", ("-static",))):
        program = work / f"probe-{kind}"
        runner([wrapper, "-O2", *flags, probe, "-o", program, "-lm", "-lpthread"],
               step=f"link a {kind} program with the new toolchain", log=log)
        output = overlay([program], step=f"run a {kind} program built by the new toolchain",
                         log=log).output
        if output.strip() != "5.0":
            raise PbsError(f"the toolchain's {kind} test program printed {output!r}, not 5.0")
        expected = (f"/lib/{sysroot.dynamic_linker}" if kind == "dynamic" else None,
                    list(sysroot.loader_provides) if kind == "dynamic" else [])
        found = (interpreter(program), needed_libraries(program))
        if found != expected:
            raise PbsError(f"the toolchain's {kind} test program has interpreter {found[0]} "
                           f"and needs {found[1]}, expected {expected[0]} and {expected[1]}")
        if kind == "static" and mark.encode() not in program.read_bytes():
            raise PbsError(f"the toolchain's static test program lacks musl's mark {mark}")
    program = work / "probe-instrumented"
    runner([wrapper, "-O2", "-fprofile-instr-generate", probe, "-o", program, "-lm"],
           step="link an instrumented program with the new toolchain", log=log)
    profile = work / "probe.profraw"
    overlay([program], step="run an instrumented program built by the new toolchain", log=log,
            env={"LLVM_PROFILE_FILE": str(profile)})
    if not profile.is_file() or profile.stat().st_size == 0:
        raise PbsError(f"the toolchain's instrumented test program wrote no profile ({profile})")
