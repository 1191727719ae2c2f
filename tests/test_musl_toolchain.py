"""The musl target's toolchain, for real: musl built from source links programs that need musl's
loader alone (or, static, nothing), and the loader overlay runs them on this glibc machine."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from pbs.cache import Cache
from pbs.catalog import Catalog, MuslSysroot
from pbs.elf import interpreter, needed_libraries, read_elf
from pbs.errors import PbsError
from pbs.loader import LoaderOverlay
from pbs.pipeline import target_toolchain, toolchain_libc
from pbs.runner import run
from pbs.sources.debian import DebianSource
from pbs.sources.fetch import Fetcher
from pbs.toolchain import Toolchain

FOREIGN_MUSL_TARGET = "aarch64-unknown-linux-musl"

PROGRAM = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <wchar.h>
#include <linux/vm_sockets.h>
int main(int argc, char **argv) {
    int (*triple)(int) = 0;
    if (argc > 1) {
        void *lib = dlopen(argv[1], RTLD_NOW);
        if (!lib) { printf("%s\n", dlerror()); return 1; }
        triple = (int (*)(int))dlsym(lib, "triple");
    }
    /* __STDC_ISO_10646__ comes from musl's stdc-predef.h; VMADDR_CID_ANY from the kernel's. */
    printf("%d %u %d\n", __STDC_ISO_10646__ > 0, VMADDR_CID_ANY, triple ? triple(14) : 0);
    return 0;
}
"""
LIBRARY = "int triple(int x) { return 3 * x; }\n"


def compile_c(toolchain: Toolchain, tmp_path: Path, source: str, name: str,
              *flags: str) -> Path:
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    output = tmp_path / name
    subprocess.run([toolchain.cc, "-O2", path, "-o", output, *flags], check=True)
    return output


def run_here(toolchain: Toolchain, tmp_path: Path, *argv: str | Path) -> str:
    runner = toolchain.runner_for(run)
    return runner(argv, step="run a musl program", log=tmp_path / "run.log").output


