"""`pbs build` runs the harness times, and the archives they publish.

A build writes BUILT-BY.json beside its archives: the revision of pbs that built them and when,
so that a later run reusing them can say so instead of passing them off as its own.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pbs.cache import default_cache_root
from pbs.errors import PbsError
from pbs.runner import run

from .provenance import Provenance

CPYTHON_LINE = re.compile(r"CPython (\S+): (built in [\d.]+ s|cached)")
BUILT_BY = "BUILT-BY.json"


@dataclass(frozen=True, kw_only=True)
class BuildRun:
    python: str  # the version pbs built, e.g. 3.14.7
    options: str
    cache: str  # "cold": an empty cache (sources copied in); "warm": whatever the cache held;
    # "reused": archives an earlier run built, not timed by this one
    cpython_step: str  # "built in N s", "cached" or "reused"
    seconds: float | None  # wall time of `pbs build`; None when reused
    archives: dict[str, int]  # file name -> bytes
    built_by: Provenance

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def archive(self, kind: str) -> Path:
        """The published archive whose name ends in `kind` (e.g. "install_only.tar.gz")."""
        return next(Path(name) for name in self.archives if name.endswith(kind))


def pbs_build(python: str, options: str, *, cache_dir: Path, out: Path, jobs: int, cache: str,
              log: Path) -> BuildRun:
    """Run `pbs build` into an emptied `out` and report its wall time and archives."""
    shutil.rmtree(out, ignore_errors=True)
    built_by = Provenance.now()
    started = time.monotonic()
    output = run([sys.executable, "-m", "pbs", "--cache-dir", cache_dir, "build",
                  "--python", python, "--options", options, "-j", str(jobs), "--out", out],
                 step=f"pbs build {python} {options}", log=log).output
    seconds = round(time.monotonic() - started, 1)
    found = CPYTHON_LINE.search(output)
    (out / BUILT_BY).write_text(json.dumps(built_by.to_json(), indent=2) + "\n")
    return BuildRun(python=found[1] if found else python, options=options, cache=cache,
                    cpython_step=found[2] if found else "unknown", seconds=seconds,
                    archives=_archives(out), built_by=built_by)


def published(out: Path, options: str) -> BuildRun | None:
    """The archives an earlier harness build left in `out`, if it finished (SHA256SUMS is the
    last file pbs publishes); refused when nothing records which pbs built them."""
    full = sorted(out.glob(f"cpython-*-{options}-full.tar.zst"))
    if not (out / "SHA256SUMS").is_file() or len(full) != 1:
        return None
    if not (out / BUILT_BY).is_file():
        raise PbsError(f"{out} has archives but no {BUILT_BY} saying which pbs revision built "
                       "them; build them anew (run without --reuse-archives)")
    version = full[0].name.removeprefix("cpython-").split("+", 1)[0]
    return BuildRun(python=version, options=options, cache="reused", cpython_step="reused",
                    seconds=None, archives=_archives(out),
                    built_by=Provenance.from_json(json.loads((out / BUILT_BY).read_text())))


def _archives(out: Path) -> dict[str, int]:
    return {str(path): path.stat().st_size for path in sorted(out.glob("cpython-*.tar.*"))}


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
