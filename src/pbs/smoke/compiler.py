"""The C compiler of the archive's target, `cc` (for a foreign target, its cross compiler
first on the checks' PATH; for a musl target, musl's), used to build the small native pieces some checks load."""

from __future__ import annotations

from pathlib import Path

from pbs.smoke.result import tail
from pbs.smoke.tree import InstallTree, host_tool


class CompileFailed(Exception):
    """The host compiler rejected a check's C source; the message is the output's tail."""


def has_cc(tree: InstallTree) -> bool:
    return host_tool("cc", tree.target_tools if tree.target_cc else None) is not None


def compile_command(tree: InstallTree, argv: list[str], *, step: str) -> None:
    result = tree.run(argv, step=step)
    if result.returncode != 0:
        raise CompileFailed(
            f"{argv[0]} failed (exit code {result.returncode}):\n{tail(result.output)}"
        )


def shared_library(tree: InstallTree, source: str, name: str, *, step: str) -> Path:
    """Compile C `source` into a shared library `name` in the scratch directory."""
    directory = tree.work / step
    directory.mkdir(exist_ok=True)
    c_file = directory / f"{Path(name).stem}.c"
    c_file.write_text(source)
    output = directory / name
    compile_command(tree, ["cc", "-shared", "-fPIC", "-o", str(output), str(c_file)], step=step)
    return output
