"""Debian's archive as a source of pinned files, through apt with a private configuration.

The mirror is read from the machine's own apt configuration; pbs never names one. pbs keeps its
own source list, indexes and downloads under its cache, so the system's apt state is untouched.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pbs.cache import Cache
from pbs.catalog import DebianArchive, DebianLocation
from pbs.errors import CommandFailed, FetchError
from pbs.runner import Runner

APT_ETC = Path("/etc/apt")
APT_HELPER = Path("/usr/lib/apt/apt-helper")
# One line of `apt-get source --print-uris`: 'URI' file size SHA256:hash
PRINT_URIS_LINE = re.compile(r"^'(?P<uri>[^']+)' (?P<file>\S+) (?P<size>\d+) \S+$")


@dataclass(frozen=True, kw_only=True)
class Mirror:
    """A Debian archive root the machine's apt uses, and whether it serves security suites."""

    uri: str
    security: bool
    keyring: str | None


def machine_mirrors(archive: DebianArchive, etc_apt: Path = APT_ETC) -> list[Mirror]:
    """The Debian mirrors in the machine's apt configuration, archive mirrors first.

    An entry counts as Debian when one of its suites is a catalogued Debian suite; entries of
    other repositories (vendors, backports of third parties) are ignored.
    """
    known = set(archive.suites) | set(archive.security_suites)
    mirrors: list[Mirror] = []
    for entry in _apt_entries(etc_apt):
        suites = set(entry["suites"])
        if not suites & known:
            continue
        mirror = Mirror(
            uri=entry["uri"].rstrip("/"),
            security=bool(suites & set(archive.security_suites)),
            keyring=entry.get("keyring"),
        )
        if mirror not in mirrors:
            mirrors.append(mirror)
    return sorted(mirrors, key=lambda m: m.security)


def _apt_entries(etc_apt: Path) -> list[dict]:
    entries: list[dict] = []
    files = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in files:
        if path.is_file():
            entries += _one_line_entries(path.read_text())
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        entries += _deb822_entries(path.read_text())
    return entries


def _one_line_entries(text: str) -> list[dict]:
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith(("deb ", "deb-src ")):
            continue
        options = {}
        if match := re.search(r"\[([^\]]*)\]", line):
            options = dict(o.split("=", 1) for o in match.group(1).split() if "=" in o)
            line = line[: match.start()] + line[match.end() :]
        words = line.split()
        if len(words) >= 3:
            entries.append(
                {"uri": words[1], "suites": [words[2]], "keyring": options.get("signed-by")}
            )
    return entries


def _deb822_entries(text: str) -> list[dict]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no" or "uris" not in fields:
            continue
        keyring = fields.get("signed-by")
        for uri in fields["uris"].split():
            entries.append(
                {
                    "uri": uri,
                    "suites": fields.get("suites", "").split(),
                    # Signed-By may hold an inline key block; only a file path is usable here.
                    "keyring": keyring if keyring and keyring.startswith("/") else None,
                }
            )
    return entries


