"""Machine code above an x86-64 level: which functions of an ELF file hold instructions that
need CPU features the level lacks, and whether the catalog knows them to run only after a
CPUID check (isa.toml).

Every executable section is decoded (iced-x86), one stretch per symbol: from a symbol's address
to the next symbol's, so that what a stretch holds is that function's, and a byte the decoder
misread (data among code) cannot shift its reading of the next function. Functions are named
by the file's symbol table (.symtab, which pbs's stripped archives keep too; else .dynsym);
code before a section's first symbol is named by the section.
"""

from __future__ import annotations

import fnmatch
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import iced_x86
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Section, SymbolTableSection

from pbs.catalog import IsaSpec
from pbs.errors import CatalogError

_BITS = 64
# Elf64_Sym (little-endian, as x86-64's): st_name, st_info, st_other, st_shndx, st_value, st_size.
_ELF64_SYMBOL = struct.Struct("<IBBHQQ")
_CODE_SYMBOL_TYPES = (0, 2, 10)  # STT_NOTYPE, STT_FUNC, STT_GNU_IFUNC
_SHN_LORESERVE = 0xFF00  # section indexes from here on are special (absolute, common, …)
_FEATURE_NAMES = {value: name for name, value in vars(iced_x86.CpuidFeature).items()
                  if name.isupper() and isinstance(value, int)}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A function with instructions above the level."""

    section: str
    function: str  # the symbol's name as the file has it
    address: int  # of its first instruction above the level
    instruction: str  # that instruction, in GNU syntax
    features: tuple[str, ...]  # what that instruction needs above the level
    count: int  # instructions of the function above the level
    all_features: tuple[str, ...]  # what they all need above the level
    dispatched: str | None  # the isa.toml entry that accepts the function, if any


@dataclass(frozen=True)
class _Stretch:
    start: int  # offset in the section
    end: int
    names: tuple[str, ...]  # the symbols at `start`; () before the first one


class LevelScanner:
    """Reads ELF files against one level of `spec`; reusable across files."""

    def __init__(self, spec: IsaSpec, level: str) -> None:
        self._spec = spec
        self._rank = spec.rank(level)
        self._level_of = {name: rank for rank, known in enumerate(spec.levels)
                          for name in known.features}
        self._same_below = {_mnemonic(name) for name in spec.same_below}
        self._suffix = re.compile(f"(?:{'|'.join(spec.symbol_suffixes)})$")
        self._above: dict[int, tuple[str, ...]] = {}  # instruction code -> features above
        self._formatter = iced_x86.Formatter(iced_x86.FormatterSyntax.GAS)

    def scan(self, path: Path) -> list[Finding]:
        """Every function of `path` (an x86-64 ELF file) with instructions above the level."""
        with path.open("rb") as handle:
            elf = ELFFile(handle)
            if elf["e_machine"] != "EM_X86_64":
                return []
            relocatable = elf["e_type"] == "ET_REL"
            symbols = _code_symbols(elf)
            findings = []
            for index, section in enumerate(elf.iter_sections()):
                if section["sh_type"] != "SHT_PROGBITS" or not (
                        section["sh_flags"] & SH_FLAGS.SHF_EXECINSTR):
                    continue
                base = 0 if relocatable else section["sh_addr"]
                findings += self._scan_section(section, base, symbols.get(index, []))
            return findings

    def _scan_section(self, section: Section, base: int,
                      symbols: list[tuple[int, str, int]]) -> list[Finding]:
        data = section.data()
        address = section["sh_addr"]
        findings = []
        for stretch in self._stretches(base, symbols, len(data)):
            decoder = iced_x86.Decoder(_BITS, data[stretch.start:stretch.end],
                                       ip=address + stretch.start)
            instruction = iced_x86.Instruction()
            first: tuple[int, str, tuple[str, ...]] | None = None
            count = 0
            needed: set[str] = set()
            while decoder.can_decode:
                decoder.decode_out(instruction)
                above = self._above.get(instruction.code)
                if above is None:
                    above = self._features_above(instruction)
                if above:
                    count += 1
                    needed.update(above)
                    if first is None:
                        first = (instruction.ip, self._formatter.format(instruction), above)
            if first is not None:
                findings.append(self._finding(section.name, stretch, first, count, needed))
        return findings

    def _finding(self, section: str, stretch: _Stretch, first: tuple[int, str, tuple[str, ...]],
                 count: int, needed: set[str]) -> Finding:
        features = frozenset(needed)
        bases = {self.base_name(name) for name in stretch.names}
        accepting = next((entry.name for entry in self._spec.dispatched
                          for name in sorted(bases) if entry.accepts(name, features)), None)
        address, text, first_features = first
        return Finding(section=section, function=stretch.names[0] if stretch.names else "",
                       address=address, instruction=text, features=first_features,
                       count=count, all_features=tuple(sorted(features)), dispatched=accepting)

    def base_name(self, symbol: str) -> str:
        """The function's own name: `symbol` without the suffixes compilers and BOLT append."""
        while (shorter := self._suffix.sub("", symbol)) != symbol:
            symbol = shorter
        return symbol

    def _features_above(self, instruction: iced_x86.Instruction) -> tuple[str, ...]:
        """The features of `instruction` that the level lacks (features of no level count as
        above every level); cached per instruction code."""
        if instruction.mnemonic in self._same_below:
            above: tuple[str, ...] = ()
        else:
            names = (_FEATURE_NAMES[feature] for feature in instruction.cpuid_features())
            above = tuple(sorted({name for name in names
                                  if self._level_of.get(name, len(self._spec.levels)) > self._rank}))
        self._above[instruction.code] = above
        return above

    def _stretches(self, base: int, symbols: list[tuple[int, str, int]],
                   size: int) -> Iterator[_Stretch]:
        """The section (its code `symbols`: value, name, size) cut at every symbol: each
        stretch belongs to the symbols at its start. Past an unreachable symbol's own bytes
        nothing is decoded."""
        at: dict[int, list[tuple[str, int]]] = {}
        for value, name, own in symbols:
            if 0 <= value - base < size:
                at.setdefault(value - base, []).append((name, own))
        starts = sorted(at)
        if not starts or starts[0] != 0:
            yield _Stretch(0, starts[0] if starts else size, ())
        for start, end in zip(starts, [*starts[1:], size]):
            names = tuple(name for name, _ in at[start])
            dead = [own for name, own in at[start]
                    if any(fnmatch.fnmatchcase(name, pattern)
                           for pattern in self._spec.unreachable_symbols)]
            yield _Stretch(start, min(end, start + dead[0]) if dead else end, names)


