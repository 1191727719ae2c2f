"""The archive validator on small trees and archives whose ELF files the host's gcc builds."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import zstandard
from conftest import killed_leftover
from test_metadata import make_data, materialise

from pbs.buildpaths import machine_needles, machine_paths, named_in
from pbs.catalog import Catalog, Target
from pbs.errors import PbsError
from pbs.validate import Problem, Report, render, validate_archive, validate_tree

GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="needs the host's gcc")

# Every good binary gets these, so that each bad one fails only the check it is made for.
HARDENED = ("-Wl,-z,relro,-z,now",)
LIB = "python/install/lib"
DYNLOAD = "python/install/lib/python3.14/lib-dynload"
EXE = "python/install/bin/python3.14"
NEEDLE = "/build/pbs-xyzzy"

PLAIN = "int answer(void) { return 42; }\n"
INTERPRETER = """
int Py_Initialize(void) { return 0; }
int PyInit__io(void) { return 0; }
int main(void) { return Py_Initialize(); }
"""


@pytest.fixture(scope="module")
def floor_target(catalog: Catalog) -> Target:
    """The catalogued host target: glibc 2.17 floor."""
    return catalog.target(None)


@pytest.fixture(scope="module")
def host_target(floor_target: Target) -> Target:
    """The same target with the host's glibc as the floor.

    Executables linked by the host's gcc need __libc_start_main@GLIBC_2.34 (glibc >= 2.34
    moved it), so only the glibc test itself holds them to 2.17.
    """
    # Not platform.libc_ver(): it reports the newest version Python's own binary references.
    try:
        libc, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
    except (ValueError, OSError):  # not a glibc system
        libc = version = ""
    if libc != "glibc":
        pytest.skip("needs a glibc host")
    return dataclasses.replace(floor_target, libc_floor=version)


def cc(out: Path, source: str, *flags: str) -> Path:
    """Compile and link C `source` (given on stdin, so no source file lands in the tree)."""
    assert GCC is not None
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [GCC, "-x", "c", "-", "-o", str(out), *flags],
        input=source,
        text=True,
        check=True,
        capture_output=True,
    )
    return out


def shared(out: Path, source: str = PLAIN, *flags: str) -> Path:
    return cc(out, source, "-shared", "-fPIC", *flags)


def fragment_problem(problem: Problem) -> bool:
    """Whether `problem` only says that a tree is not a whole distribution (no interpreter, no
    PYTHON.json): the ELF and build-path tests check fragments of trees, and the layout
    checks are tested on their own."""
    return problem.check == "layout" or (
        problem.file == "python/PYTHON.json" and problem.value == "PYTHON.json is missing"
    )


def found(report: Report) -> set[tuple[str, str, str]]:
    return {(p.file, p.check, p.value) for p in report.problems if not fragment_problem(p)}


def checks(report: Report) -> set[str]:
    return {p.check for p in report.problems if not fragment_problem(p)}


# -- ELF checks ----------------------------------------------------------------------------


@needs_gcc
def test_hardened_shared_library_passes(tmp_path: Path, floor_target: Target) -> None:
    shared(tmp_path / LIB / "libgood.so", PLAIN, *HARDENED)
    report = validate_tree(tmp_path, floor_target, [NEEDLE])
    assert (report.files_checked, report.elf_files_checked, found(report)) == (1, 1, set())


@needs_gcc
def test_glibc_newer_than_the_floor(tmp_path: Path, floor_target: Target, host_target: Target):
    # reallocarray's only version is GLIBC_2.26.
    source = "#include <stdlib.h>\nvoid *grow(void *p) { return reallocarray(p, 4, 8); }\n"
    shared(tmp_path / LIB / "libgrow.so", source, *HARDENED)
    assert found(validate_tree(tmp_path, floor_target, [])) == {
        (f"{LIB}/libgrow.so", "glibc", "GLIBC_2.26 > 2.17")
    }
    assert found(validate_tree(tmp_path, host_target, [])) == set()


@needs_gcc
def test_an_elf_file_for_another_machine_is_reported(
    tmp_path: Path, catalog: Catalog, floor_target: Target
) -> None:
    """A shared library the host's gcc built passes for the host's target, and is refused,
    once and for that reason alone, for a target of another architecture."""
    shared(tmp_path / LIB / "libgood.so", PLAIN, *HARDENED)
    foreign = next(t for t in catalog.targets if t.elf_machine != floor_target.elf_machine)
    assert found(validate_tree(tmp_path, floor_target, [])) == set()
    assert found(validate_tree(tmp_path, foreign, [])) == {
        (f"{LIB}/libgood.so", "machine", f"{floor_target.elf_machine}, not {foreign.elf_machine}")
    }


@needs_gcc
def test_needed_library_must_be_allowed_or_shipped_and_reachable(
    tmp_path: Path, host_target: Target
) -> None:
    outside = shared(tmp_path / "elsewhere" / "libextra.so", PLAIN, *HARDENED)
    user = "int answer(void);\nint twice(void) { return 2 * answer(); }\n"
    link = ("-L", str(outside.parent), "-lextra", *HARDENED)
    root = tmp_path / "tree"
    module = f"{DYNLOAD}/user.so"

    # Not shipped at all.
    shared(root / module, user, *link)
    assert found(validate_tree(root, host_target, [])) == {(module, "needed", "libextra.so")}

    # Shipped, but the module has no $ORIGIN search path that leads to it.
    shutil.copy(outside, root / LIB / "libextra.so")
    assert found(validate_tree(root, host_target, [])) == {(module, "needed", "libextra.so")}

    # Shipped and reached through $ORIGIN.
    shared(root / module, user, *link, "-Wl,-rpath,$ORIGIN/../..")
    assert found(validate_tree(root, host_target, [])) == set()

    # A search path outside the archive does not count, even where the library exists.
    shared(root / module, user, *link, f"-Wl,-rpath,{outside.parent}")
    assert found(validate_tree(root, host_target, [])) == {(module, "needed", "libextra.so")}


@needs_gcc
def test_allowed_system_library(tmp_path: Path, host_target: Target) -> None:
    source = "#include <math.h>\ndouble wave(double x) { return cos(x); }\n"
    shared(tmp_path / LIB / "libwave.so", source, "-lm", *HARDENED)
    cc(tmp_path / EXE, INTERPRETER, "-rdynamic", "-Wl,--no-as-needed", "-lm", *HARDENED)
    assert found(validate_tree(tmp_path, host_target, [])) == set()


@needs_gcc
@pytest.mark.parametrize(
    ("flags", "check", "value"),
    [
        (("-Wl,-z,relro,-z,now,-z,execstack",), "stack", "PT_GNU_STACK is executable"),
        (("-Wl,-z,relro,-z,lazy",), "bind-now", "no BIND_NOW"),
        (("-Wl,-z,norelro,-z,now",), "relro", "no PT_GNU_RELRO"),
    ],
)
def test_hardening(
    tmp_path: Path, host_target: Target, flags: tuple[str, ...], check: str, value: str
) -> None:
    shared(tmp_path / LIB / "libweak.so", PLAIN, *flags)
    assert found(validate_tree(tmp_path, host_target, [])) == {(f"{LIB}/libweak.so", check, value)}


@needs_gcc
@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 assembly")
def test_text_relocation(tmp_path: Path, host_target: Target) -> None:
    # An absolute address in code needs the loader to patch .text.
    source = """
