"""`pbs build` runs the harness times, and the archives they publish."""

from __future__ import annotations

import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pbs.cache import default_cache_root
from pbs.runner import run

CPYTHON_LINE = re.compile(r"CPython (\S+): (built in [\d.]+ s|cached)")


@dataclass(frozen=True, kw_only=True)
class BuildRun:
    python: str  # the version pbs built, e.g. 3.14.7
    options: str
    cache: str  # "cold": an empty cache (sources copied in); "warm": whatever the cache held
    cpython_step: str  # "built in N s" or "cached"
    seconds: float
    archives: dict[str, int]  # file name -> bytes

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def archive(self, kind: str) -> Path:
        """The published archive whose name ends in `kind` (e.g. "install_only.tar.gz")."""
        return next(Path(name) for name in self.archives if name.endswith(kind))


def pbs_build(python: str, options: str, *, cache_dir: Path, out: Path, jobs: int, cache: str,
              log: Path) -> BuildRun:
    """Run `pbs build` into an emptied `out` and report its wall time and archives."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    output = run([sys.executable, "-m", "pbs", "--cache-dir", cache_dir, "build",
                  "--python", python, "--options", options, "-j", str(jobs), "--out", out],
                 step=f"pbs build {python} {options}", log=log).output
    seconds = round(time.monotonic() - started, 1)
    found = CPYTHON_LINE.search(output)
    archives = {str(path): path.stat().st_size for path in sorted(out.glob("cpython-*.tar.*"))}
    return BuildRun(python=found[1] if found else python, options=options, cache=cache,
                    cpython_step=found[2] if found else "unknown", seconds=seconds,
                    archives=archives)


def published(out: Path, options: str) -> BuildRun | None:
    """The archives an earlier `pbs build` left in `out`, if it finished (SHA256SUMS is the
    last file pbs publishes)."""
    full = sorted(out.glob(f"cpython-*-{options}-full.tar.zst"))
    if not (out / "SHA256SUMS").is_file() or len(full) != 1:
        return None
    version = full[0].name.removeprefix("cpython-").split("+", 1)[0]
    archives = {str(path): path.stat().st_size for path in sorted(out.glob("cpython-*.tar.*"))}
    return BuildRun(python=version, options=options, cache="reused", cpython_step="reused",
                    seconds=0.0, archives=archives)


def cold_and_warm(python: str, options: str, *, work_dir: Path, jobs: int,
                  log: Path) -> list[BuildRun]:
    """`pbs build` in a fresh cache, then again in that cache. Sources are copied in from the
    default cache first, so the cold time is building, not downloading."""
    cache_dir = work_dir / "cold-cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    sources = default_cache_root() / "sources"
    if sources.is_dir():
        shutil.copytree(sources, cache_dir / "sources")
    runs = [pbs_build(python, options, cache_dir=cache_dir, out=work_dir / f"dist-{kind}",
                      jobs=jobs, cache=kind, log=log) for kind in ("cold", "warm")]
    shutil.rmtree(cache_dir, ignore_errors=True)
    return runs
