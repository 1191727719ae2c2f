"""CPython's compiler, for real: gcc over the toolchain's sysroot keeps the glibc floor."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from conftest import RecordingRunner
from pbs.catalog import Catalog, Source
from pbs.cpython.compiler import CPythonCompiler, select_compiler
from pbs.cpython.step import plan_cpython
from pbs.elf import max_glibc_version, needed_libraries
from pbs.sources.fetch import Fetched, Origin
from pbs.runner import run
from pbs.toolchain import Toolchain

# pthread_create (2.34) and hypot (2.35) have new default versions in the host's glibc.
PROGRAM = r"""
#include <math.h>
#include <pthread.h>
#include <stdio.h>
static void *work(void *arg) { return arg; }
int main(int argc, char **argv) {
    pthread_t thread;
    pthread_create(&thread, 0, work, 0);
    pthread_join(thread, 0);
    printf("%.1f\n", hypot(3.0, (double)argc + 3.0));
    return 0;
}
"""

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the host's gcc")


def compiler(catalog: Catalog, toolchain: Toolchain, name: str, tmp_path: Path) -> CPythonCompiler:
    return select_compiler(catalog.options.compilers[name], toolchain, tmp_path / "versions.log",
                           run)


def test_clang_is_the_toolchains_own(catalog: Catalog, toolchain: Toolchain,
                                     tmp_path: Path) -> None:
    clang = compiler(catalog, toolchain, "clang", tmp_path)
    clang.install(tmp_path / "bin")
    assert clang.env(tmp_path / "bin") == toolchain.env()
    assert clang.identity == toolchain.identity
    assert clang.plain_objects_command(tmp_path) is None
    assert not (tmp_path / "bin").exists()


@needs_gcc
def test_gcc_links_against_the_glibc_floor(catalog: Catalog, toolchain: Toolchain,
                                           tmp_path: Path) -> None:
    gcc = compiler(catalog, toolchain, "gcc", tmp_path)
    assert gcc.identity.startswith(toolchain.identity)
    assert "gcc" in gcc.identity.removeprefix(toolchain.identity)
    bin_dir = tmp_path / "bin"
    gcc.install(bin_dir)
    env = gcc.env(bin_dir)
    # configure recognizes gcc by CC's name; gcc's LTO objects need gcc's archiver.
    assert "gcc" in Path(env["CC"]).name
    assert Path(env["AR"]).name == "gcc-ar"
    source = tmp_path / "program.c"
    source.write_text(PROGRAM)
    program = tmp_path / "program"
    # -lpthread before the objects that need it: kept only because --as-needed is off.
    subprocess.run([env["CC"], "-O2", "-lpthread", source, "-o", program, "-lm"], check=True)
    assert subprocess.run([program], capture_output=True, text=True,
                          check=True).stdout == "5.0\n"
    floor = Version(toolchain.target.libc_floor)
    needed = max_glibc_version(program)
    assert needed is not None and needed <= floor
    assert "libpthread.so.0" in needed_libraries(program)


@needs_gcc
def test_gcc_objects_shipped_name_no_build_directory(catalog: Catalog, toolchain: Toolchain,
                                                     tmp_path: Path) -> None:
    """CPython's fat LTO objects, compiled with the prefix map and the catalog's gcc flags,
    then made plain as the full archive ships them: no byte names the build directory, and
    they still link."""
    gcc = compiler(catalog, toolchain, "gcc", tmp_path)
    gcc.install(tmp_path / "bin")
    cc = gcc.env(tmp_path / "bin")["CC"]
    work = tmp_path / "work"
    (work / "Modules").mkdir(parents=True)
    (work / "Modules" / "answer.c").write_text("int answer(int x) { return x + 42; }\n")
    (work / "main.c").write_text("int answer(int);\nint main(void) { return answer(-42); }\n")
    subprocess.run(
        [cc, "-O2", "-g", "-flto", "-ffat-lto-objects", f"-ffile-prefix-map={work}=/build",
         *gcc.spec.cflags, "-c", "Modules/answer.c", "-o", "Modules/answer.o"],
        cwd=work, check=True,
    )
    subprocess.run([gcc.env(tmp_path / "bin")["AR"], "rcs", "libanswer.a", "Modules/answer.o"],
                   cwd=work, check=True)
    assert b".gnu.lto_" in (work / "Modules" / "answer.o").read_bytes()

    command = gcc.plain_objects_command(work)
    assert command is not None
    subprocess.run(command, check=True)
    for shipped in (work / "Modules" / "answer.o", work / "libanswer.a"):
        data = shipped.read_bytes()
        assert b".gnu.lto_" not in data, shipped
        assert str(work).encode() not in data, shipped
    program = tmp_path / "program"
    subprocess.run([cc, work / "main.c", work / "libanswer.a", "-o", program], check=True)
    assert subprocess.run([program], check=False).returncode == 0


@needs_gcc
def test_gcc_lto_interpreter_is_position_dependent_and_reads_the_real_environ(
        catalog: Catalog, toolchain: Toolchain, tmp_path: Path) -> None:
    """Compiled and linked the way CPython builds `python` with gcc (libpython's objects -fPIC,
    CPython's LTO flags, the catalog's interpreter link flags), the program is
    position-dependent code, and it still sees its environment over the sysroot's glibc stubs:
    no copy of libc's `environ` is made in the executable."""
    gcc = compiler(catalog, toolchain, "gcc", tmp_path)
    gcc.install(tmp_path / "bin")
    cc = gcc.env(tmp_path / "bin")["CC"]
    lto_flags = ["-flto", "-fuse-linker-plugin", "-ffat-lto-objects", "-flto-partition=none"]
    sources = {
        "first.c": "extern char **environ;\n"
                   "const char *first(void) { return environ[0] ? environ[0] : \"none\"; }\n"
                   "static int table[64];\n"
                   "__attribute__((noinline)) int bump(int i) { return ++table[i]; }\n",
        "main.c": "#include <stdio.h>\nconst char *first(void);\nint bump(int);\n"
                  "int main(int argc, char **argv) { puts(first()); return bump(argc) - 1; }\n",
    }
    objects = []
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
        objects.append(tmp_path / f"{name}.o")
        subprocess.run([cc, "-O3", "-fPIC", "-fno-semantic-interposition",
                        *lto_flags, "-c", tmp_path / name, "-o", objects[-1]], check=True)
    program = tmp_path / "program"
    subprocess.run([cc, "-no-pie", *gcc.spec.interpreter_ldflags, "-fno-semantic-interposition",
                    *lto_flags, *objects, "-o", program], check=True)
    relocations = subprocess.run(["readelf", "--relocs", "--wide", program], capture_output=True,
                                 text=True, check=True).stdout
    assert "R_X86_64_COPY" not in relocations
    shown = subprocess.run([program], env={"PBS_PROBE": "1"}, capture_output=True, text=True,
                           check=True).stdout
    assert shown == "PBS_PROBE=1\n"
    # Position-dependent code indexes a static table by its absolute address; -fPIC code would
    # first load the address relative to the instruction pointer.
    code = subprocess.run(["objdump", "--disassemble=bump", program], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"0x[0-9a-f]+\(,%r[a-z0-9]+,4\)", code), code


