"""`pbs link`: choosing modules, trimming the inittab, and a real re-link of a built archive."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard
from conftest import E2E_ARCHIVES, E2EBuild, killed_leftover, pbs
from test_metadata import make_data, materialise

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


# -- hostile and broken full archives: refused before anything they name is touched --------

FULL = "cpython-3.14.7+1-x86_64-unknown-linux-gnu-noopt-full.tar.zst"


def full_archive(
    where: Path, document: bytes | None = None, *, links: dict[str, str] | None = None
) -> Path:
    """A small full archive: a valid PYTHON.json (or `document`) and every file it names,
    plus `links` (member name -> symlink target)."""
    tree = where / "tree"
    data = make_data()
    materialise(tree / "python", data)
    (tree / "python" / "PYTHON.json").write_bytes(document or json.dumps(data).encode())
    for name, target in (links or {}).items():
        (tree / name).unlink()
        (tree / name).symlink_to(target)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(tree / "python", arcname="python")
    archive = where / FULL
    archive.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    shutil.rmtree(tree)
    return archive


def changed(data: dict, **changes: object) -> bytes:
    return json.dumps({**data, **changes}).encode()


HOSTILE = {
    "paths leading out": (
        changed(make_data(), python_exe="install/../../victim-bin/python3",
                python_stdlib_platform_config="install/../../victim-cfg",
                python_paths={**make_data()["python_paths"], "stdlib": "install/../../victim-lib"}),
        "python_paths.stdlib: 'install/../../victim-lib' must not contain '..'; "
        "python_exe: 'install/../../victim-bin/python3' must not contain '..'; "
        "python_stdlib_platform_config: 'install/../../victim-cfg' must not contain '..'",
    ),
    "an absolute path": (
        changed(make_data(), python_exe="/victim-bin/python3"),
        "python_exe: '/victim-bin/python3' must be relative to the directory holding PYTHON.json",
    ),
    "not JSON": (b"{not json", "not valid JSON: Expecting property name"),
    "binary bytes": (b"\x00\xff\xfe\x80garbage", "not valid JSON:"),
    "a list": (b"[1, 2]", "document: expected a JSON object, got array"),
    "an empty object": (b"{}", "version: missing required key; target_triple: missing"),
    "a missing key": (
        json.dumps({k: v for k, v in make_data().items() if k != "python_exe"}).encode(),
        "python_exe: missing required key",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_link_refuses_a_hostile_or_broken_python_json(tmp_path: Path, case: str) -> None:
    document, problem = HOSTILE[case]
    work = tmp_path / "work"
    work.mkdir()
    archive = full_archive(work, document)
    victims = {name: work / name / "keep" for name in ("victim-bin", "victim-cfg", "victim-lib")}
    for victim in victims.values():
        victim.parent.mkdir()
        victim.write_text("precious")
    result = pbs("link", archive, "-o", work / "out", cache=tmp_path / "cache")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"pbs: error: python/PYTHON.json of {FULL} is not a valid format-8 PYTHON.json: {problem}"
    )
    assert result.stderr.count("\n") == 1
    assert all(victim.read_text() == "precious" for victim in victims.values())
    assert sorted(p.name for p in work.iterdir()) == [FULL, *sorted(victims)]
    assert not (tmp_path / "cache" / "toolchains").exists()  # refused before any work


def test_link_refuses_symlinks_that_lead_out(tmp_path: Path) -> None:
    # Out of the archive: extraction refuses it.
    outside = full_archive(tmp_path, links={"python/install/bin/python3.14": "/etc/passwd"})
    result = pbs("link", outside, "-o", tmp_path / "out", cache=tmp_path / "cache")
    assert result.returncode == 1
    assert result.stderr == (
        f"pbs: error: refusing to extract {FULL}: member 'python/install/bin/python3.14' is a "
        "symlink to '/etc/passwd', which is an absolute path\n"
    )
    # Out of install/, the tree linking writes: the interpreter would be written elsewhere.
    elsewhere = full_archive(
        tmp_path, links={"python/install/bin/python3.14": "../../build/run_tests.py"}
    )
    result = pbs("link", elsewhere, "-o", tmp_path / "out", cache=tmp_path / "cache")
    assert result.returncode == 1
    assert result.stderr == (
        f"pbs: error: python/PYTHON.json of {FULL}: python_exe 'install/bin/python3.14' is not "
        "in install/, the tree linking writes\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", FULL]


def test_a_killed_links_work_directory_goes_with_the_next_link(tmp_path: Path) -> None:
    leftover = killed_leftover(tmp_path, ".pbs-link-")
    archive = full_archive(tmp_path, b"[]")
    result = pbs("link", archive, "-o", tmp_path / "out", cache=tmp_path / "cache")
    assert result.returncode == 1  # the archive is refused, but the leftover is gone anyway
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", FULL]
