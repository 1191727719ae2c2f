"""Facts read from ELF files with pyelftools: what they need from the C library at run time."""

from __future__ import annotations

from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from packaging.version import Version


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
    needed: dict[str, set[str]] = {}
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for verneed, auxiliaries in section.iter_versions():
                    names = needed.setdefault(verneed.name, set())
                    names.update(aux.name for aux in auxiliaries)
    return needed


def max_glibc_version(path: Path) -> Version | None:
    """The newest GLIBC_x.y symbol version an ELF file needs, or None if it needs none."""
    versions = [
        Version(name.removeprefix("GLIBC_"))
        for names in needed_symbol_versions(path).values()
        for name in names
        if name.startswith("GLIBC_") and name[len("GLIBC_") :][:1].isdigit()
    ]
    return max(versions, default=None)