long var;
long get(void) { long r; __asm__("movabs $var, %0" : "=r"(r)); return r; }
"""
    shared(tmp_path / LIB / "libtext.so", source, *HARDENED, "-Wl,-z,notext")
    assert found(validate_tree(tmp_path, host_target, [])) == {
        (f"{LIB}/libtext.so", "textrel", "TEXTREL")
    }


@needs_gcc
def test_interpreter_exports_only_cpython_symbols(tmp_path: Path, host_target: Target) -> None:
    source = INTERPRETER + "int SSL_new(void) { return 1; }\nint deflate(void) { return 2; }\n"
    cc(tmp_path / EXE, source, "-rdynamic", *HARDENED)
    # A library exporting the same is fine: only the interpreter and libpython are held to it.
    shared(tmp_path / LIB / "libother.so", source, *HARDENED)
    assert found(validate_tree(tmp_path, host_target, [])) == {
        (EXE, "exports", "SSL_new"),
        (EXE, "exports", "deflate"),
    }


@needs_gcc
def test_copies_of_libc_data_are_reported(tmp_path: Path, host_target: Target) -> None:
    """A position-dependent interpreter that reads libc's data directly defines copies of it
    (copy relocations). Against the sysroot's glibc stubs, which define `environ` and
    `__environ` apart, such a copy of `environ` is never set: they are reported."""
    source = INTERPRETER.replace(
        "int main(void) { return Py_Initialize(); }",
        "#include <stdio.h>\nextern char **environ;\n"
        "int main(void) { fputs(environ[0], stdout); return Py_Initialize(); }",
    )
    exe = cc(tmp_path / EXE, source, "-fPIE", "-no-pie", "-rdynamic", *HARDENED)
    relocations = subprocess.run(["readelf", "--relocs", "--wide", exe], text=True,
                                 capture_output=True, check=True).stdout
    assert "R_X86_64_COPY" in relocations or platform.machine() != "x86_64"
    assert {(EXE, "exports", "environ"), (EXE, "exports", "stdout")} <= found(
        validate_tree(tmp_path, host_target, []))


@needs_gcc
def test_libpython_exports_and_embedding_api(tmp_path: Path, host_target: Target) -> None:
    libpython = f"{LIB}/libpython3.14.so.1.0"
    shared(tmp_path / libpython, "int sqlite3_open(void) { return 0; }\n", *HARDENED)
    # libpython3.so only forwards to libpython3.14: it need not define the API itself.
    shared(tmp_path / LIB / "libpython3.so", "", *HARDENED)
    assert found(validate_tree(tmp_path, host_target, [])) == {
        (libpython, "exports", "sqlite3_open"),
        (libpython, "builtin-init", "Py_Initialize"),
    }


@needs_gcc
def test_builtin_init_functions_from_config_c(tmp_path: Path, host_target: Target) -> None:
    """install_only archives: python/ is the prefix and config.c names the built-in modules."""
    config = tmp_path / "python/lib/python3.14/config-3.14-x86_64-linux-gnu/config.c"
    config.parent.mkdir(parents=True)
    config.write_text(
        "extern PyObject* PyInit__io(void);\n"
        "extern PyObject* PyInit_spam(void);\n"
        "extern PyObject* _PyWarnings_Init(void);\n"
    )
    cc(tmp_path / "python/bin/python3.14", INTERPRETER, "-rdynamic", *HARDENED)
    assert found(validate_tree(tmp_path, host_target, [])) == {
        ("python/bin/python3.14", "builtin-init", "PyInit_spam")
    }


@needs_gcc
def test_object_files_are_not_elf_checked_but_are_scanned(
    tmp_path: Path, host_target: Target
) -> None:
    obj = "python/build/core/Python/pylifecycle.o"
    cc(tmp_path / obj, f'const char *where = "{NEEDLE}/Python";\n', "-c")
    report = validate_tree(tmp_path, host_target, [NEEDLE])
    assert found(report) == {(obj, "build-path", NEEDLE)}
    assert (report.files_checked, report.elf_files_checked) == (1, 0)


@needs_gcc
def test_code_above_the_targets_level_is_reported(tmp_path: Path, catalog: Catalog,
                                                  floor_target: Target) -> None:
    """AVX2 in a library is a problem for x86-64-v2, naming the function, and none for v3."""
    source = ("void add(int *restrict o, const int *restrict a, int n)"
              " { for (int i = 0; i < n; i++) o[i] += a[i]; }\n")
    shared(tmp_path / LIB / "libwide.so", source, *HARDENED, "-O3", "-mavx2")
    v2, v3 = (catalog.target(f"x86_64_{level}-unknown-linux-gnu") for level in ("v2", "v3"))
    (file, check, value), = found(validate_tree(tmp_path, v2, [], catalog.isa))
    assert (file, check) == (f"{LIB}/libwide.so", "isa-level")
    assert value.startswith("add at 0x") and value.endswith("above x86-64-v2, needing AVX, AVX2")
    assert found(validate_tree(tmp_path, v3, [], catalog.isa)) == set()
    # Without the level data, no code is read.
    assert found(validate_tree(tmp_path, v2, [])) == set()


def test_malformed_elf_is_reported(tmp_path: Path, host_target: Target) -> None:
    broken = tmp_path / LIB / "libbroken.so"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 9)
    assert checks(validate_tree(tmp_path, host_target, [])) == {"elf"}


# -- build paths ---------------------------------------------------------------------------


def test_build_path_in_any_file(tmp_path: Path, host_target: Target) -> None:
    config = tmp_path / "python/install/lib/python3.14/_sysconfigdata.py"
    config.parent.mkdir(parents=True)
    config.write_text(f"CC = 'cc -I{NEEDLE}/include -I/tmp/other/include'\n")
    (config.parent / "data.bin").write_bytes(b"\x00\xff" + NEEDLE.encode() + b"\x00")
    (config.parent / "clean.py").write_text("print('hi')\n")
    report = validate_tree(tmp_path, host_target, [NEEDLE, "/tmp/other", "/nowhere", ""])
    assert found(report) == {
        ("python/install/lib/python3.14/_sysconfigdata.py", "build-path", NEEDLE),
        ("python/install/lib/python3.14/_sysconfigdata.py", "build-path", "/tmp/other"),
        ("python/install/lib/python3.14/data.bin", "build-path", NEEDLE),
    }
    assert report.files_checked == 3


@needs_gcc
def test_paths_of_the_machine_it_runs_on_are_found_by_themselves(
    tmp_path: Path, host_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    # Debug information made in the current directory names it (DW_AT_comp_dir).
    debug = "python/install/lib/libdebug.so"
    shared(tmp_path / debug, PLAIN, "-g", *HARDENED)
    mapped = "python/install/lib/libmapped.so"
    shared(tmp_path / mapped, PLAIN, "-g", f"-ffile-prefix-map={project}=/build", *HARDENED)
    planted = {
        "home.so": f"{Path.home()}/.local/lib",
        "staging.so": "/elsewhere/.cache/pbs/tmp/0123456789abcdef/work/src/zlib.c",
        "step.so": "/srv/c/steps/zlib-0123456789abcdef/deps/lib/libz.a",
        "venv.so": f"{sys.prefix}/lib/python3/site-packages/ziglang/lib/libc/csu/init.c",
    }
    for name, path in planted.items():
        shared(tmp_path / LIB / name, f'const char *where = "{path}";\n', *HARDENED)
    report = found(validate_tree(tmp_path, host_target, machine_needles()))
    # Each at least as itself (a venv in the home directory is reported as both).
    assert report >= {
        (debug, "build-path", str(project)),
        (f"{LIB}/home.so", "build-path", f"{Path.home()}/.local"),
        (f"{LIB}/staging.so", "build-path", "/tmp/0123456789abcdef/work/"),
        (f"{LIB}/step.so", "build-path", "/steps/zlib-0123456789abcdef/"),
        (f"{LIB}/venv.so", "build-path", sys.prefix),
    }
    assert {file for file, _, _ in report} == {debug, *(f"{LIB}/{name}" for name in planted)}


def test_machine_paths_are_whole_paths_and_never_system_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "main"
    project.mkdir()
    monkeypatch.chdir(project)
    assert str(project) in machine_paths()
    (tmp_path / "a.txt").write_text(f"{project}ly, and the sample path {Path.home()}/its/here")
    assert named_in(tmp_path / "a.txt", machine_needles()) == []
    for general in ("/", "/usr", "/usr/lib", "/etc", "/tmp"):
        monkeypatch.chdir(general)
        assert general not in machine_paths()


def test_symlinks_are_not_files(tmp_path: Path, host_target: Target) -> None:
    bin_dir = tmp_path / "python/install/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "pydoc3.14").write_text("#!/bin/sh\n")
    (bin_dir / "pydoc3").symlink_to("pydoc3.14")
    (bin_dir / "python3").symlink_to(NEEDLE)  # dangling, and not read
    assert validate_tree(tmp_path, host_target, [NEEDLE]).files_checked == 1


# -- PYTHON.json ---------------------------------------------------------------------------


def full_tree(root: Path, *, skip: set[str] = frozenset()) -> dict:
    """A full-archive tree: PYTHON.json and every file it names (empty, except as replaced)."""
    data = make_data()
    # Every module the sample does not build in must be shipped as a shared library.
    data["build_info"]["extensions"]["_ssl"][0]["shared_lib"] = (
        "install/lib/python3.14/lib-dynload/_ssl.cpython-314-x86_64-linux-gnu.so"
    )
    write_json(root, data, skip=skip)
    return data


def write_json(root: Path, data: dict, *, skip: set[str] = frozenset()) -> None:
    python = root / "python"
    materialise(python, data, skip=skip)
    (python / "PYTHON.json").write_text(json.dumps(data))


def test_full_tree_passes(tmp_path: Path, host_target: Target) -> None:
    full_tree(tmp_path)
    assert validate_tree(tmp_path, host_target, [NEEDLE]).ok


def test_python_json_naming_a_missing_file(tmp_path: Path, host_target: Target) -> None:
    full_tree(tmp_path, skip={"build/Modules/_ssl.o"})
    problems = validate_tree(tmp_path, host_target, []).problems
    assert [(p.file, p.check) for p in problems] == [("python/PYTHON.json", "python-json")]
    assert "build_info.extensions._ssl[0].objs[0]: 'build/Modules/_ssl.o'" in problems[0].value


def test_python_json_schema_and_syntax(tmp_path: Path, host_target: Target) -> None:
    data = full_tree(tmp_path)
    del data["python_tag"]
    (tmp_path / "python/PYTHON.json").write_text(json.dumps(data))
    assert {(p.check, p.value) for p in validate_tree(tmp_path, host_target, []).problems} == {
        ("python-json", "python_tag: missing required key")
    }
    (tmp_path / "python/PYTHON.json").write_text("{")
    assert checks(validate_tree(tmp_path, host_target, [])) == {"python-json"}


def test_extensions_must_match_the_shipped_modules(tmp_path: Path, host_target: Target) -> None:
    data = full_tree(tmp_path)
    stray = "python/install/lib/python3.14/lib-dynload/_stray.cpython-314-x86_64-linux-gnu.so"
    (tmp_path / stray).write_bytes(b"")
    del data["build_info"]["extensions"]["_ssl"][0]["shared_lib"]
    write_json(tmp_path, data)
    assert found(validate_tree(tmp_path, host_target, [])) == {
        (stray, "extensions", "not named by PYTHON.json's extensions"),
        (
            "python/install/lib/python3.14/lib-dynload/_ssl.cpython-314-x86_64-linux-gnu.so",
            "extensions",
            "not named by PYTHON.json's extensions",
        ),
        (
            "python/PYTHON.json",
            "extensions",
            "build_info.extensions._ssl[0]: not in core and names no shared_lib",
        ),
    }


@needs_gcc
def test_built_in_modules_from_python_json(tmp_path: Path, host_target: Target) -> None:
    data = full_tree(tmp_path)
    data["build_info"]["extensions"]["_json"] = [
        {**data["build_info"]["extensions"]["_io"][0], "init_fn": "PyInit__json"}
    ]
    write_json(tmp_path, data)
    cc(tmp_path / EXE, INTERPRETER, "-rdynamic", *HARDENED)
    assert found(validate_tree(tmp_path, host_target, [])) == {
        (EXE, "builtin-init", "PyInit__json")
    }


# -- archives and output ---------------------------------------------------------------------


@pytest.fixture
def small_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    notes = root / "python/install/lib/notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text(f"built in {NEEDLE}\n")
    if GCC is not None:
        shared(root / LIB / "libgood.so", PLAIN, *HARDENED)
        (root / LIB / "libgood.so.1").symlink_to("libgood.so")
    return root


def tar_bytes(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(root / "python", arcname="python")
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.zst"])
def test_validate_archive(
    small_tree: Path, tmp_path: Path, host_target: Target, suffix: str
) -> None:
    archive = tmp_path / f"cpython-3.14.7-x86_64-unknown-linux-gnu-install_only{suffix}"
    data = tar_bytes(small_tree)
    if suffix == ".tar.gz":
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(small_tree / "python", arcname="python")
    else:
        archive.write_bytes(zstandard.ZstdCompressor().compress(data))
    report = validate_archive(archive, host_target, [NEEDLE])
    assert report == validate_tree(small_tree, host_target, [NEEDLE])
    assert found(report) == {("python/install/lib/notes.txt", "build-path", NEEDLE)}

    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(PbsError, match="cannot read archive"):
        validate_archive(archive, host_target, [NEEDLE])


def test_unknown_archive_type(tmp_path: Path, host_target: Target) -> None:
    archive = tmp_path / "python.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(PbsError, match="unsupported archive type"):
        validate_archive(archive, host_target, [])


def test_problems_sort_and_render() -> None:
    problems = (
        Problem("python/lib/b.so", "glibc", "GLIBC_2.34 > 2.17"),
        Problem("python/lib/a.so", "needed", "libz.so.1"),
    )
    assert str(problems[1]) == "python/lib/a.so: needed: libz.so.1"
    assert min(problems) == problems[1]
    report = Report(files_checked=4321, elf_files_checked=57, problems=tuple(sorted(problems)))
    assert not report.ok
    assert render(report) == [
        "python/lib/a.so: needed: libz.so.1",
        "python/lib/b.so: glibc: GLIBC_2.34 > 2.17",
        "checked 4321 files (57 ELF): 2 problems",
    ]
    assert render(Report(3, 0, ())) == ["checked 3 files (0 ELF): 0 problems"]


# -- what is not a distribution, as `pbs validate` sees it ---------------------------------

FULL_NAME = "cpython-3.14.7+1-x86_64-unknown-linux-gnu-noopt-full.tar.zst"


def validate_command(*archives: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`pbs validate` as a user runs it, its temporary directories in tmp_path/tmp."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pbs", "validate", *map(str, archives)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PBS_CACHE_DIR": str(tmp_path / "cache"),
             "TMPDIR": str(tmp_path / "tmp")},
    )


def full_archive_of(tree: Path, archive: Path) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(tree / "python", arcname="python")
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return archive


def test_what_is_not_a_distribution_has_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    no_python = tmp_path / "no-python"
    (no_python / "lib").mkdir(parents=True)
    (no_python / "lib" / "notes.txt").write_text("hello\n")
    without_json = tmp_path / "without-json"
    full_tree(without_json)
    (without_json / "python" / "PYTHON.json").unlink()
    without_interpreter = tmp_path / "without-interpreter"
    full_tree(without_interpreter, skip={"install/bin/python3.14"})
    archives = [
        empty,
        no_python,
        full_archive_of(without_json, tmp_path / "a" / FULL_NAME),
        full_archive_of(without_interpreter, tmp_path / "b" / FULL_NAME),
    ]
    result = validate_command(*archives, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ""
    reports = result.stdout.split(f"{FULL_NAME}:\n")
    assert reports[0] == (
        "empty:\n"
        "  python/: layout: missing: not a distribution\n"
        "  checked 0 files (0 ELF): 1 problem\n"
        "no-python:\n"
        "  python/: layout: missing: not a distribution\n"
        "  checked 1 files (0 ELF): 1 problem\n"
    )
    assert reports[1].splitlines() == [
        "  python/PYTHON.json: python-json: PYTHON.json is missing",
        "  checked 16 files (0 ELF): 1 problem",
    ]
    assert "  python/install/bin/: layout: no python3 interpreter\n" in reports[2]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_fifo_or_device_is_refused_at_once_and_the_others_still_checked(
    tmp_path: Path, host_target: Target
) -> None:
    fifo = tmp_path / "fifo" / FULL_NAME
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    damaged = tmp_path / "damaged" / FULL_NAME
    damaged.parent.mkdir()
    damaged.write_bytes(b"not zstd")
    good = tmp_path / "good"
    full_tree(good)
    started = time.monotonic()
    result = validate_command(fifo, Path("/dev/zero"), tmp_path / "missing.tar.zst", damaged,
                              good, tmp_path=tmp_path)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{FULL_NAME}:",
        f"  error: {fifo} is not a regular file or directory",
        "zero:",
        "  error: /dev/zero is not a regular file or directory",
        "missing.tar.zst:",
        f"  error: {tmp_path / 'missing.tar.zst'} does not exist",
        f"{FULL_NAME}:",
        f"  error: cannot read archive {FULL_NAME}: zstd decompress error: Unknown frame "
        "descriptor",
        "good:",
        f"  checked {validate_tree(good, host_target, []).files_checked} files (0 ELF): 0 problems",
    ]
    assert result.stderr == ""
    assert list((tmp_path / "tmp").iterdir()) == []


def test_paths_that_lead_out_of_a_tree_are_problems_and_never_read(
    tmp_path: Path, host_target: Target
) -> None:
    """A directory given to `pbs validate` can hold any symlink: what PYTHON.json names must
    stay inside, and a config.c that is a FIFO (or leads to /dev/zero) is not read."""
    root = tmp_path / "tree"
    full_tree(root)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the archive's\n")
    license_path = root / "python" / "licenses" / "LICENSE.cpython.txt"
    license_path.unlink()
    license_path.symlink_to(outside)
    config = root / "python/install/lib/python3.14/config-3.14-x86_64-linux-gnu/config.c"
    os.mkfifo(config)
    install_only = tmp_path / "install-only"
    config_c = install_only / "python/lib/python3.14/config-3.14-x86_64-linux-gnu/config.c"
    config_c.parent.mkdir(parents=True)
    config_c.symlink_to("/dev/zero")
    (install_only / "python/bin").mkdir()
    (install_only / "python/bin/python3").write_text("")
    assert found(validate_tree(root, host_target, [])) == {
        ("python/PYTHON.json", "python-json",
         f"license_path: 'licenses/LICENSE.cpython.txt' leads outside {root / 'python'} "
         "through a symlink"),
    }
    assert validate_tree(install_only, host_target, []).ok


def test_a_killed_validations_directory_goes_with_the_next_validation(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    leftover = killed_leftover(tmp_path / "tmp", "pbs-validate-")
    tree = tmp_path / "tree"
    full_tree(tree)
    result = validate_command(full_archive_of(tree, tmp_path / FULL_NAME), tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout
    assert not leftover.exists()
    assert list((tmp_path / "tmp").iterdir()) == []
