"""Unit tests of the CPython layer on small real inputs: module tables, relocation."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from conftest import pbs

from pbs.buildpaths import files_naming
from pbs.cache import Cache, default_cache_root
from pbs.catalog import SourcePatch, load_catalog
from pbs.cpython.patches import apply_patches
from pbs.cpython.modules import (
    module_states,
    read_module_table,
    setup_local,
    unbuilt_modules,
    with_setup_rules,
)
from pbs.cpython.relocate import Rewrites, relocate
from pbs.errors import PbsError
from pbs.sources.extract import extract_archive, source_root

SETUP_BOOTSTRAP = """\
# Built-in modules required to get a functioning interpreter.
*static*
posix posixmodule.c
_io _io/_iomodule.c _io/iobase.c
"""
SETUP_STDLIB = """\
# -*- makefile -*-
*@MODULE_BUILDTYPE@*
@MODULE_ARRAY_TRUE@array arraymodule.c
@MODULE__SSL_TRUE@_ssl _ssl.c
@MODULE__GDBM_TRUE@_gdbm _gdbmmodule.c
@MODULE__SCPROXY_TRUE@_scproxy _scproxy.c

# Test modules
@MODULE__TESTCAPI_TRUE@_testcapi _testcapimodule.c
*shared*
@MODULE_XXLIMITED_TRUE@xxlimited xxlimited.c

# for performance
*static*
@MODULE__ASYNCIO_TRUE@_asyncio _asynciomodule.c
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    modules = tmp_path / "Modules"
    modules.mkdir()
    (modules / "Setup.bootstrap.in").write_text(SETUP_BOOTSTRAP)
    (modules / "Setup.stdlib.in").write_text(SETUP_STDLIB)
    return tmp_path


def test_module_table_reads_both_tables_and_the_test_section(source: Path) -> None:
    table = read_module_table(source)
    assert table.bootstrap == ("posix", "_io")
    assert table.stdlib == ("array", "_ssl", "_gdbm", "_scproxy", "_testcapi", "xxlimited", "_asyncio")
    # The test section ends at a later *static* marker: _asyncio is not a test module.
    assert table.test == ("_testcapi", "xxlimited")


def test_unbuilt_modules_names_each_missing_module_with_its_state(source: Path) -> None:
    table = read_module_table(source)
    makefile = source / "Makefile"
    makefile.write_text(
        "MODULE_ARRAY_STATE=yes\nMODULE__SSL_STATE=missing\nMODULE__GDBM_STATE=disabled\n"
        "MODULE__SCPROXY_STATE=n/a\nMODULE__TESTCAPI_STATE=yes\nMODULE_XXLIMITED_STATE=yes\n"
        "MODULE__ASYNCIO_STATE=yes\n"
    )
    states = module_states(makefile)
    assert states["_SSL"] == "missing"
    assert unbuilt_modules(table, states, excluded=set()) == ["_ssl (missing)", "_gdbm (disabled)"]
    # A deliberate exclusion is not a failure; n/a modules are never expected.
    assert unbuilt_modules(table, states, excluded={"_gdbm"}) == ["_ssl (missing)"]


def test_setup_local_keeps_test_modules_shared(source: Path) -> None:
    table = read_module_table(source)
    generated = source / "Modules" / "Setup.stdlib"
    generated.write_text(SETUP_STDLIB.replace("@MODULE__TESTCAPI_TRUE@", "").replace(
        "@MODULE_XXLIMITED_TRUE@", "").replace("@MODULE_ARRAY_TRUE@", ""))
    text = setup_local(generated, table, None)
    assert text.splitlines() == ["*shared*", "_testcapi _testcapimodule.c", "xxlimited xxlimited.c"]


def test_setup_py_era_setup_local_builds_stdlib_and_the_extra_rules_in(source: Path) -> None:
    rules = ("_dbm _dbmmodule.c -DUSE_BERKDB -ldb", "readline readline.c -ledit -lncursesw")
    table = with_setup_rules(read_module_table(source), rules)
    assert table.stdlib[-2:] == ("_dbm", "readline")
    assert "_dbm" not in table.test
    generated = source / "Modules" / "Setup.stdlib"
    generated.write_text(SETUP_STDLIB.replace("@MODULE__TESTCAPI_TRUE@", "").replace(
        "@MODULE_XXLIMITED_TRUE@", "").replace("@MODULE_ARRAY_TRUE@", ""))
    lines = setup_local(generated, table, rules).splitlines()
    # The test modules' shared rules come first (makesetup keeps a module's first rule), then
    # pbs's rules and all of Setup.stdlib, whose own markers follow.
    assert lines[:5] == ["*shared*", "_testcapi _testcapimodule.c", "xxlimited xxlimited.c",
                         "*static*", rules[0]]
    assert lines[5] == rules[1]
    assert lines[6:] == generated.read_text().splitlines()