def test_a_dynamic_program_needs_musls_loader_alone(
    musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    sysroot = musl_toolchain.target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    program = compile_c(musl_toolchain, tmp_path, PROGRAM, "dynamic")
    library = compile_c(musl_toolchain, tmp_path, LIBRARY, "libtriple.so", "-shared", "-fPIC")
    assert interpreter(program) == f"/lib/{sysroot.dynamic_linker}"
    assert needed_libraries(program) == list(sysroot.loader_provides)
    assert interpreter(library) is None
    assert needed_libraries(library) == list(sysroot.loader_provides)
    assert run_here(musl_toolchain, tmp_path, program, library) == "1 4294967295 42\n"


def test_the_overlay_shows_the_toolchains_loader_and_leaves_no_mount(
    musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    """Inside, /lib holds the toolchain's loader (even where Debian's musl package put its own
    there); outside, the host's mount table never gains the overlay."""
    libc = toolchain_libc(musl_toolchain)
    assert libc is not None
    loader = libc.loader
    in_lib = Path("/lib") / loader.name
    run_here(musl_toolchain, tmp_path, "cmp", loader, in_lib)
    assert "pbs-loader" not in Path("/proc/mounts").read_text()
    assert not in_lib.exists() or in_lib.read_bytes() != loader.read_bytes()


def test_a_static_program_needs_nothing_and_cannot_load_libraries(
    musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    program = compile_c(musl_toolchain, tmp_path, PROGRAM, "static", "-static")
    library = compile_c(musl_toolchain, tmp_path, LIBRARY, "libtriple.so", "-shared", "-fPIC")
    assert interpreter(program) is None
    assert needed_libraries(program) == []
    assert subprocess.run([program], capture_output=True, text=True,
                          check=True).stdout == "1 4294967295 0\n"
    failed = subprocess.run([program, library], capture_output=True, text=True)
    assert (failed.returncode, failed.stdout) == (1, "Dynamic loading not supported\n")


def test_a_chroot_with_the_loader_alone_runs_a_dynamic_program(
    musl_toolchain: Toolchain, tmp_path: Path
) -> None:
    """musl's loader is its libc and answers for libc.so: the program and one file suffice."""
    sysroot = musl_toolchain.target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    root = tmp_path / "root"
    (root / "lib").mkdir(parents=True)
    shutil.copy(musl_toolchain.sysroot_libdir / "libc.so", root / "lib" / sysroot.dynamic_linker)
    compile_c(musl_toolchain, root, PROGRAM, "dynamic")
    compile_c(musl_toolchain, root, LIBRARY, "libtriple.so", "-shared", "-fPIC")
    done = subprocess.run(["chroot", root, "/dynamic", "/libtriple.so"], capture_output=True,
                          text=True, check=True)
    assert done.stdout == "1 4294967295 42\n"


def test_the_overlay_refuses_a_directory_overlayfs_cannot_name(tmp_path: Path) -> None:
    overlay = LoaderOverlay(runner=run, loader_dir=tmp_path / "a:b")
    with pytest.raises(PbsError, match="holds ',' or ':'"):
        overlay(["true"], step="run", log=tmp_path / "log")


def test_the_toolchain_is_built_from_the_catalogued_libc(catalog: Catalog) -> None:
    target = catalog.target("x86_64-unknown-linux-musl")
    assert isinstance(target.sysroot, MuslSysroot)
    names = [source.name for source in catalog.toolchain_sources(target)]
    assert names[0] == target.sysroot.source
    assert {p.patch_source for p in catalog.toolchain.libc_patches} <= set(names)
    # The libc is the toolchain's, never a dependency the build itself fetches and links.
    built = {s.name for s in catalog.sources_for(catalog.python(None), target)}
    assert built.isdisjoint(names)
    assert catalog.toolchain_sources(catalog.target(None)) == ()


@pytest.fixture(scope="module")
def foreign_musl_toolchain(tmp_path_factory: pytest.TempPathFactory,
                           catalog: Catalog) -> Toolchain:
    """aarch64's musl toolchain, with Debian's arm64 compiler-rt (its own check already linked
    and ran, under qemu-user, a dynamic, a static and an instrumented program)."""
    cache = Cache(tmp_path_factory.mktemp("foreign-musl-toolchain-cache"))
    fetcher = Fetcher(cache, DebianSource(catalog.debian, cache, run), run,
                      console=Console(file=io.StringIO()))
    return target_toolchain(catalog.target(FOREIGN_MUSL_TARGET), catalog=catalog, cache=cache,
                            fetcher=fetcher, runner=run)


def test_a_foreign_musl_toolchain_builds_programs_qemu_runs_on_the_overlay(
    foreign_musl_toolchain: Toolchain, catalog: Catalog, tmp_path: Path
) -> None:
    """The program is aarch64's and names aarch64's musl loader, which qemu-user finds under the
    overlay; it loads a library; a static one carries musl's mark and loads nothing."""
    target = foreign_musl_toolchain.target
    sysroot = target.sysroot
    assert isinstance(sysroot, MuslSysroot)
    program = compile_c(foreign_musl_toolchain, tmp_path, PROGRAM, "dynamic")
    library = compile_c(foreign_musl_toolchain, tmp_path, LIBRARY, "libtriple.so", "-shared",
                        "-fPIC")
    assert read_elf(program).machine == target.elf_machine
    assert interpreter(program) == f"/lib/{sysroot.dynamic_linker}"
    assert needed_libraries(library) == list(sysroot.loader_provides)
    assert run_here(foreign_musl_toolchain, tmp_path, program, library) == "1 4294967295 42\n"
    static = compile_c(foreign_musl_toolchain, tmp_path, PROGRAM, "static", "-static")
    assert (interpreter(static), needed_libraries(static)) == (None, [])
    assert f"musl-{catalog.library('musl').version}".encode() in static.read_bytes()
    failed = subprocess.run([static, library], capture_output=True, text=True)
    assert (failed.returncode, failed.stdout) == (1, "Dynamic loading not supported\n")
