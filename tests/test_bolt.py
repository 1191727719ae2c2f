"""BOLT on a real program: instrument, train, rewrite; and the link-rule edit it depends on."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pbs.catalog import BoltSpec, load_catalog
from pbs.cpython.bolt import (
    BOLT_NOTE,
    BOLT_ORIGINAL_TEXT,
    LINK_FLAGS,
    BoltTools,
    optimize_binary,
)
from pbs.cpython.build import CPythonBuild, add_interpreter_link_flags
from pbs.elf import read_elf
from pbs.errors import PbsError
from pbs.runner import CommandResult, run

CATALOG = load_catalog()
LLVM_BIN = Path(f"/usr/lib/llvm-{CATALOG.toolchain.llvm_major}/bin")
TOOLS = BoltTools(llvm_bolt=LLVM_BIN / "llvm-bolt", merge_fdata=LLVM_BIN / "merge-fdata",
                  objcopy=LLVM_BIN / "llvm-objcopy")

needs_bolt = pytest.mark.skipif(
    not (TOOLS.llvm_bolt.exists() and (LLVM_BIN / "clang").exists()),
    reason="the toolchain's clang and llvm-bolt are not installed (pbs toolchain --print-apt-packages)",
)

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
static long collatz(long n) { long steps = 0; while (n != 1) { n = n % 2 ? 3 * n + 1 : n / 2; steps++; } return steps; }
int main(int argc, char **argv) {
    long limit = argc > 1 ? atol(argv[1]) : 1000, best = 0;
    for (long i = 1; i < limit; i++) { long s = collatz(i); if (s > best) best = s; }
    printf("%ld\n", best);
    return 0;
}
"""

# Two functions with the same code whose addresses the program compares, as CPython's
# typeobject.c does with wrap_binaryfunc and wrap_binaryfunc_l.
SAME_CODE_PROGRAM = r"""
#include <stdio.h>
typedef int (*binop)(int, int);
__attribute__((noinline)) int left(int a, int b) { return a * 31 + b * 7 - (a ^ b); }
__attribute__((noinline)) int right(int a, int b) { return a * 31 + b * 7 - (a ^ b); }
binop table[] = {left, right};
int main(int argc, char **argv) {
    int sum = 0;
    for (int i = 0; i < 100000; i++) sum += table[i & 1](i, argc);
    printf("%s %d\n", table[0] == table[1] ? "folded" : "distinct", sum & 1);
    return 0;
}
"""

MAKEFILE_PRE = """\
$(BUILDPYTHON):	Programs/python.o $(LINK_PYTHON_DEPS)
\t$(LINKCC) $(PY_CORE_LDFLAGS) $(LINKFORSHARED) -o $@ Programs/python.o $(LINK_PYTHON_OBJS)

platform: $(PYTHON_FOR_BUILD_DEPS) pybuilddir.txt
"""


def section_names(binary: Path) -> set[str]:
    with binary.open("rb") as f:
        return {section.name for section in ELFFile(f).iter_sections()}


@dataclass(frozen=True)
class Linked:
    binary: Path
    log: Path

    def run(self, command: Sequence[str | Path], *, check: bool = True) -> CommandResult:
        return run(command, step="bolt test", log=self.log, check=check)


def link_program(source_text: str, directory: Path) -> Linked:
    source = directory / "prog.c"
    source.write_text(source_text)
    binary = directory / "prog"
    subprocess.run([LLVM_BIN / "clang", "-O2", "-fuse-ld=lld", "-no-pie", *LINK_FLAGS,
                    "-o", binary, source], check=True)
    return Linked(binary=binary, log=directory / "bolt.log")


@pytest.fixture
def linked(tmp_path: Path) -> Linked:
    """The test program, linked with its relocations as BOLT needs."""
    return link_program(PROGRAM, tmp_path)


@needs_bolt
def test_optimize_binary_rewrites_a_trained_program(linked: Linked, tmp_path: Path) -> None:
    binary = linked.binary
    expected = subprocess.run([binary, "3000"], capture_output=True, text=True, check=True).stdout

    optimize_binary(binary, [binary, "3000"], spec=CATALOG.options.bolt, tools=TOOLS,
                    run=linked.run, work_dir=tmp_path)

    assert BOLT_ORIGINAL_TEXT in section_names(binary)
    assert BOLT_ORIGINAL_TEXT not in section_names(tmp_path / "prog.prebolt")
    # BOLT's note named the build directory; nothing in the result does.
    assert BOLT_NOTE not in section_names(binary)
    assert str(tmp_path).encode() not in binary.read_bytes()
    # The stack stays non-executable: BOLT must not reuse PT_GNU_STACK for its new segment.
    facts = read_elf(binary)
    assert "PT_GNU_STACK" in facts.segments and not facts.executable_stack
    assert list((tmp_path / "bolt-profile").glob("prog.*.fdata"))
    after = subprocess.run([binary, "3000"], capture_output=True, text=True, check=True).stdout
    assert after == expected


def bolted_output(spec: BoltSpec, directory: Path) -> str:
    directory.mkdir()
    program = link_program(SAME_CODE_PROGRAM, directory)
    optimize_binary(program.binary, [program.binary], spec=spec, tools=TOOLS, run=program.run,
                    work_dir=directory)
    assert BOLT_ORIGINAL_TEXT in section_names(program.binary)
    return subprocess.run([program.binary], capture_output=True, text=True,
                          check=True).stdout.split()[0]


