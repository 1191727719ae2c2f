"""The target toolchain, for real: it compiles, links and runs programs that stay at glibc 2.17."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from packaging.version import Version

from pbs.arfile import members, undated_problems
from pbs.buildpaths import files_naming, machine_needles
from pbs.cache import Cache
from pbs.catalog import Catalog, load_catalog
from pbs.elf import max_glibc_version, needed_libraries
from pbs import runner
from pbs.errors import PbsError
from pbs.pipeline import release_epoch
from pbs.toolchain import (
    Toolchain,
    ToolchainMissing,
    _ungate,
    libc_compat_for,
    prepare_toolchain,
)

# Calls whose default symbol version in a modern glibc is far above 2.17 (fcntl64 2.28,
# stat 2.33, pthread_create/dlopen 2.34, hypot 2.35): linked naively, this needs a new glibc.
PROGRAM = r"""
#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
static void *work(void *arg) { return arg; }
int main(int argc, char **argv) {
    struct stat st;
    pthread_t thread;
    char buffer[16];
    int fd = open(argv[0], O_RDONLY);
    fcntl(fd, F_GETFD);
    stat(argv[0], &st);
    pthread_create(&thread, 0, work, 0);
    pthread_join(thread, 0);
    void *self = dlopen(0, RTLD_NOW);
    memcpy(buffer, "copied", 7);
    printf("%s %.1f %d\n", buffer, hypot(3.0, (double)argc + 3.0), self != 0);
    return 0;
}
"""
FLOOR = Version("2.17")
DATA = Path(__file__).parent / "data"


def build(toolchain: Toolchain, tmp_path: Path, *flags: str, name: str = "program") -> Path:
    source = tmp_path / "program.c"
    source.write_text(PROGRAM)
    output = tmp_path / name
    subprocess.run(
        [toolchain.cc, "-O2", *flags, source, "-o", output, "-lm", "-lpthread", "-ldl"], check=True
    )
    return output


def run(program: Path, **env: str) -> str:
    return subprocess.run([program], capture_output=True, text=True, check=True, env=env).stdout


def test_programs_need_at_most_the_glibc_floor(toolchain: Toolchain, tmp_path: Path) -> None:
    program = build(toolchain, tmp_path)
    assert run(program) == "copied 5.0 1\n"
    assert max_glibc_version(program) <= FLOOR
    assert set(needed_libraries(program)) <= set(toolchain.target.allowed_libraries)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host compiler to compare with")
def test_the_same_program_from_the_host_compiler_needs_a_newer_glibc(tmp_path: Path) -> None:
    """Proves the program above is a real test of the floor."""
    (tmp_path / "program.c").write_text(PROGRAM)
    host = tmp_path / "host-program"
    subprocess.run(
        ["gcc", "-O2", tmp_path / "program.c", "-o", host, "-lm", "-lpthread", "-ldl"], check=True
    )
    assert max_glibc_version(host) > FLOOR


def test_pgo_instrument_train_use(toolchain: Toolchain, tmp_path: Path) -> None:
    instrumented = build(toolchain, tmp_path, "-fprofile-instr-generate", name="instrumented")
    raw = tmp_path / "run.profraw"
    run(instrumented, LLVM_PROFILE_FILE=str(raw))
    assert raw.stat().st_size > 0
    merged = tmp_path / "merged.profdata"
    subprocess.run([toolchain.tool("profdata"), "merge", "-o", merged, raw], check=True)
    optimized = build(toolchain, tmp_path, f"-fprofile-instr-use={merged}", name="optimized")
    assert run(optimized) == "copied 5.0 1\n"
    assert max_glibc_version(instrumented) <= FLOOR
    assert max_glibc_version(optimized) <= FLOOR


@pytest.mark.parametrize("lto", ["-flto=thin", "-flto=full"])
def test_lto(toolchain: Toolchain, tmp_path: Path, lto: str) -> None:
    program = build(toolchain, tmp_path, lto)
    assert run(program) == "copied 5.0 1\n"
    assert max_glibc_version(program) <= FLOOR


def test_relocations_are_kept_for_bolt(toolchain: Toolchain, tmp_path: Path) -> None:
    program = build(toolchain, tmp_path, "-Wl,--emit-relocs")
    with program.open("rb") as handle:
        sections = {section.name for section in ELFFile(handle).iter_sections()}
    assert ".rela.text" in sections


def test_a_second_preparation_reuses_the_cached_toolchain(
    toolchain: Toolchain, catalog: Catalog
) -> None:
    marker = toolchain.root / "bin"
    before = marker.stat().st_mtime_ns
    again = prepare_toolchain(catalog.toolchain, toolchain.target,
                              Cache(toolchain.root.parent.parent), runner.run)
    assert again.identity == toolchain.identity
    assert marker.stat().st_mtime_ns == before


def test_missing_llvm_names_the_install_command(catalog: Catalog, tmp_path: Path) -> None:
    spec = dataclasses.replace(catalog.toolchain, llvm_major=99, debian_packages=("clang-99",))
    with pytest.raises(ToolchainMissing, match="install it with: apt-get install clang-99"):
        prepare_toolchain(spec, catalog.target(None), Cache(tmp_path), runner.run)


# What an old kernel answers: these x86_64 system calls (memfd_create 319, copy_file_range 326,
# preadv2 327, pwritev2 328, close_range 436, getrandom 318) fail with ENOSYS.
OLD_KERNEL_CALLS = "319,326,327,328,436,318"
ENOSYS, EOPNOTSUPP, EBADF, ETIMEDOUT = 38, 95, 9, 110


def run_compat_program(
    toolchain: Toolchain, tmp_path: Path, *launcher: Path
) -> dict[str, tuple[int, int]]:
    """Build tests/data/libc_compat.c with the toolchain, run it: name -> (result, errno)."""
    program = tmp_path / "libc_compat"
    subprocess.run([toolchain.cc, "-O2", "-Wall", "-Werror", DATA / "libc_compat.c", "-o", program,
                    "-lpthread", "-ldl"], check=True)
    assert max_glibc_version(program) <= FLOOR
    output = subprocess.run([*launcher, program, tmp_path / "scratch"], capture_output=True,
                            text=True, check=True).stdout
    return {name: (int(result), int(error))
            for name, result, error in (line.split() for line in output.splitlines())}


def test_newer_glibc_functions_are_declared_linked_and_work(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    results = run_compat_program(toolchain, tmp_path)
    assert results.pop("memfd_create")[0] >= 0
    assert results.pop("closed-by-close_range") == (-1, EBADF)
    assert results.pop("closed-by-closefrom") == (-1, EBADF)
    assert results.pop("sem_clockwait") == (-1, ETIMEDOUT)
    failed = {name: result for name, result in results.items() if result[0] < 0}
    assert failed == {}


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host compiler for the launcher")
def test_on_a_kernel_without_the_calls_they_fail_as_a_new_glibc_would(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    launcher = tmp_path / "enosys"
    subprocess.run(["gcc", "-O2", DATA / "enosys.c", "-o", launcher], check=True)
    if subprocess.run([launcher, "1", "true"]).returncode != 0:
        pytest.skip("seccomp filters are not allowed here")
    results = run_compat_program(toolchain, tmp_path, launcher, Path(OLD_KERNEL_CALLS))
    for name in ("memfd_create", "copy_file_range", "getrandom", "getentropy", "close_range"):
        assert results[name] == (-1, ENOSYS), name
    assert results["preadv2-reads-world"] == (5, 0)  # flags 0: glibc falls back to preadv
    assert results["pwritev2-dsync"] == (-1, EOPNOTSUPP)
    assert results["closed-by-closefrom"] == (-1, EBADF)  # through /proc/self/fd


def test_a_header_gate_that_changed_stops_the_toolchain(catalog: Catalog, tmp_path: Path) -> None:
    gated = next(row for row in catalog.toolchain.libc_compat if row.header)
    header = tmp_path / gated.header
    header.parent.mkdir(parents=True)
    header.write_text("#if __GLIBC_MINOR__ >= 99\nint f(void);\n#endif\n")
    with pytest.raises(PbsError, match="zig's glibc headers changed; cannot find"):
        _ungate(tmp_path, gated)


def test_a_floor_that_has_the_functions_needs_no_stand_ins(catalog: Catalog) -> None:
    target = dataclasses.replace(catalog.target(None), libc_floor="2.40")
    assert libc_compat_for(catalog.toolchain, target) == ()
    assert libc_compat_for(catalog.toolchain, catalog.target(None))


def test_the_release_tag_dates_what_the_compiler_stamps(
    toolchain: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPython's sys.version carries __DATE__ and __TIME__ (Modules/getbuildinfo.c).
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    source = tmp_path / "date.c"
    source.write_text('#include <stdio.h>\nint main(void) { puts(__DATE__ " " __TIME__); }\n')
    subprocess.run([toolchain.cc, source, "-o", tmp_path / "date"], check=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": str(release_epoch("20261128"))})
    assert run(tmp_path / "date") == "Nov 28 2026 00:00:00\n"


def test_termios_headers_define_ncc_as_glibcs_do(toolchain: Toolchain, tmp_path: Path) -> None:
    # CPython's termios module offers termios.NCC where the headers define it.
    source = tmp_path / "ncc.c"
    source.write_text("#include <termios.h>\n#include <sys/ioctl.h>\n#include <stdio.h>\n"
                      'int main(void) { printf("%d\\n", NCC); }\n')
    subprocess.run([toolchain.cc, "-Wall", "-Werror", source, "-o", tmp_path / "ncc"], check=True)
    assert run(tmp_path / "ncc") == "8\n"


def test_the_sysroot_names_no_machine_path_and_its_archive_no_staging_path(
    toolchain: Toolchain, catalog: Catalog
) -> None:
    """zig compiles the start files in its cache, from its package directory: stripped and
    renamed, they are the same bytes wherever pbs and zig are installed or run from."""
    assert files_naming(toolchain.root, machine_needles(catalog.toolchain.python_package)) == []
    nonshared = members(toolchain.sysroot_libdir / "libc_nonshared.a")
    assert nonshared and all("/" not in m.name for m in nonshared)
    assert undated_problems(toolchain.sysroot_libdir / "libc_nonshared.a") == []


def _foreign_toolchains() -> list[object]:
    """(target, compiler-rt) pairs: the first foreign glibc target with Debian's compiler-rt for
    its architecture and with zig's builtins (as for an architecture Debian's release does not
    build); every other foreign glibc target as the catalog builds it, in the slow run (a
    toolchain takes half a minute). Foreign musl toolchains are test_musl_toolchain's."""
    first, *others = [target for target in load_catalog().targets
                      if target.emulator is not None and target.libc == "glibc"]
    return [
        pytest.param((first.triple, "debian"), id=f"{first.triple}-debian"),
        pytest.param((first.triple, "zig"), id=f"{first.triple}-zig"),
        *(pytest.param((target.triple, target.sysroot.compiler_rt), id=target.triple,
                       marks=pytest.mark.slow) for target in others),
    ]


