"""`DIR/python-downloads.json`: the list of downloads uv installs Pythons from
(`uv python install --python-downloads-json-url`), in the format of uv's own
`download-metadata.json`, for the install_only archives of a release directory.

Each entry's key is `cpython-<version>[+<variant>]-<os>-<arch>-<libc>`; its URL is the base URL
and the archive's file name, so the directory can be served as it is; its sha256 comes from
the directory's SHA256SUMS, checked against the file.
"""

from __future__ import annotations

import json
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pbs.catalog import Catalog
from pbs.errors import UsageError
from pbs.names import ArchiveName, is_archive_name, parse_archive_name
from pbs.package import SHA256SUMS, read_sha256sums, sha256_of

_URL_SCHEMES = ("http", "https", "file")


@dataclass(frozen=True, kw_only=True)
class IndexSettings:
    base_url: str  # ends with "/"
    flavor: str


@dataclass(frozen=True, kw_only=True)
class Index:
    path: Path
    entries: dict[str, dict[str, Any]]  # uv's key -> its record
    notes: tuple[str, ...]  # archives left out, and why


def index_path(directory: Path, catalog: Catalog) -> Path:
    return directory / catalog.release.index_file


# What a URL may hold as it is (RFC 3986's unreserved and reserved characters, and `%`).
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def settings(directory: Path, catalog: Catalog, *, base_url: str | None,
             flavor: str | None) -> IndexSettings:
    """Checked settings of an index of `directory`; by default the file:// URL of the
    directory and the first of release.toml's index flavors."""
    flavors = catalog.release.index_flavors
    flavor = flavor or flavors[0]
    if flavor not in flavors:
        raise UsageError(f"--flavor {flavor!r} is not one of {', '.join(flavors)}")
    if base_url is None:
        return IndexSettings(base_url=f"{directory.resolve().as_uri()}/", flavor=flavor)
    unencoded = sorted({c for c in base_url if c not in _URL_CHARACTERS})
    if unencoded:
        raise UsageError(f"--base-url {base_url!r} holds characters a URL carries only "
                         f"percent-encoded: {''.join(unencoded)!r}")
    parts = urlsplit(base_url)
    if parts.scheme not in _URL_SCHEMES or (parts.scheme != "file" and not parts.netloc):
        raise UsageError(f"--base-url {base_url!r} is not an http://, https:// or file:// URL")
    if parts.query or parts.fragment:
        raise UsageError(f"--base-url {base_url!r}: the archive's name is appended to it, so "
                         "it can have no query or fragment")
    return IndexSettings(base_url=base_url.rstrip("/") + "/", flavor=flavor)


def current_settings(directory: Path, catalog: Catalog) -> IndexSettings:
    """The settings the directory's index was written with (the defaults when it has none,
    or one pbs cannot read): `pbs build` keeps them when it rewrites the index."""
    default = settings(directory, catalog, base_url=None, flavor=None)
    try:
        records = json.loads(index_path(directory, catalog).read_text())
        url = next(iter(records.values()))["url"]
        base_url, _, name = url.rpartition("/")
        flavor = parse_archive_name(unquote(name)).flavor
        return settings(directory, catalog, base_url=base_url, flavor=flavor)
    except (OSError, ValueError, LookupError, TypeError, AttributeError, StopIteration,
            UsageError):
        return default


def write_index(directory: Path, catalog: Catalog, index: IndexSettings) -> Index:
    """Write `directory`'s index of its `index.flavor` archives; nothing is written when any
    archive name does not parse, or a hash is missing or wrong."""
    made = build_index(directory, catalog, index)
    tmp = made.path.with_name(f".{made.path.name}.partial")
    tmp.write_text(json.dumps(dict(sorted(made.entries.items())), indent=2) + "\n")
    os.replace(tmp, made.path)
    return made


def build_index(directory: Path, catalog: Catalog, index: IndexSettings) -> Index:
    """The index `write_index` writes, made and checked without writing anything."""
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    archives = scan_archives(directory)
    if not archives:
        raise UsageError(f"{directory} holds no archives (cpython-….tar.gz or .tar.zst)")
    listed = [archive for archive in archives if archive.flavor == index.flavor]
    if not listed:
        raise UsageError(f"{directory} holds no {index.flavor} archives")
    digests = _checked_digests(directory, listed)
    entries: dict[str, dict[str, Any]] = {}
    tags: dict[str, ArchiveName] = {}
    notes = []
    for archive in listed:
        if archive.build and archive.build not in catalog.release.uv_variants:
            notes.append(f"{archive.name}: left out, uv installs no {archive.build} builds")
            continue
        key, record = _record(archive, catalog, index.base_url, digests[archive.name])
        if key in tags:
            older, newer = sorted((tags[key], archive), key=lambda a: a.tag)
            notes.append(f"{older.name}: left out, {newer.name} is a newer build of {key}")
            if newer is tags[key]:
                continue
        tags[key] = archive
        entries[key] = record
    return Index(path=index_path(directory, catalog), entries=entries, notes=tuple(notes))


def scan_archives(directory: Path) -> list[ArchiveName]:
    """Every archive in `directory` (hidden files aside), its name parsed."""
    return [parse_archive_name(name) for name in sorted(os.listdir(directory))
            if not name.startswith(".") and is_archive_name(name)]


def _checked_digests(directory: Path, archives: list[ArchiveName]) -> dict[str, str]:
    sums = directory / SHA256SUMS
    if not sums.is_file():
        raise UsageError(f"{directory} has no {SHA256SUMS}, where the archives' hashes come from")
    digests = read_sha256sums(sums)
    for archive in archives:
        if archive.name not in digests:
            raise UsageError(f"{sums} has no line for {archive.name}")
        if sha256_of(directory / archive.name) != digests[archive.name]:
            raise UsageError(f"{sums}: the sha256 of {archive.name} is not the file's")
    return digests


def _record(archive: ArchiveName, catalog: Catalog, base_url: str,
            sha256: str) -> tuple[str, dict[str, Any]]:
    try:
        target = catalog.target(archive.triple)
    except UsageError as unknown:
        raise UsageError(f"{archive.name}: {unknown}") from None
    arch, _vendor, os_name, libc = target.triple.split("-")
    # uv names an x86-64 level as the family and a variant (x86_64_v3: x86_64, v3).
    family, _, level = arch.partition("_v")
    family = catalog.release.uv_arch_families.get(family, family)
    variant = f"+{archive.build}" if archive.build else ""
    uv_arch = f"{family}_v{level}" if level else family
    major, minor, patch, prerelease = archive.release
    return f"cpython-{archive.version}{variant}-{os_name}-{uv_arch}-{libc}", {
        "name": "cpython",
        "arch": {"family": family, "variant": f"v{level}" if level else None},
        "os": os_name,
        "libc": libc,
        "major": major,
        "minor": minor,
        "patch": patch,
        "prerelease": prerelease,
        "url": base_url + quote(archive.name),
        "sha256": sha256,
        "variant": archive.build or None,
        "build": archive.tag,
    }
