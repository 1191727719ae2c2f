"""The instruction-level check on small programs the host's gcc compiles with and without
higher instruction sets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pbs.catalog import Catalog
from pbs.isa import LevelScanner, unknown_features

GCC = shutil.which("gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="needs the host's gcc")

# A loop gcc vectorizes with the widest vectors the flags allow, and a count of trailing zeros
# (TZCNT, which CPUs without BMI1 run as BSF).
VECTORIZED = """
void add(int *restrict out, const int *restrict a, const int *restrict b, int n) {
    for (int i = 0; i < n; i++) out[i] = a[i] + b[i];
}
int lowest(unsigned x) { return x ? __builtin_ctz(x) : -1; }
"""
AVX512 = """
#include <immintrin.h>
__m512i sum512(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
"""
# Carry-less multiplication (beyond every level) behind a target attribute, as liblzma
# compiles it; the function's name decides whether the catalog accepts it.
CLMUL = """
#include <immintrin.h>
__attribute__((target("pclmul,sse4.1,ssse3")))
__m128i NAME(__m128i a, __m128i b) { return _mm_clmulepi64_si128(a, b, 0); }
"""


def shared(tmp_path: Path, name: str, source: str, *flags: str) -> Path:
    """`source` as a shared object, compiled at -O3 with `flags`."""
    out = tmp_path / f"{name}.so"
    subprocess.run([GCC, "-x", "c", "-", "-O3", "-fPIC", "-shared", "-o", str(out), *flags],
                   input=source, text=True, check=True, capture_output=True)
    return out


def above(catalog: Catalog, level: str, path: Path) -> dict[str, tuple[str, ...]]:
    """Function -> features above `level` of the functions no catalog entry accepts."""
    return {finding.function: finding.all_features
            for finding in LevelScanner(catalog.isa, level).scan(path)
            if not finding.dispatched}


def test_a_baseline_program_fits_every_level(catalog: Catalog, tmp_path: Path) -> None:
    program = shared(tmp_path, "plain", VECTORIZED)
    assert above(catalog, "x86-64", program) == {}


def test_avx2_is_above_v2_and_within_v3(catalog: Catalog, tmp_path: Path) -> None:
    program = shared(tmp_path, "avx2", VECTORIZED, "-mavx2")
    flagged = above(catalog, "x86-64-v2", program)
    assert "AVX2" in flagged["add"]
    assert above(catalog, "x86-64-v3", program) == {}


def test_the_finding_names_the_address_and_instruction(catalog: Catalog,
                                                       tmp_path: Path) -> None:
    program = shared(tmp_path, "avx2", VECTORIZED, "-mavx2")
    finding, = LevelScanner(catalog.isa, "x86-64-v2").scan(program)
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(program)],
                                 capture_output=True, text=True, check=True).stdout
    line = next(line for line in disassembly.splitlines()
                if line.strip().startswith(f"{finding.address:x}:"))
    assert finding.instruction.split()[0] in line
    assert finding.features and finding.section == ".text"


def test_avx512_is_above_v3_and_within_v4(catalog: Catalog, tmp_path: Path) -> None:
    program = shared(tmp_path, "avx512", AVX512, "-mavx512f")
    assert above(catalog, "x86-64-v3", program) == {"sum512": ("AVX512F",)}
    assert above(catalog, "x86-64-v4", program) == {}


def test_object_files_are_read_too(catalog: Catalog, tmp_path: Path) -> None:
    obj = tmp_path / "avx512.o"
    subprocess.run([GCC, "-x", "c", "-", "-O2", "-c", "-mavx512f", "-o", str(obj)],
                   input=AVX512, text=True, check=True, capture_output=True)
    assert above(catalog, "x86-64-v3", obj) == {"sum512": ("AVX512F",)}


def test_a_listed_dispatched_function_is_accepted_and_no_other(catalog: Catalog,
                                                               tmp_path: Path) -> None:
    listed = shared(tmp_path, "listed", CLMUL.replace("NAME", "crc32_arch_optimized"))
    findings = LevelScanner(catalog.isa, "x86-64").scan(listed)
    assert [(f.function, f.dispatched) for f in findings] == [
        ("crc32_arch_optimized", "xz-clmul")]
    unlisted = shared(tmp_path, "unlisted", CLMUL.replace("NAME", "my_crc"))
    assert above(catalog, "x86-64", unlisted) == {"my_crc": ("PCLMULQDQ",)}


def test_a_listed_function_is_accepted_only_for_its_features(catalog: Catalog,
                                                             tmp_path: Path) -> None:
    # liblzma's CRC entry may use carry-less multiplication, not AVX2.
    source = VECTORIZED.replace("void add(", "void crc64_arch_optimized(")
    program = shared(tmp_path, "wider", source, "-mavx2")
    assert "AVX2" in above(catalog, "x86-64-v2", program)["crc64_arch_optimized"]


def test_suffixes_compilers_add_are_ignored(catalog: Catalog) -> None:
    scanner = LevelScanner(catalog.isa, "x86-64")
    assert scanner.base_name("update_block.llvm.16901701080053187436") == "update_block"
    assert scanner.base_name("crc32_arch_optimized.cold.0") == "crc32_arch_optimized"
    assert scanner.base_name("OPENSSL_cpuid_setup.org.0") == "OPENSSL_cpuid_setup"


def test_what_bolt_left_behind_a_moved_functions_jump_is_not_read(catalog: Catalog,
                                                                  tmp_path: Path) -> None:
    # BOLT's <function>.org.0: a 5-byte jump over the old body, which is never run.
    assembly = """
        .text
        .globl moved
        .type moved.org.0, @function
    moved.org.0:
        .byte 0xe9, 0, 0, 0, 0
        .size moved.org.0, 5
        vpaddd %ymm0, %ymm1, %ymm2
        .type moved, @function
    moved:
        vpaddd %ymm0, %ymm1, %ymm2
        ret
    """
    program = tmp_path / "bolted.so"
    subprocess.run([GCC, "-x", "assembler", "-", "-shared", "-nostdlib", "-o", str(program)],
                   input=assembly, text=True, check=True, capture_output=True)
    assert above(catalog, "x86-64", program) == {"moved": ("AVX2",)}


def test_every_feature_the_catalog_names_is_the_decoders(catalog: Catalog) -> None:
    assert unknown_features(catalog.isa) == []