class DebianSource:
    """Fetches files from Debian's archive with apt, using pbs's private apt state."""

    def __init__(
        self, archive: DebianArchive, cache: Cache, runner: Runner, etc_apt: Path = APT_ETC
    ) -> None:
        self._archive = archive
        self._cache = cache
        self._runner = runner
        self._etc_apt = etc_apt
        self._updated = False

    def download(self, location: DebianLocation, dest: Path) -> str:
        """Download `location` to `dest` and return its URI; the caller verifies the bytes."""
        mirrors = machine_mirrors(self._archive, self._etc_apt)
        if not mirrors:
            raise FetchError(f"no Debian mirror in the apt configuration under {self._etc_apt}")
        if not shutil.which("apt-get") or not APT_HELPER.exists():
            raise FetchError("apt is not installed on this machine")
        uris = []
        if location.version:
            if uri := self._indexed_uri(location, mirrors):
                uris.append(uri)
        # Origs outlive the Debian revisions that first uploaded them, and some are in no index.
        uris += [f"{m.uri}/{location.pool_path}" for m in mirrors if not m.security]
        failures = []
        for uri in dict.fromkeys(uris):
            try:
                self._apt_helper_download(uri, dest)
                return uri
            except CommandFailed as exc:
                failures.append(f"{uri}: {str(exc).splitlines()[0]}")
                dest.unlink(missing_ok=True)
        raise FetchError("; ".join(failures))

    def _indexed_uri(self, location: DebianLocation, mirrors: list[Mirror]) -> str | None:
        """The URI the source indexes give for `location`, refreshing them once if needed."""
        uri = self._lookup(location, mirrors)
        if uri is None and not self._updated:
            self._update(mirrors)
            uri = self._lookup(location, mirrors)
        return uri

    def _lookup(self, location: DebianLocation, mirrors: list[Mirror]) -> str | None:
        if not any((self._cache.apt / "lists").glob("*Sources*")):
            self._update(mirrors)
        result = self._runner(
            [
                "apt-get",
                *self._apt_options(),
                "source",
                "--print-uris",
                "--only-source",
                f"{location.package}={location.version}",
            ],
            step=f"look up Debian source {location.package} {location.version}",
            log=self._log(location.file),
            check=False,
        )
        for line in result.output.splitlines():
            match = PRINT_URIS_LINE.match(line)
            if match and match["file"] == location.file:
                return match["uri"]
        return None

    def _update(self, mirrors: list[Mirror]) -> None:
        """Write pbs's own source list from the machine's mirrors and download its indexes."""
        with self._cache.lock("apt"):
            state = self._cache.apt
            for sub in ("lists/partial", "archives/partial"):
                (state / sub).mkdir(parents=True, exist_ok=True)
            (state / "sources.list").write_text(self._source_list(mirrors))
            self._runner(
                ["apt-get", *self._apt_options(), "update"],
                step="update pbs's Debian source indexes",
                log=self._cache.log("fetch", "apt-update.log"),
            )
        self._updated = True

    def _source_list(self, mirrors: list[Mirror]) -> str:
        lines = []
        components = " ".join(self._archive.components)
        for mirror in mirrors:
            keyring = mirror.keyring or self._archive.keyring
            suites = self._archive.security_suites if mirror.security else self._archive.suites
            lines += [
                f"deb-src [signed-by={keyring}] {mirror.uri} {suite} {components}"
                for suite in suites
            ]
        return "\n".join(lines) + "\n"

    def _apt_options(self, state: Path | None = None) -> list[str]:
        state = state or self._cache.apt
        options: dict[str, object] = {
            "Dir::Etc::sourcelist": state / "sources.list",
            "Dir::Etc::sourceparts": "/nonexistent",
            "Dir::State::Lists": state / "lists",
            "Dir::State::status": "/dev/null",
            "Dir::Cache": state,
            "Dir::Cache::archives": state / "archives",
        }
        if os.geteuid() == 0:
            # apt drops to the _apt user, who cannot write into root's cache directory.
            options["APT::Sandbox::User"] = "root"
        return [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]

    def download_package(self, package: str, version: str, arch: str, dest: Path) -> Path:
        """Debian's build of `package` `version` for the architecture `arch`, downloaded into the
        directory `dest` from the Debian suites of the machine's apt configuration; apt checks
        it against their signed indexes. Returns the .deb."""
        entries = self._debian_entries()
        if not entries:
            raise FetchError(f"no Debian mirror in the apt configuration under {self._etc_apt}")
        state = self._cache.apt / f"binary-{arch}"
        options = [*self._apt_options(state), "-o", f"APT::Architectures::={arch}"]
        with self._cache.lock(f"apt-binary-{arch}"):
            for sub in ("lists/partial", "archives/partial"):
                (state / sub).mkdir(parents=True, exist_ok=True)
            components = " ".join(self._archive.components)
            sources = "".join(
                f"deb [arch={arch} signed-by={keyring or self._archive.keyring}] {uri} {suite} "
                f"{components}\n" for uri, suite, keyring in entries)
            listing = state / "sources.list"
            if not listing.is_file() or listing.read_text() != sources:
                listing.write_text(sources)
                for index in (state / "lists").glob("*_Packages*"):
                    index.unlink()
            log = self._log(f"{package}_{arch}")
            wanted = f"{package}:{arch}={version}"
            for attempt in ("indexed", "updated"):
                if attempt == "updated" or not any((state / "lists").glob("*_Packages*")):
                    self._runner(["apt-get", *options, "update"],
                                 step=f"update pbs's Debian {arch} package indexes", log=log)
                result = self._runner(["apt-get", *options, "download", wanted], cwd=dest,
                                      step=f"download Debian's {wanted}", log=log, check=False)
                debs = sorted(dest.glob(f"{package}_*_{arch}.deb"))
                if result.returncode == 0 and len(debs) == 1:
                    return debs[0]
        raise FetchError(f"Debian's {wanted} is not in the machine's Debian suites "
                         f"({', '.join(sorted({suite for _, suite, _ in entries}))}); see {log}")

    def _debian_entries(self) -> list[tuple[str, str, str | None]]:
        """(mirror, suite, keyring) of every catalogued Debian suite the machine's apt uses."""
        known = set(self._archive.suites) | set(self._archive.security_suites)
        found: list[tuple[str, str, str | None]] = []
        for entry in _apt_entries(self._etc_apt):
            for suite in entry["suites"]:
                row = (entry["uri"].rstrip("/"), suite, entry.get("keyring"))
                if suite in known and row not in found:
                    found.append(row)
        return found

    def _apt_helper_download(self, uri: str, dest: Path) -> None:
        self._runner(
            [APT_HELPER, *self._apt_options(), "download-file", uri, dest],
            step=f"download {dest.name} from Debian",
            log=self._log(dest.name),
        )

    def _log(self, file: str) -> Path:
        return self._cache.log("fetch", f"{file}.log")