@needs_bolt
def test_bolt_keeps_functions_whose_addresses_are_compared_apart(tmp_path: Path) -> None:
    assert bolted_output(CATALOG.options.bolt, tmp_path / "catalog") == "distinct"
    # The hazard is real: CPython's own `-icf=1` folds them into one address.
    unsafe = replace(CATALOG.options.bolt, apply=tuple(
        "-icf=1" if flag.startswith("-icf") else flag for flag in CATALOG.options.bolt.apply))
    assert bolted_output(unsafe, tmp_path / "unsafe") == "folded"


@needs_bolt
def test_a_training_run_that_profiles_nothing_is_an_error(linked: Linked, tmp_path: Path) -> None:
    # The training command never runs the instrumented binary: no profile is written.
    with pytest.raises(PbsError, match="wrote no profile"):
        optimize_binary(linked.binary, [shutil.which("true") or "true"],
                        spec=CATALOG.options.bolt, tools=TOOLS, run=linked.run,
                        work_dir=tmp_path)


@needs_bolt
def test_a_training_run_with_failing_tests_still_profiles(linked: Linked, tmp_path: Path) -> None:
    # regrtest exits 2 when some tests fail: the run went through the whole task.
    training = ["sh", "-c", f'"{linked.binary}" 3000; exit 2']
    optimize_binary(linked.binary, training, spec=CATALOG.options.bolt, tools=TOOLS,
                    run=linked.run, work_dir=tmp_path)
    assert BOLT_ORIGINAL_TEXT in section_names(linked.binary)


@needs_bolt
def test_a_training_run_that_crashes_is_an_error(linked: Linked, tmp_path: Path) -> None:
    # The instrumented program profiled part of the task, then the run died of a signal: the
    # profile is partial, and the build must not lay out the interpreter by it.
    training = ["sh", "-c", f'"{linked.binary}" 3000 && echo training died && kill -SEGV $$']
    with pytest.raises(PbsError, match=r"stopped early \(exit code -11\)") as error:
        optimize_binary(linked.binary, training, spec=CATALOG.options.bolt, tools=TOOLS,
                        run=linked.run, work_dir=tmp_path)
    # The run's last output is shown, so the crash can be read without opening the log.
    assert "training died" in str(error.value)


def test_the_cpython_build_runs_commands_the_way_bolt_calls_them() -> None:
    # BOLT's training run may fail without failing the build: the runner must take `check`.
    assert "check" in inspect.signature(CPythonBuild.run).parameters


def test_the_interpreter_link_gets_the_flags(tmp_path: Path) -> None:
    makefile_pre = tmp_path / "Makefile.pre"
    makefile_pre.write_text(MAKEFILE_PRE)
    add_interpreter_link_flags(makefile_pre, ("-no-pie", *LINK_FLAGS))
    lines = makefile_pre.read_text().splitlines()
    assert lines[1].startswith("\t$(LINKCC) -no-pie -Wl,--emit-relocs $(PY_CORE_LDFLAGS)")
    assert lines[3] == MAKEFILE_PRE.splitlines()[3]


def test_a_makefile_without_the_interpreter_rule_is_refused(tmp_path: Path) -> None:
    makefile_pre = tmp_path / "Makefile.pre"
    makefile_pre.write_text("all: build_all\n")
    with pytest.raises(PbsError, match="no single"):
        add_interpreter_link_flags(makefile_pre, LINK_FLAGS)


def test_bolt_applies_to_trained_builds_on_its_architectures() -> None:
    target = CATALOG.target(None)
    python = CATALOG.python("3.14")
    for text, bolted in (("pgo+lto", True), ("pgo", True), ("lto", False), ("noopt", False)):
        options = CATALOG.parse_options(text, python, target)
        assert (CATALOG.options.bolt_for(options, target, python.version) is not None) \
            is bolted, text
    pgo = CATALOG.parse_options("pgo+lto", python, target)
    assert CATALOG.options.bolt_for(pgo, CATALOG.target("riscv64-unknown-linux-gnu"), python.version) is None


def test_bolt_applies_only_to_the_compilers_it_names() -> None:
    target = CATALOG.target(None)
    python = CATALOG.python("3.11")
    compiler = CATALOG.options.compiler_for(python.version, target.libc).name
    pgo = CATALOG.parse_options("pgo+lto", python, target)
    assert CATALOG.options.bolt_for(pgo, target, python.version) is not None
    others = tuple(name for name in CATALOG.options.compilers if name != compiler)
    without = replace(CATALOG.options, bolt=replace(CATALOG.options.bolt, compilers=others))
    assert without.bolt_for(pgo, target, python.version) is None


@pytest.mark.parametrize("name", [
    "_PyEval_EvalFrameDefault",        # clang's
    "_PyEval_EvalFrameDefault.cold",   # the part gcc splits off
    "sre_ucs1_match/1",                # clang's local symbol, as llvm-bolt names it
    "sre_ucs4_match.cold/1",
])
def test_the_skip_list_covers_the_interpreter_loops_of_both_compilers(name: str) -> None:
    assert any(re.fullmatch(pattern, name) for pattern in CATALOG.options.bolt.skip_functions)


def test_the_skip_list_leaves_other_functions_to_bolt() -> None:
    for name in ("_PyEval_Vector", "sre_ucs1_count", "PyObject_GetAttr"):
        assert not any(re.fullmatch(pattern, name)
                       for pattern in CATALOG.options.bolt.skip_functions), name


def test_the_tail_calling_interpreter_comes_with_314_on() -> None:
    target = CATALOG.target(None)
    for version, expected in (("3.11", False), ("3.13", False), ("3.14", True), ("3.15", True)):
        python = CATALOG.python(version)
        options = CATALOG.parse_options("noopt", python, target)
        args = CATALOG.options.configure_args(options, python.version, target)
        assert ("--with-tail-call-interp" in args) is expected, version
