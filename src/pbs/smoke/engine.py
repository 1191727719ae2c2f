"""`pbs test ARCHIVE`: unpack a built archive somewhere new and put its interpreter to work."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pbs.cache import held_directory, sweep_held
from pbs.catalog import load_catalog
from pbs.names import FULL, parse_archive_name
from pbs.loader import ToolchainLibc
from pbs.runner import Runner
from pbs.smoke import api, building, gui, library, regrtest, relocation, terminal, tls
from pbs.smoke.expected import modules_to_import
from pbs.smoke.result import CheckResult
from pbs.smoke.tree import unpack

# The temporary directory's prefix: a space, so that nothing depends on unquoted paths.
WORK_PREFIX = "pbs test "


def test_archive(
    archive: Path,
    *,
    full_regrtest: bool = False,
    log: Path,
    runner: Runner,
    work_dir: Path | None = None,
    libc: ToolchainLibc | None = None,
) -> list[CheckResult]:
    """Run every check on `archive` (a .tar.gz install_only or .tar.zst full archive).
    `libc` is the target's C library where the build machine has none (musl's, from its
    toolchain): the archive's programs run with its loader laid over /lib, the chroot holds it,
    and its compiler builds the C extensions where no Debian package has one for the target.

    The archive is unpacked into a new directory whose path holds a space, so nothing can
    depend on the build's own paths or on unquoted ones. With `work_dir` that directory is
    kept there for inspection; otherwise it is a temporary one, removed afterwards (and, if
    the process was killed, by the next run).
    Raises PbsError when the archive is not a readable pbs archive.
    """
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        return _run(
            archive,
            Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=work_dir)),
            full_regrtest,
            log,
            runner,
            libc,
        )
    scratch = Path(tempfile.gettempdir())
    sweep_held(scratch, WORK_PREFIX)
    with held_directory(scratch, WORK_PREFIX) as work:
        return _run(archive, work, full_regrtest, log, runner, libc)


def _run(
    archive: Path, scratch: Path, full_regrtest: bool, log: Path, runner: Runner,
    libc: ToolchainLibc | None,
) -> list[CheckResult]:
    catalog = load_catalog()
    tree = unpack(archive, scratch / "archive root", log, runner)
    target = catalog.target_of_archive(archive)
    name = parse_archive_name(archive.name)
    tree = tree.for_target(target, catalog.target_checks.get(target.triple), libc,
                           static=name.static)
    # install_only leaves the test-only extension modules out, as python-build-standalone does.
    left_out = () if name.flavor == FULL else catalog.release.install_only.test_extensions
    modules = modules_to_import(tree.config_dir, {*catalog.excluded_modules, *left_out})
    return [
        library.imports(tree, modules),
        library.slot_identity(tree),
        tls.ssl_handshake(tree),
        library.ssl_system_store(tree),
        library.sqlite3(tree),
        library.ctypes(tree),
        library.compression(tree),
        api.api_names(tree, catalog.api, target),
        api.newer_libc(tree),
        library.curses_tcl(tree),
        library.hashlib(tree),
        library.uuid(tree),
        library.decimal(tree),
        terminal.curses_pty(tree),
        terminal.repl_pty(tree),
        gui.tkinter_xvfb(tree),
        building.venv_pip(tree),
        building.c_extension(tree),
        building.binary_wheel(tree, target.libc),
        relocation.relocation(tree),
        relocation.chroot(tree, modules, target.allowed_libraries),
        regrtest.check(tree, catalog.regrtest, full=full_regrtest, libc=target.libc,
                       options=tuple(name.build.split("+"))),
    ]