def test_missing_test_heading_is_an_error(source: Path) -> None:
    (source / "Modules" / "Setup.stdlib.in").write_text("*static*\narray arraymodule.c\n")
    with pytest.raises(PbsError, match="Test modules"):
        read_module_table(source)


REWRITES = Rewrites(
    tools={"/cache/toolchains/abc/bin/x86_64-unknown-linux-gnu-clang": "cc",
           "/usr/lib/llvm-22/bin/llvm-ar": "ar", "/usr/lib/llvm-22/bin/": ""},
    build_dirs={"/cache/tmp/w1/deps-root/deps": "/deps", "/cache/tmp/w1/src/Python-3.14.7":
                "/build/cpython", "/cache/tmp/w1": "/build"},
)


def test_rewrites_make_sysconfig_values_plain() -> None:
    text = REWRITES.text(
        " 'CC': '/cache/toolchains/abc/bin/x86_64-unknown-linux-gnu-clang',"
        " 'CPPFLAGS': '-I. -I/cache/tmp/w1/deps-root/deps/include -I./Include',"
        " 'LDFLAGS': '-L/cache/tmp/w1/deps-root/deps/lib -Wl,--exclude-libs,ALL',"
        " 'AR': '/usr/lib/llvm-22/bin/llvm-ar', 'PROFDATA': '/usr/lib/llvm-22/bin/llvm-profdata',"
        " 'abs_srcdir': '/cache/tmp/w1/src/Python-3.14.7',"
    )
    assert "'CC': 'cc'" in text
    assert "'CPPFLAGS': '-I. -I./Include'" in text
    assert "'LDFLAGS': ' -Wl,--exclude-libs,ALL'" in text
    assert "'AR': 'ar'" in text and "'PROFDATA': 'llvm-profdata'" in text
    assert "'abs_srcdir': '/build/cpython'" in text
    assert "/cache" not in text


def _install_tree(root: Path) -> Path:
    install = root / "install"
    (install / "bin").mkdir(parents=True)
    (install / "lib" / "pkgconfig").mkdir(parents=True)
    stdlib = install / "lib" / "python3.14"
    stdlib.mkdir()
    (stdlib / "_sysconfigdata__linux_x86_64-linux-gnu.py").write_text(
        "build_time_vars = {'CC': '/cache/toolchains/abc/bin/x86_64-unknown-linux-gnu-clang',\n"
        " 'srcdir': '/cache/tmp/w1/src/Python-3.14.7'}\n"
    )
    (install / "lib" / "pkgconfig" / "python-3.14.pc").write_text(
        "prefix=/install\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\n"
        "Name: Python\nVersion: 3.14\nLibs: -L${libdir}\n"
    )
    python = install / "bin" / "python3.14"
    python.symlink_to("/bin/sh")
    script = install / "bin" / "pip"
    script.write_text(f"#!{install}/bin/python3.14\nimport sys\nprint('from pip', sys.argv[1:])\n")
    script.chmod(0o755)
    return install


def test_relocate_rewrites_descriptions_pkgconfig_and_shebangs(tmp_path: Path) -> None:
    install = _install_tree(tmp_path)
    relocate(install, REWRITES)
    data = (install / "lib" / "python3.14" / "_sysconfigdata__linux_x86_64-linux-gnu.py").read_text()
    assert "'CC': 'cc'" in data and "/cache" not in data
    assert (install / "lib" / "pkgconfig" / "python-3.14.pc").read_text().startswith(
        "prefix=${pcfiledir}/../..\n")
    assert (install / "bin" / "pip").read_text().startswith("#!/bin/sh\n")


def test_relocation_lists_the_rewritten_scripts_in_their_wheels_record(tmp_path: Path) -> None:
    install = _install_tree(tmp_path)
    dist_info = install / "lib" / "python3.14" / "site-packages" / "pip-26.3.dist-info"
    dist_info.mkdir(parents=True)
    untouched = "pip/__init__.py,sha256=abc,10\r\n"
    (dist_info / "RECORD").write_bytes(
        f"../../../bin/pip,sha256=stale,99\r\n{untouched}pip-26.3.dist-info/RECORD,,\r\n".encode())
    relocate(install, REWRITES)
    script = (install / "bin" / "pip").read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(script).digest()).rstrip(b"=").decode()
    assert (dist_info / "RECORD").read_bytes().decode() == (
        f"../../../bin/pip,sha256={digest},{len(script)}\r\n{untouched}"
        "pip-26.3.dist-info/RECORD,,\r\n")


def test_relocate_refuses_a_tree_naming_the_machine_it_is_built_on(tmp_path: Path) -> None:
    install = _install_tree(tmp_path)
    (install / "lib" / "python3.14" / "stray.json").write_text('{"home": "/home/u/.local"}')
    with pytest.raises(PbsError, match="stray.json"):
        relocate(install, REWRITES, [re.compile(rb"/home/u/\.")])