def _code_symbols(elf: ELFFile) -> dict[int, list[tuple[int, str, int]]]:
    """Section index -> (value, name, size) of the named code symbols in it, from .symtab,
    else .dynsym. Read with struct: pyelftools' symbol parser would take seconds for
    libpython's 50,000 symbols."""
    for table_name in (".symtab", ".dynsym"):
        table = elf.get_section_by_name(table_name)
        if isinstance(table, SymbolTableSection):
            strings = elf.get_section(table["sh_link"]).data()
            found: dict[int, list[tuple[int, str, int]]] = {}
            for name, info, _other, shndx, value, size in _ELF64_SYMBOL.iter_unpack(
                    table.data()):
                if name and (info & 0xF) in _CODE_SYMBOL_TYPES and 0 < shndx < _SHN_LORESERVE:
                    end = strings.index(b"\0", name)
                    found.setdefault(shndx, []).append(
                        (value, strings[name:end].decode(errors="replace"), size))
            return found
    return {}


def _mnemonic(name: str) -> int:
    value = getattr(iced_x86.Mnemonic, name, None)
    if not isinstance(value, int):
        raise CatalogError(f"isa.toml: {name} is not a mnemonic the decoder knows")
    return value


def unknown_features(spec: IsaSpec) -> list[str]:
    """Feature names of `spec` that the decoder does not know (a catalog typo)."""
    named = {*(f for level in spec.levels for f in level.features),
             *(f for entry in spec.dispatched for f in entry.features)}
    return sorted(named - set(_FEATURE_NAMES.values()))
