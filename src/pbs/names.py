"""Archive file names, written and read, in the grammar uv, pbs-installer and the reference
project share: `cpython-<version>+<tag>-<triple>-[<build>-]<flavor>.tar.(zst|gz)`.

A full archive's `<build>` is its whole options string (`freethreaded+pgo+lto`); the
install_only flavors carry only the build's variant (`freethreaded`, `debug`,
`freethreaded+debug`, or nothing), as the reference project names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pbs.errors import UsageError

FULL = "full"
INSTALL_ONLY = "install_only"
INSTALL_ONLY_STRIPPED = "install_only_stripped"
EXTENSIONS = {FULL: "tar.zst", INSTALL_ONLY: "tar.gz", INSTALL_ONLY_STRIPPED: "tar.gz"}

_NAME = re.compile(
    r"cpython-(?P<version>(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)"
    r"(?P<prerelease>(?:a|b|rc)[0-9]+)?)\+(?P<tag>[A-Za-z0-9]+)"
    r"-(?P<triple>[a-z0-9_]+-[a-z0-9]+-[a-z0-9]+-[a-z0-9]+)"
    r"(?:-(?P<build>[a-z]+(?:\+[a-z]+)*))?"
    r"-(?P<flavor>full|install_only|install_only_stripped)\.(?P<extension>tar\.zst|tar\.gz)"
)
_GRAMMAR = "cpython-<version>+<tag>-<triple>-[<build>-]<flavor>.tar.(zst|gz)"


@dataclass(frozen=True, kw_only=True)
class ArchiveNames:
    """File names of one build's archives."""

    version: str
    tag: str
    triple: str
    options: str  # the full options string, "freethreaded+" prefix included
    variant: str  # the options' parts that name install_only archives ("" for none)

    def __post_init__(self) -> None:
        # A variant not made of the options' parts would mislabel the archives.
        if not set(filter(None, self.variant.split("+"))) <= set(self.options.split("+")):
            raise UsageError(f"archive names: variant {self.variant!r} is not part of the "
                             f"options {self.options!r}")

    def full(self) -> str:
        return f"{self._stem()}-{self.options}-{FULL}.{EXTENSIONS[FULL]}"

    def install_only(self) -> str:
        return self._install_only(INSTALL_ONLY)

    def install_only_stripped(self) -> str:
        return self._install_only(INSTALL_ONLY_STRIPPED)

    def _install_only(self, flavor: str) -> str:
        variant = f"-{self.variant}" if self.variant else ""
        return f"{self._stem()}{variant}-{flavor}.{EXTENSIONS[flavor]}"

    def _stem(self) -> str:
        return f"cpython-{self.version}+{self.tag}-{self.triple}"


@dataclass(frozen=True, kw_only=True)
class ArchiveName:
    """What an archive's file name says."""

    name: str
    version: str
    release: tuple[int, int, int, str]  # the version's major, minor, patch, prerelease ("rc1")
    tag: str
    triple: str
    build: str  # a full archive's options, an install_only archive's variant ("" for none)
    flavor: str

    @property
    def stem(self) -> str:
        """The name without build and flavor: one release of one Python for one target."""
        return f"cpython-{self.version}+{self.tag}-{self.triple}"

    @property
    def static(self) -> bool:
        """Whether the archive holds a +static build (its options or variant name `static`)."""
        return "static" in self.build.split("+")


def is_archive_name(name: str) -> bool:
    """Whether a file, by the end of its name, is meant to be an archive."""
    return name.endswith((".tar.gz", ".tar.zst"))


def parse_archive_name(name: str) -> ArchiveName:
    """Read an archive's file name; one that does not follow the grammar is refused."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise UsageError(f"{name}: not an archive name of the form {_GRAMMAR}")
    flavor = match["flavor"]
    if match["extension"] != EXTENSIONS[flavor]:
        raise UsageError(f"{name}: {flavor} archives are .{EXTENSIONS[flavor]} files")
    build = match["build"] or ""
    if flavor == FULL and not build:
        raise UsageError(f"{name}: a full archive's name carries its build options")
    release = (int(match["major"]), int(match["minor"]), int(match["patch"]),
               match["prerelease"] or "")
    return ArchiveName(name=name, version=match["version"], release=release, tag=match["tag"],
                       triple=match["triple"], build=build, flavor=flavor)