@pytest.fixture(scope="module", params=_foreign_toolchains())
def foreign_toolchain(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, request: pytest.FixtureRequest
) -> Toolchain:
    """The toolchain of a target this machine runs only under its emulator."""
    triple, compiler_rt = request.param
    foreign = catalog.target(triple)
    sysroot = dataclasses.replace(
        foreign.sysroot, compiler_rt=compiler_rt,
        debian_arch=foreign.sysroot.debian_arch if compiler_rt == "debian" else None)
    cache = Cache(tmp_path_factory.mktemp("foreign-toolchain-cache"))
    return prepare_toolchain(catalog.toolchain, dataclasses.replace(foreign, sysroot=sysroot),
                             cache, runner.run)


def test_a_foreign_targets_programs_run_under_its_emulator_at_the_floor(
    foreign_toolchain: Toolchain, tmp_path: Path
) -> None:
    target = foreign_toolchain.target
    program = build(foreign_toolchain, tmp_path)
    with program.open("rb") as handle:
        assert ELFFile(handle)["e_machine"] == target.elf_machine
    # Through binfmt_misc, as the programs it starts would be, and by the emulator's command.
    assert run(program, **target.emulator_env) == "copied 5.0 1\n"
    emulated = subprocess.run([*target.emulator_command, program], capture_output=True,
                              text=True, check=True)
    assert emulated.stdout == "copied 5.0 1\n"
    assert max_glibc_version(program) <= Version(target.libc_floor)
    assert set(needed_libraries(program)) <= set(target.allowed_libraries)


