"""The catalogued edits of CPython's sources (catalog/patches.toml), made before configure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pbs.catalog import SourcePatch
from pbs.errors import PbsError


def apply_patches(source_dir: Path, patches: Sequence[SourcePatch]) -> None:
    """Make each edit, or stop: text that no longer occurs exactly once means the release
    changed there, and the edit must be reviewed rather than lost or made twice."""
    for patch in patches:
        path = source_dir / patch.file
        text = path.read_text()
        count = text.count(patch.find)
        if count != 1:
            raise PbsError(f"patch {patch.name}: {patch.file} holds the text it replaces "
                           f"{count} times, not once")
        path.write_text(text.replace(patch.find, patch.replace))