def test_relocated_script_runs_its_neighbouring_interpreter_from_anywhere(tmp_path: Path) -> None:
    install = _install_tree(tmp_path / "a")
    # A real interpreter beside the script: this test's own Python.
    (install / "bin" / "python3.14").unlink()
    (install / "bin" / "python3.14").symlink_to(os.path.realpath(subprocess.sys.executable))
    relocate(install, REWRITES)
    moved = tmp_path / "elsewhere"
    install.rename(moved)
    link = tmp_path / "pip-link"
    link.symlink_to(moved / "bin" / "pip")
    for command in (moved / "bin" / "pip", link):
        result = subprocess.run([str(command), "x"], capture_output=True, text=True, check=True)
        assert result.stdout == "from pip ['x']\n"


def test_relocate_refuses_a_tree_that_still_names_the_build(tmp_path: Path) -> None:
    install = _install_tree(tmp_path)
    (install / "lib" / "python3.14" / "stray.txt").write_text("built in /cache/tmp/w1/src\n")
    with pytest.raises(PbsError, match="stray.txt"):
        relocate(install, REWRITES)


def test_files_naming_finds_binary_matches(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\x7fELF\x00/cache/tmp/w1\x00")
    (tmp_path / "b.txt").write_text("clean")
    assert files_naming(tmp_path, ["/cache/tmp/w1"]) == [tmp_path / "a.bin"]


def test_a_patch_whose_text_is_not_there_once_stops_the_build(tmp_path: Path) -> None:
    # A release that reorganized the code must fail the build, not lose the edit or make it twice.
    patch = SourcePatch(name="demo", file="Modules/getpath.py", python=SpecifierSet(),
                        find="prefix = PREFIX\n", replace="prefix = found\n")
    (tmp_path / "Modules").mkdir()
    getpath = tmp_path / "Modules" / "getpath.py"
    for text in ("prefix = other\n", "prefix = PREFIX\nprefix = PREFIX\n"):
        getpath.write_text(text)
        with pytest.raises(PbsError, match="patch demo: Modules/getpath.py holds"):
            apply_patches(tmp_path, [patch])
        assert getpath.read_text() == text
    getpath.write_text("x = 1\nprefix = PREFIX\n")
    apply_patches(tmp_path, [patch])
    assert getpath.read_text() == "x = 1\nprefix = found\n"


def test_a_patch_for_some_options_is_made_for_builds_with_them_only() -> None:
    catalog = load_catalog()
    version = catalog.python(None).version
    static = catalog.parse_options("noopt+static", catalog.python(None),
                                   catalog.target("x86_64-unknown-linux-musl"))
    dynamic = catalog.parse_options("noopt", catalog.python(None), catalog.target(None))
    for_static = set(catalog.patches_for(version, static, "musl"))
    for_dynamic = set(catalog.patches_for(version, dynamic, "musl"))
    assert for_dynamic < for_static
    assert all(patch.options == ("static",) for patch in for_static - for_dynamic)


def test_a_patch_for_one_libc_is_made_for_its_targets_only() -> None:
    catalog = load_catalog()
    version = catalog.python(None).version
    options = catalog.parse_options("noopt", catalog.python(None), catalog.target(None))
    for_musl = set(catalog.patches_for(version, options, "musl"))
    for_glibc = set(catalog.patches_for(version, options, "glibc"))
    assert for_glibc < for_musl
    assert all(patch.libc == ("musl",) for patch in for_musl - for_glibc)


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.13", "3.14", "3.15"])
def test_every_catalogued_patch_applies_to_its_real_source(tmp_path: Path, version: str) -> None:
    # Against the real release: each edit finds its text once, and edited Python still parses.
    catalog = load_catalog()
    python = catalog.python(version)
    cache = Cache(default_cache_root())
    fetched = pbs("fetch", "--python", version, cache=cache.root)
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    artifact = catalog.python_source(python).artifacts[0]
    tarball = cache.source_path(artifact.sha256, artifact.file)
    source = source_root(extract_archive(tarball, tmp_path / "src"))
    # Every edit, whatever build options it is made for.
    patches = tuple(patch for patch in catalog.patches
                    if patch.python.contains(python.version, prereleases=True))
    assert patches
    # Python this interpreter can parse before the edits must still parse after them (3.15's
    # stdlib has syntax older interpreters lack, such as `lazy import`).
    parsable = {patch.file for patch in patches
                if patch.file.endswith(".py") and parses((source / patch.file).read_text())}
    apply_patches(source, patches)
    for patch in patches:
        text = (source / patch.file).read_text()
        assert patch.replace in text
        if patch.file in parsable:
            compile(text, patch.file, "exec")


def parses(text: str) -> bool:
    try:
        compile(text, "<original>", "exec")
    except SyntaxError:
        return False
    return True