def test_a_foreign_toolchains_builtins_leave_the_c_library_to_glibc(
    foreign_toolchain: Toolchain, tmp_path: Path
) -> None:
    """zig's compiler-rt also defines memcpy, strlen, sin, __stack_chk_fail: they must not
    shadow glibc's, although the builtins come first on the link line."""
    source = tmp_path / "libc.c"
    source.write_text("#include <math.h>\n#include <string.h>\n"
                      "int main(int argc, char **argv) { char b[64]; memcpy(b, argv[0], argc);\n"
                      "  return (int)(strlen(argv[0]) + sin(argc)); }\n")
    program = tmp_path / "libc"
    subprocess.run([foreign_toolchain.cc, "-O0", "-fno-builtin", "-fstack-protector-all", source,
                    "-o", program, "-lm"], check=True)
    with program.open("rb") as handle:
        imported = {symbol.name for symbol in ELFFile(handle).get_section_by_name(".dynsym")
                    .iter_symbols() if symbol["st_shndx"] == "SHN_UNDEF"}
    assert {"memcpy", "strlen", "sin", "__stack_chk_fail"} <= imported


def test_a_foreign_toolchain_links_shared_libraries_with_its_own_builtins(
    foreign_toolchain: Toolchain, tmp_path: Path
) -> None:
    """Double-word arithmetic (128-bit, or 64-bit on a 32-bit target) and long double need
    compiler-rt's builtins."""
    source = tmp_path / "wide.c"
    source.write_text("#ifdef __SIZEOF_INT128__\ntypedef __int128 wide;\n#else\n"
                      "typedef long long wide;\n#endif\n"
                      "wide mul(wide a, wide b) { return a * b / 7; }\n"
                      "long double half(long double x) { return x / 2; }\n")
    library = tmp_path / "libwide.so"
    subprocess.run([foreign_toolchain.cc, "-O2", "-shared", "-fPIC", source, "-o", library],
                   check=True)
    assert set(needed_libraries(library)) <= set(foreign_toolchain.target.allowed_libraries)


