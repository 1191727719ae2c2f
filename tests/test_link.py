"""`pbs link`: choosing modules, trimming the inittab, and a real re-link of a built archive."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard
from conftest import E2E_ARCHIVES, E2EBuild, pbs

from pbs.catalog import load_catalog
from pbs.errors import PbsError, UsageError
from pbs.link import BuiltinModule, choose_modules, trim_inittab
from pbs.validate import validate_tree


def module(name: str, required: bool = False) -> BuiltinModule:
    return BuiltinModule(name=name, init_fn=f"PyInit_{name}", required=required, objs=(), links=())


AVAILABLE = {m.name: m for m in (module("posix", True), module("_io", True), module("_ssl"),
                                 module("_sqlite3"), module("zlib"))}

CONFIG_C = """#include "Python.h"

extern PyObject* PyInit_posix(void);
extern PyObject* PyInit__ssl(void);
extern PyObject* PyInit_zlib(void);

struct _inittab _PyImport_Inittab[] = {
    {"posix", PyInit_posix},
    {"_ssl", PyInit__ssl},
    {"zlib", PyInit_zlib},
    {0, 0}
};
"""


def names(modules: list[BuiltinModule]) -> list[str]:
    return [m.name for m in modules]


def test_excluding_keeps_everything_else() -> None:
    linked, left_out = choose_modules(AVAILABLE, None, frozenset({"_ssl", "_sqlite3"}))
    assert names(linked) == ["_io", "posix", "zlib"]
    assert names(left_out) == ["_sqlite3", "_ssl"]


def test_including_adds_the_required_modules() -> None:
    linked, _ = choose_modules(AVAILABLE, frozenset({"zlib"}), frozenset())
    assert names(linked) == ["_io", "posix", "zlib"]


def test_an_unknown_module_lists_the_available_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown built-in module _nope; .*: _io, _sqlite3, _ssl, posix, zlib"):
        choose_modules(AVAILABLE, None, frozenset({"_nope"}))


def test_required_modules_cannot_be_left_out() -> None:
    with pytest.raises(UsageError, match="cannot leave out _io, posix"):
        choose_modules(AVAILABLE, None, frozenset({"posix", "_io", "zlib"}))


def test_the_inittab_loses_exactly_the_left_out_modules() -> None:
    trimmed = trim_inittab(CONFIG_C, [AVAILABLE["_ssl"]])
    assert "_ssl" not in trimmed
    assert trimmed.count("PyInit_posix") == 2 and trimmed.count("PyInit_zlib") == 2


def test_a_module_missing_from_the_inittab_is_an_error() -> None:
    with pytest.raises(PbsError, match="PyInit__sqlite3"):
        trim_inittab(CONFIG_C, [AVAILABLE["_sqlite3"]])


def archive_facts(archive: Path) -> tuple[dict, int]:
    """A full archive's PYTHON.json and the size of its interpreter."""
    with zstandard.open(archive, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        document, size = None, 0
        for member in tar:
            if member.name == "python/PYTHON.json":
                document = json.load(tar.extractfile(member))
            elif member.name == "python/install/bin/python3.14":
                size = member.size
    assert document is not None and size
    return document, size


@pytest.mark.slow
def test_link_without_sqlite_and_ssl(e2e_build: E2EBuild, tmp_path: Path) -> None:
    archive = e2e_build.dist / E2E_ARCHIVES[0]
    out = tmp_path / "linked"
    result = pbs("link", archive, "-o", out, "--exclude", "_sqlite3,_ssl", "--embed-example",
                 cache=e2e_build.cache)
    assert result.returncode == 0, result.stderr[-3000:]
    python = out / "python" / "bin" / "python3"
    env = {"PATH": os.environ["PATH"]}

    def attempt(code: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-c", code, *args], capture_output=True, text=True,
                              env=env, check=False)

    for gone in ("sqlite3", "ssl", "_sqlite3", "_ssl"):
        failed = attempt(f"try:\n import {gone}\nexcept ImportError:\n print('ImportError')")
        assert failed.stdout == "ImportError\n", (gone, failed.stderr[-2000:])
    # Every other extension module of the archive still imports.
    document, original_size = archive_facts(archive)
    others = sorted(set(document["build_info"]["extensions"]) - {"_sqlite3", "_ssl"})
    imported = attempt("import importlib, sys\n"
                       "for n in sys.argv[1:]: importlib.import_module(n)\nprint('ok')", *others)
    assert imported.stdout == "ok\n", imported.stderr[-2000:]
    report = validate_tree(out, load_catalog().target(None), [str(e2e_build.cache)])
    assert report.problems == ()
    assert (out / "python" / "bin" / "python3.14").stat().st_size < original_size
    embedded = subprocess.run([out / "python" / "bin" / "embed-example", "6 * 7"],
                              capture_output=True, text=True, env=env, check=False)
    assert embedded.stdout == "42\n", embedded.stderr[-2000:]
