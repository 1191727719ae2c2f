"""CPython's makesetup files (Modules/Setup*, their `.in` templates), read as makesetup reads them.

Each line is a comment, a section marker (`*static*`: built into the core, `*shared*`: a
shared object, `*disabled*`: not built), a variable definition (makesetup takes any line with
`=` for one) or a module rule: a module name, then its sources and flags. A trailing backslash
continues a line. configure turns a template's `@MODULE_<NAME>_TRUE@` prefix into nothing or
into `#`, so a comment can hold the rule of a module it does not build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pbs.errors import PbsError


class Section(Enum):
    STATIC = "*static*"
    SHARED = "*shared*"
    DISABLED = "*disabled*"


@dataclass(frozen=True)
class Comment:
    text: str  # the whole line, `#` included


@dataclass(frozen=True)
class Marker:
    # None for a template's `*@MODULE_BUILDTYPE@*`, whose section configure picks; the
    # rules after it stay in the section before it.
    section: Section | None


@dataclass(frozen=True)
class Variable:
    name: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    words: tuple[str, ...]  # sources, compiler and linker flags, as written
    section: Section
    commented: bool = False  # configure's `#` in front: a module it does not build

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(word for word in self.words if word.endswith(".c"))

    @property
    def built(self) -> bool:
        return not self.commented and self.section is not Section.DISABLED

    @property
    def line(self) -> str:
        return " ".join((self.name, *self.words))


SetupLine = Comment | Marker | Variable | Rule

_CONDITION = re.compile(r"^@MODULE_\w+_TRUE@")
_NAME = re.compile(r"[A-Za-z_]\w*")
_TRAILING_COMMENT = re.compile(r"\s*#.*")


def parse(text: str) -> tuple[SetupLine, ...]:
    """Every line of a Setup file; sections start as makesetup starts them, `*static*`."""
    lines: list[SetupLine] = []
    section = Section.STATIC
    for line in _logical_lines(text):
        if line.startswith("#"):
            # configure puts its `#` right before a rule; prose has a space after it, or no
            # C source.
            rule = None if line[1:2].isspace() else _rule(line[1:], section, commented=True)
            lines.append(rule if rule and rule.sources else Comment(line))
        elif "=" in line:
            name, value = line.split("=", 1)
            lines.append(Variable(name.strip(), value.strip()))
        elif line.startswith("*"):
            marker = Marker(next((s for s in Section if s.value == line), None))
            section = marker.section or section
            lines.append(marker)
        else:
            rule = _rule(line, section, commented=False)
            if rule is None:
                raise PbsError(f"'{line}' is no Setup line: it should start with a module name")
            lines.append(rule)
    return tuple(lines)


def read_setup(path: Path) -> tuple[SetupLine, ...]:
    return parse(path.read_text())


def module_rules(lines: Iterable[SetupLine], *, commented: bool = False) -> tuple[Rule, ...]:
    """The module rules among `lines`; with `commented`, also the ones configure commented out."""
    return tuple(
        line for line in lines if isinstance(line, Rule) and (commented or not line.commented)
    )


def applied_rules(paths: Iterable[Path]) -> dict[str, Rule]:
    """module -> the rule makesetup applies to it, reading `paths` as one file in order.

    The first rule for a module wins, even a `*disabled*` one: that is how Setup.local
    overrides or turns off a module of the generated files read after it.
    """
    applied: dict[str, Rule] = {}
    for rule in module_rules(parse("\n".join(path.read_text() for path in paths))):
        applied.setdefault(rule.name, rule)
    return applied


def _rule(text: str, section: Section, *, commented: bool) -> Rule | None:
    words = _CONDITION.sub("", text).split()
    if not words or not _NAME.fullmatch(words[0]):
        return None
    return Rule(name=words[0], words=tuple(words[1:]), section=section, commented=commented)


def _logical_lines(text: str) -> Iterator[str]:
    """Stripped lines; comment lines whole, other lines without their trailing comment and
    joined across a trailing backslash (makesetup drops comments before joining)."""
    continued = ""
    for physical in text.splitlines():
        line = physical.strip()
        if line.startswith("#") and not continued:
            yield line
            continue
        line = _TRAILING_COMMENT.sub("", line)
        if not line:
            continue
        if line.endswith("\\"):
            continued += line[:-1]
        else:
            yield continued + line
            continued = ""
    if continued:
        yield continued.strip()