def test_the_compilers_flags_and_the_build_date_key_the_cpython_step(catalog: Catalog, toolchain: Toolchain,
                                                  tmp_path: Path) -> None:
    python = catalog.python("3.11")
    target = catalog.target(None)
    options = catalog.parse_options("pgo+lto", python, target)

    def fetched(source: Source) -> Fetched:
        return Fetched(source=source, artifact=source.artifacts[0], path=tmp_path / source.name,
                       origin=Origin.CACHE, detail="")

    def key(compiler: CPythonCompiler, build_date: int = 0) -> str:
        return plan_cpython(
            python=python, options=options, configure_options=(), bolt=None, patches=(),
            excluded_modules=frozenset(), setup_rules=None, compiler=compiler, target=target,
            source=fetched(catalog.python_source(python)),
            pip=fetched(next(s for s in catalog.sources if s.name == "pip")), deps=[],
            build_date=build_date,
        ).key

    clang = compiler(catalog, toolchain, "clang", tmp_path)
    flagged = replace(clang, spec=replace(clang.spec, cflags=(*clang.spec.cflags, "-O1")))
    assert key(clang) == key(replace(clang))
    assert key(flagged) != key(clang)
    assert key(clang, build_date=1795824000) != key(clang)  # sys.version shows the date


@needs_gcc
def test_gccs_version_line_joins_the_toolchains_identity(
    catalog: Catalog, toolchain: Toolchain, tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.outputs["gcc"] = "gcc (Demo 12.2.0-14) 12.2.0\nCopyright (C) 2022\n"
    gcc = select_compiler(catalog.options.compilers["gcc"], toolchain, tmp_path / "log", recorder)
    assert recorder.argvs == [[shutil.which("gcc"), "--version"]]
    assert gcc.identity == f"{toolchain.identity} gcc (Demo 12.2.0-14) 12.2.0"
