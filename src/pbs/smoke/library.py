"""Checks of the bundled libraries, each a script run by the archive's interpreter."""

from __future__ import annotations

from dataclasses import replace

from pbs.cpython.modules import module_states
from pbs.smoke.compiler import CompileFailed, has_cc, shared_library
from pbs.smoke.result import CheckResult, failed
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import InstallTree

# What SQLite's loader needs from an extension: its default entry point, returning SQLITE_OK.
_SQLITE_EXTENSION = (
    "int sqlite3_extension_init(void *db, char **err, const void *api) { return 0; }\n"
)


def imports(tree: InstallTree, modules: list[str]) -> CheckResult:
    return scripted(tree, "imports", "check_imports", *modules)


def ssl_system_store(tree: InstallTree) -> CheckResult:
    return scripted(tree, "ssl-system-store", "check_ssl_system_store")


def sqlite3(tree: InstallTree) -> CheckResult:
    name = "sqlite3"
    if tree.static or not has_cc(tree):
        result = scripted(tree, name, "check_sqlite3")
        if result.failed:
            return result
        why = "a static interpreter loads none" if tree.static else "no cc"
        return replace(result, detail=f"{result.detail}; load_extension not checked: {why}")
    try:
        extension = shared_library(tree, _SQLITE_EXTENSION, "pbs_noop.so", step=name)
    except CompileFailed as exc:
        return failed(name, f"cannot build the test extension: {exc}")
    return scripted(tree, name, "check_sqlite3", str(extension))


def ctypes(tree: InstallTree) -> CheckResult:
    # A static interpreter loads no library, libc included: libffi is checked by itself.
    return scripted(tree, "ctypes", "check_ctypes_static" if tree.static else "check_ctypes")


def compression(tree: InstallTree) -> CheckResult:
    return scripted(tree, "compression", "check_compression")


def curses_tcl(tree: InstallTree) -> CheckResult:
    return scripted(tree, "curses-tcl", "check_curses_tcl")


def hashlib(tree: InstallTree) -> CheckResult:
    return scripted(tree, "hashlib", "check_hashlib")


def uuid(tree: InstallTree) -> CheckResult:
    # The C accelerator is required only where configure built it.
    states = module_states(tree.config_dir / "Makefile")
    expect = ["expect-c"] if states.get("_UUID") == "yes" else []
    return scripted(tree, "uuid", "check_uuid", *expect)


def decimal(tree: InstallTree) -> CheckResult:
    return scripted(tree, "decimal", "check_decimal")


def slot_identity(tree: InstallTree) -> CheckResult:
    return scripted(tree, "slot-identity", "check_slot_identity")
