"""Facts read from ELF files with pyelftools: what they need at run time and how they load."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import P_FLAGS
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_DT_FLAGS, ENUM_DT_FLAGS_1
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import SymbolTableSection
from packaging.version import Version

ELF_MAGIC = b"\x7fELF"


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        return [
            tag.needed
            for section in elf.iter_sections()
            if isinstance(section, DynamicSection)
            for tag in section.iter_tags()
            if tag.entry.d_tag == "DT_NEEDED"
        ]


def needed_symbol_versions(path: Path) -> dict[str, set[str]]:
    """Library -> the symbol versions (e.g. GLIBC_2.14) an ELF file requires of it."""
    with path.open("rb") as handle:
        return _symbol_versions(ELFFile(handle))


def interpreter(path: Path) -> str | None:
    """The program interpreter (PT_INTERP) an ELF file names, or None: a static program, or a
    shared object."""
    with path.open("rb") as handle:
        for segment in ELFFile(handle).iter_segments():
            if segment["p_type"] == "PT_INTERP":
                return str(segment.get_interp_name())
    return None


def max_glibc_version(path: Path) -> Version | None:
    """The newest GLIBC_x.y symbol version an ELF file needs, or None if it needs none."""
    return _max_glibc(needed_symbol_versions(path))


@dataclass(frozen=True, kw_only=True)
class ElfFacts:
    """What the loader and a hardening review need to know about one ELF file."""

    machine: str  # e_machine, as pyelftools names it (EM_X86_64, EM_AARCH64)
    kind: str  # e_type: ET_EXEC, ET_DYN (shared objects, and position-independent programs)
    needed: tuple[str, ...]  # DT_NEEDED
    search_path: tuple[str, ...]  # DT_RUNPATH entries, else DT_RPATH's (ld.so ignores RPATH then)
    max_glibc: Version | None
    versions_needed: frozenset[str]  # every symbol version it requires of a library
    interpreter: str | None  # PT_INTERP: the dynamic loader of an executable
    segments: frozenset[str]  # p_type of every program header
    executable_stack: bool  # PT_GNU_STACK asks for PF_X
    bind_now: bool
    textrel: bool
    exported: frozenset[str]  # defined GLOBAL or WEAK dynamic symbols


def elf_kind(path: Path) -> str | None:
    """The e_type of a file (ET_EXEC, ET_DYN, ET_REL, ...), or None if it is not ELF."""
    with path.open("rb") as handle:
        if handle.read(len(ELF_MAGIC)) != ELF_MAGIC:
            return None
        handle.seek(0)
        return str(ELFFile(handle)["e_type"])


def read_elf(path: Path) -> ElfFacts:
    """Every ElfFacts field of `path`, read in one pass (raises ELFError if it is malformed)."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        tags: set[str] = set()
        needed: list[str] = []
        runpath: list[str] = []
        rpath: list[str] = []
        flags = flags_1 = 0
        for section in elf.iter_sections():
            if not isinstance(section, DynamicSection):
                continue
            for tag in section.iter_tags():
                name = tag.entry.d_tag
                tags.add(name)
                if name == "DT_NEEDED":
                    needed.append(tag.needed)
                elif name == "DT_RUNPATH":
                    runpath += tag.runpath.split(":")
                elif name == "DT_RPATH":
                    rpath += tag.rpath.split(":")
                elif name == "DT_FLAGS":
                    flags |= tag.entry.d_val
                elif name == "DT_FLAGS_1":
                    flags_1 |= tag.entry.d_val
        segments = list(elf.iter_segments())
        versions = _symbol_versions(elf)
        return ElfFacts(
            machine=str(elf["e_machine"]),
            kind=str(elf["e_type"]),
            needed=tuple(needed),
            search_path=tuple(entry for entry in runpath or rpath if entry),
            max_glibc=_max_glibc(versions),
            versions_needed=frozenset(v for names in versions.values() for v in names),
            interpreter=next((str(segment.get_interp_name()) for segment in segments
                              if segment["p_type"] == "PT_INTERP"), None),
            segments=frozenset(str(segment["p_type"]) for segment in segments),
            executable_stack=any(
                segment["p_type"] == "PT_GNU_STACK" and segment["p_flags"] & P_FLAGS.PF_X
                for segment in segments
            ),
            bind_now="DT_BIND_NOW" in tags
            or bool(flags & ENUM_DT_FLAGS["DF_BIND_NOW"])
            or bool(flags_1 & ENUM_DT_FLAGS_1["DF_1_NOW"]),
            textrel="DT_TEXTREL" in tags or bool(flags & ENUM_DT_FLAGS["DF_TEXTREL"]),
            exported=frozenset(_exported_symbols(elf)),
        )


def _exported_symbols(elf: ELFFile) -> Iterator[str]:
    for section in elf.iter_sections():
        if isinstance(section, SymbolTableSection) and section["sh_type"] == "SHT_DYNSYM":
            for symbol in section.iter_symbols():
                if symbol["st_shndx"] != "SHN_UNDEF" and symbol["st_info"]["bind"] in (
                    "STB_GLOBAL",
                    "STB_WEAK",
                ):
                    yield symbol.name


def _symbol_versions(elf: ELFFile) -> dict[str, set[str]]:
    needed: dict[str, set[str]] = {}
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                names = needed.setdefault(verneed.name, set())
                names.update(aux.name for aux in auxiliaries)
    return needed


def _max_glibc(versions: dict[str, set[str]]) -> Version | None:
    found = [
        Version(name.removeprefix("GLIBC_"))
        for names in versions.values()
        for name in names
        if name.startswith("GLIBC_") and name[len("GLIBC_") :][:1].isdigit()
    ]
    return max(found, default=None)
