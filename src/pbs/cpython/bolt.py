"""BOLT: lay out the built interpreter's machine code by a profile of its own training run.

llvm-bolt needs the link's relocations (`--emit-relocs`) to move code, so the interpreter is
linked with LINK_FLAGS. After the PGO build, the interpreter is instrumented, runs the
training task (the one PGO used), and is rewritten from the pre-BOLT copy with the merged
profile. Only the `python` executable is optimized: it is what runs Python code; libpython.so
is for embedders.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pbs.catalog import BoltSpec
from pbs.errors import PbsError
from pbs.runner import CommandResult, output_tail

# BOLT keeps the original code in this section: its presence shows the binary was rewritten.
BOLT_ORIGINAL_TEXT = ".bolt.org.text"
# BOLT's note records its command line, which names the build directory: removed (it is not
# loaded at run time).
BOLT_NOTE = ".note.bolt_info"


class Run(Protocol):
    """Runs a command into the build's log (CPythonBuild.run)."""

    def __call__(self, command: Sequence[str | Path], *, check: bool = True) -> CommandResult: ...


@dataclass(frozen=True, kw_only=True)
class BoltTools:
    llvm_bolt: Path
    merge_fdata: Path
    objcopy: Path


# The interpreter's link keeps its relocations, which llvm-bolt needs to rewrite it.
LINK_FLAGS = ("-Wl,--emit-relocs",)


def optimize_binary(binary: Path, training: Sequence[str | Path], *, spec: BoltSpec,
                    tools: BoltTools, run: Run, work_dir: Path) -> None:
    """Replace `binary` with its BOLT-optimized form, trained by running `training`.

    `training` is the command line with `binary` in it; it runs with `binary` swapped for the
    instrumented copy, so every child process it starts through sys.executable is profiled too.
    A run whose tests fail still profiles (CPython's PGO task tolerates that the same way); a
    run that stops early (a crash of the instrumented copy) or leaves no profile is an error.
    """
    profile_dir = work_dir / "bolt-profile"
    profile_dir.mkdir(parents=True, exist_ok=True)
    prebolt = binary.with_name(f"{binary.name}.prebolt")
    binary.rename(prebolt)
    run([tools.llvm_bolt, prebolt, "-instrument", "-instrumentation-file-append-pid",
         f"-instrumentation-file={profile_dir / binary.name}", "-o", binary, spec.skip_flag,
         *spec.instrument])
    training_run = run([*training], check=False)
    if training_run.returncode not in spec.training_exit_codes:
        raise PbsError(f"BOLT training of {binary.name} stopped early (exit code "
                       f"{training_run.returncode}): its profile would cover only part of "
                       f"{shlex.join(str(part) for part in training)}\n"
                       + output_tail(training_run.output))
    profiles = sorted(profile_dir.glob(f"{binary.name}.*.fdata"))
    if not profiles:
        raise PbsError(f"BOLT training of {binary.name} wrote no profile into {profile_dir}: "
                       f"{shlex.join(str(part) for part in training)}")
    merged = work_dir / f"{binary.name}.fdata"
    run([tools.merge_fdata, "-o", merged, *profiles])
    binary.unlink()
    run([tools.llvm_bolt, prebolt, "-o", binary, f"-data={merged}", spec.skip_flag,
         *spec.apply])
    run([tools.objcopy, f"--remove-section={BOLT_NOTE}", binary])
