"""Make an installed CPython tree relocatable and free of build-machine paths.

After `make install` the tree still describes the build: sysconfig data, the config Makefile,
python-config and pkg-config files name the toolchain wrapper, the dependency tree and the
source directory, and pip's scripts start with an absolute shebang. Here compilers become plain
`cc`/`c++`/`ar` (so `pip install` of a C extension uses the system's compiler), flags that
point into the build are dropped, and scripts find their interpreter next to themselves.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbs.buildpaths import BuildPath, excerpt, files_naming
from pbs.errors import PbsError

# A script's interpreter found beside the script, whatever the install's location; the
# second line is valid as shell and as Python, so the same file runs under both.
TRAMPOLINE = """#!/bin/sh
'''exec' "$(dirname -- "$(realpath -- "$0")")/{interpreter}" "$0" "$@"
' '''
"""
_SHEBANG = re.compile(rb"^#!(\S*/)(python[0-9.]*t?)(\s.*)?$")


@dataclass(frozen=True, kw_only=True)
class Rewrites:
    """What names the build machine, and what each becomes."""

    tools: dict[str, str]  # absolute tool path (or path prefix) -> plain name: cc, ar, llvm-
    build_dirs: dict[str, str]  # build directory -> neutral placeholder (/deps, /build)

    def text(self, value: str) -> str:
        for tool, name in self.tools.items():
            value = value.replace(tool, name)
        for directory, placeholder in self.build_dirs.items():
            # Search paths into the build are useless to a consumer: dropped, not renamed.
            value = re.sub(
                r"\s?-(?:I|L|ffile-prefix-map=|Wl,-rpath,)" + re.escape(directory) + r"[^\s'\"]*",
                "",
                value,
            )
            value = value.replace(directory, placeholder)
        return value


def relocate(
    install_dir: Path, rewrites: Rewrites, machine: Sequence[BuildPath] = ()
) -> list[Path]:
    """Rewrite every build description in `install_dir`, then insist no build path remains:
    neither what `rewrites` renames nor the paths of the `machine` it is built on.

    Returns the rewritten Python modules: their stale bytecode is removed, and the caller
    compiles them again with the interpreter.
    """
    modules = []
    for path in _build_descriptions(install_dir):
        _rewrite_text_file(path, rewrites)
        if path.suffix == ".py":
            for stale in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
                stale.unlink()
            modules.append(path)
    for pc in (install_dir / "lib" / "pkgconfig").glob("*.pc"):
        _make_pkgconfig_relative(pc)
    scripts = [script for script in sorted((install_dir / "bin").iterdir())
               if _make_shebang_relative(script)]
    for record in install_dir.glob("lib/python3*/site-packages/*.dist-info/RECORD"):
        _update_record(record, scripts)
    build_paths = [*rewrites.build_dirs, *rewrites.tools, *machine]
    leftovers = files_naming(install_dir, build_paths)
    if leftovers:
        shown = ", ".join(str(p.relative_to(install_dir)) for p in leftovers[:10])
        raise PbsError(
            f"{len(leftovers)} installed files still name a build directory: {shown}; "
            f"in {leftovers[0].name}: {excerpt(leftovers[0], build_paths)}"
        )
    return modules


def _build_descriptions(install_dir: Path) -> Iterable[Path]:
    lib = install_dir / "lib"
    yield from lib.glob("python3*/_sysconfigdata_*.py")
    yield from lib.glob("python3*/_sysconfig_vars_*.json")
    yield from lib.glob("python3*/build-details.json")
    yield from lib.glob("python3*/config-*/Makefile")
    yield from lib.glob("python3*/config-*/Setup*")
    yield from lib.glob("python3*/config-*/python-config.py")
    yield from lib.glob("pkgconfig/*.pc")
    yield from (p for p in (install_dir / "bin").glob("python3*-config") if not p.is_symlink())


def _rewrite_text_file(path: Path, rewrites: Rewrites) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(rewrites.text(line) if line.strip() else line for line in lines))


def _make_pkgconfig_relative(pc: Path) -> None:
    """prefix=/install becomes a prefix found from the .pc file's own location."""
    if pc.is_symlink():
        return
    text = pc.read_text()
    text = re.sub(r"^prefix=.*$", "prefix=${pcfiledir}/../..", text, count=1, flags=re.MULTILINE)
    pc.write_text(text)


def _make_shebang_relative(script: Path) -> bool:
    """Whether `script` had an absolute shebang, now replaced by the trampoline."""
    if script.is_symlink() or not script.is_file():
        return False
    with script.open("rb") as handle:
        first = handle.readline()
    match = _SHEBANG.match(first.rstrip(b"\n"))
    if not match or match.group(3):
        return False
    body = script.read_bytes()[len(first):]
    interpreter = match.group(2).decode()
    script.write_bytes(TRAMPOLINE.format(interpreter=shlex.quote(interpreter)).encode() + body)
    return True


def _update_record(record: Path, rewritten: list[Path]) -> None:
    """The hashes and sizes a wheel's RECORD lists for `rewritten` scripts, made again: the
    installer took them with the staging interpreter's path as first line."""
    site_packages = record.parent.parent
    lines = []
    # Bytes decoded, not read_text: its newline translation would rewrite every line.
    for line in record.read_bytes().decode().splitlines(keepends=True):
        name = next(csv.reader([line]), [""])[0]
        script = Path(os.path.normpath(site_packages / name))
        if name and script in rewritten:
            data = script.read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            row = io.StringIO()
            csv.writer(row, lineterminator=line[len(line.rstrip("\r\n")):]).writerow(
                [name, f"sha256={digest.decode()}", len(data)])
            line = row.getvalue()
        lines.append(line)
    record.write_bytes("".join(lines).encode())
