"""Which build's install_only archives a release directory keeps.

install_only names carry a build's variant but not its optimizations, so a noopt and a pgo+lto
build of one Python share them. In one directory they belong to the build of the variant that
comes first in release.toml's `optimization_order` (the release configuration first) among
those whose full archive is there; a build is told when another one keeps them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pbs.catalog import ReleaseSpec
from pbs.errors import UsageError
from pbs.names import FULL, ArchiveNames, parse_archive_name


@dataclass(frozen=True, kw_only=True)
class InstallOnlyDecision:
    write: bool  # whether this build writes its install_only archives
    note: str | None  # what the user is told, when other builds share the names


def install_only_decision(out_dir: Path, names: ArchiveNames,
                          release: ReleaseSpec) -> InstallOnlyDecision:
    """Whether the build named `names` writes its install_only archives into `out_dir`."""
    shared = names.install_only()
    others = sorted(_sharing_builds(out_dir, names, release) - {names.options},
                    key=release.optimization_rank)
    if not others or not os.path.lexists(out_dir / shared):
        return InstallOnlyDecision(write=True, note=None)
    owner = min([names.options, *others], key=release.optimization_rank)
    order = ", ".join(release.optimization_order)
    if owner == names.options:
        return InstallOnlyDecision(write=True, note=(
            f"{shared} and its stripped twin now hold this {names.options} build; the full "
            f"archives of {', '.join(others)} share their name (kept in the order {order})"))
    return InstallOnlyDecision(write=False, note=(
        f"{shared} and its stripped twin stay the {owner} build's (kept in the order {order}); "
        f"this {names.options} build writes only its full archive"))


def _sharing_builds(out_dir: Path, names: ArchiveNames, release: ReleaseSpec) -> set[str]:
    """The options of the full archives in `out_dir` whose install_only names are `names`'."""
    if not out_dir.is_dir():
        return set()
    found = set()
    for entry in os.scandir(out_dir):
        if not entry.name.endswith(f"-{FULL}.tar.zst"):
            continue
        try:
            parsed = parse_archive_name(entry.name)
        except UsageError:
            continue  # not one of pbs's archives: it shares no name with this build
        other = ArchiveNames(version=parsed.version, tag=parsed.tag, triple=parsed.triple,
                               options=parsed.build, variant=release.variant(parsed.build))
        if other.install_only() == names.install_only():
            found.add(parsed.build)
    return found

