"""The tree runs from wherever it is put: moved, through a symlink, and alone in a chroot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from pbs.catalog import VDSO
from pbs.smoke.result import CheckResult, failed, passed, skipped, tail
from pbs.smoke.tree import SCRIPTS, InstallTree, host_tool


def relocation(tree: InstallTree) -> CheckResult:
    """Move the tree to another directory and run it there: directly, through a symlinked
    directory, through a symlink that lives outside it and a symlink to that symlink (as uv's
    `~/.local/bin/python3.X` is used), with an argv[0] that names no file (`exec -a`), and from
    venvs made by those symlinks (also `--copies`, with pip) and by a venv's python; then move
    it back."""
    name = "relocation"
    moved = tree.work / "moved tree" / "python"
    moved.parent.mkdir()
    elsewhere = tree.work / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "python3"
    link.symlink_to(moved / "bin" / "python3")
    link_to_link = elsewhere / "python3-again"
    link_to_link.symlink_to(link)
    linked_dir = tree.work / "linked tree"
    linked_dir.symlink_to(moved)
    first_venv = tree.work / "venv made by the symlink"
    venvs = {  # made in this order: the last uses the first
        first_venv: [link, "-m", "venv", "--without-pip"],
        tree.work / "venv made by a symlink to it": [link_to_link, "-m", "venv", "--without-pip"],
        tree.work / "venv made with --copies": [link, "-m", "venv", "--copies"],
        tree.work / "venv made by a venv's python": [first_venv / "bin" / "python", "-m", "venv",
                                                      "--without-pip"],
    }
    os.rename(tree.prefix, moved)
    try:
        for venv, command in venvs.items():
            made = tree.run([*command, venv], step=name)
            if made.returncode != 0:
                return failed(name, f"{venv.name} fails after the move:\n{tail(made.output)}")
        runs: dict[str, tuple[list[str | Path], Path]] = {
            "moved": ([moved / "bin" / "python3"], moved),
            "through a symlinked directory": ([linked_dir / "bin" / "python3"], moved),
            "through a symlink": ([link], moved),
            "through a symlink to a symlink": ([link_to_link], moved),
            "with an argv[0] naming no file": (
                ["bash", "-c", 'exec -a /dev/null "$0" "$@"', moved / "bin" / "python3"], moved),
            **{f"in a {venv.name}": ([venv / "bin" / "python"], venv) for venv in venvs},
        }
        for how, (python, prefix) in runs.items():
            problem = _prefixes_problem(tree, python, base_prefix=moved, prefix=prefix)
            if problem:
                return failed(name, f"run {how}: {problem}")
        copies = tree.work / "venv made with --copies" / "bin" / "python"
        pip = tree.run([copies, "-m", "pip", "--version"], step=name)
        if pip.returncode != 0:
            return failed(name, f"pip in the --copies venv fails:\n{tail(pip.output)}")
    finally:
        os.rename(moved, tree.prefix)
    return passed(name, f"sys.base_prefix follows the moved tree: {', '.join(runs)}")


def _prefixes_problem(
    tree: InstallTree, python: list[str | Path], *, base_prefix: Path, prefix: Path
) -> str | None:
    """What is wrong with the prefixes `python` finds (None if nothing)."""
    result = tree.run([*python, "-I", SCRIPTS / "prefix.py"], step="relocation")
    if result.returncode != 0:
        return f"fails:\n{tail(result.output)}"
    found_base, found, _stdlib = result.output.strip().splitlines()[-3:]
    if os.path.realpath(found_base) != os.path.realpath(base_prefix):
        return f"sys.base_prefix is {found_base}, not {base_prefix}"
    if os.path.realpath(found) != os.path.realpath(prefix):
        return f"sys.prefix is {found}, not {prefix}"
    return None


def chroot(
    tree: InstallTree, modules: list[str], allowed_libraries: tuple[str, ...]
) -> CheckResult:
    """Import every expected module in a root that holds only the tree and the allowed libraries
    (for musl: its loader, which is its libc; for a +static build: nothing).

    Proves that nothing else on the build machine (a library, a data file) is needed.
    """
    name = "chroot"
    if os.geteuid() != 0:
        return skipped(name, "needs root")
    if host_tool("chroot") is None:
        return skipped(name, "no chroot on PATH")
    root = tree.work / "chroot root"
    problem = _populate(tree, root, allowed_libraries)
    if problem:
        return failed(name, problem)
    shutil.copy(SCRIPTS / "check_imports.py", root / "check_imports.py")
    command = [
        "chroot",
        root,
        "/python/bin/python3",
        "-I",
        "/check_imports.py",
        *modules,
    ]
    result = tree.run(command, step=name)
    if result.returncode != 0:
        return failed(name, f"exit code {result.returncode}:\n{tail(result.output)}")
    if tree.static:
        alone = "the tree alone"
    elif tree.libc_loader is not None:
        alone = f"{tree.libc_loader.name} alone"
    else:
        alone = f"only {len(allowed_libraries) - (VDSO in allowed_libraries)} glibc libraries"
    return passed(name, f"{result.output.strip().splitlines()[-1]} with {alone} (the root: "
                        f"{', '.join(_root_listing(root))})")


def _root_listing(root: Path) -> list[str]:
    """What the root holds, as paths inside it: the tree as one entry, every other file."""
    listing = []
    for directory, subdirectories, files in os.walk(root):
        inside = PurePosixPath("/", Path(directory).relative_to(root).as_posix())
        if inside == PurePosixPath("/") and "python" in subdirectories:
            subdirectories.remove("python")
            listing.append("/python/ (the tree)")
        listing += [str(inside / file) for file in files]
    return sorted(listing)


def _populate(tree: InstallTree, root: Path, allowed_libraries: tuple[str, ...]) -> str | None:
    """Lay out the root (a problem's description, or None); the tree is hard-linked, not copied."""
    if tree.static:
        # One statically linked executable: the tree alone, no loader, no library.
        shutil.copytree(tree.prefix, root / "python", symlinks=True, copy_function=os.link)
        return None
    machine, loader = _machine_and_loader(tree.python)
    wanted = [lib for lib in allowed_libraries if lib != VDSO]
    placements: dict[Path, Path]
    if tree.libc_loader is not None:
        # musl's loader is its C library and answers for libc.so itself: the one file needed.
        host_copies = {Path(loader).name: tree.libc_loader}
        placements, where = {}, str(tree.libc_loader)
        wanted = []
    elif tree.emulator:
        # The target's glibc from the emulator's copy, where every loader looks (/lib); the
        # kernel hands the programs to the emulator it opened when registering it (binfmt F).
        found = {lib: Path(tree.emulator.ld_prefix) / "lib" / lib for lib in wanted}
        host_copies = {lib: path for lib, path in found.items() if path.is_file()}
        placements = {Path("/lib") / lib: path for lib, path in host_copies.items()}
        where = tree.emulator.ld_prefix
    else:
        host_copies = _host_libraries(tree, machine, set(wanted))
        # Each library where the host's loader keeps it; copy2 follows symlinks, so these are
        # the real files.
        placements = {path: path for path in host_copies.values()}
        where = "ldconfig -p"
    missing = [lib for lib in wanted if lib not in host_copies]
    if missing:
        return f"the host has no {machine} copy of {', '.join(missing)} ({where})"
    # The loader at the path the executable names (PT_INTERP).
    placements[Path(loader)] = host_copies[Path(loader).name]
    for place, source in placements.items():
        target = root / place.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    shutil.copytree(tree.prefix, root / "python", symlinks=True, copy_function=os.link)
    return None


def _machine_and_loader(executable: Path) -> tuple[str, str]:
    with executable.open("rb") as handle:
        elf = ELFFile(handle)
        interpreters = [
            s.get_interp_name() for s in elf.iter_segments() if s["p_type"] == "PT_INTERP"
        ]
        return str(elf["e_machine"]), interpreters[0]


def _host_libraries(tree: InstallTree, machine: str, wanted: set[str]) -> dict[str, Path]:
    """Library name -> the host's file, as `ldconfig -p` lists them, for `machine` only
    (a multilib host also lists 32-bit copies)."""
    result = tree.run(["ldconfig", "-p"], step="chroot")
    found: dict[str, Path] = {}
    for line in result.output.splitlines():
        name, arrow, path = line.strip().partition(" => ")
        soname = name.split(" (")[0]
        if (
            arrow
            and soname in wanted
            and soname not in found
            and _machine_of(Path(path)) == machine
        ):
            found[soname] = Path(path)
    return found


def _machine_of(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return str(ELFFile(handle)["e_machine"])
    except (OSError, ELFError):
        return None