def test_a_foreign_toolchain_with_debians_runtime_trains_and_uses_a_profile(
    foreign_toolchain: Toolchain, tmp_path: Path
) -> None:
    """PGO for another architecture: the instrumented program runs under the emulator and writes
    a profile that the build machine's llvm-profdata merges and clang then uses; with zig's
    builtins there is no profile runtime to link."""
    target = foreign_toolchain.target
    if target.sysroot.compiler_rt == "zig":
        with pytest.raises(subprocess.CalledProcessError):
            build(foreign_toolchain, tmp_path, "-fprofile-instr-generate", name="instrumented")
        return
    instrumented = build(foreign_toolchain, tmp_path, "-fprofile-instr-generate",
                         name="instrumented")
    raw = tmp_path / "run.profraw"
    assert run(instrumented, LLVM_PROFILE_FILE=str(raw), **target.emulator_env) == "copied 5.0 1\n"
    merged = tmp_path / "merged.profdata"
    subprocess.run([foreign_toolchain.tool("profdata"), "merge", "-o", merged, raw], check=True)
    optimized = build(foreign_toolchain, tmp_path, f"-fprofile-instr-use={merged}",
                      "-Werror=profile-instr-unprofiled", name="optimized")
    assert run(optimized, **target.emulator_env) == "copied 5.0 1\n"
    assert max_glibc_version(optimized) <= Version(target.libc_floor)
