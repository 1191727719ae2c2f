"""How big pbs's archives are, flavor by flavor, what takes the room, and the reference's size.

    python benchmarks/size.py [--python 3.13] [--options pgo+lto] [--top N] [--jobs N]
                              [--work-dir DIR] [--cache-dir DIR] [--reuse-archives]

1. `pbs build --python V --options O` for the default target, x86_64-unknown-linux-gnu (its
   wall time), or with --reuse-archives the archives an earlier run built into the work dir
   (reported with the pbs revision and date that built them);
2. for each flavor (full, install_only, install_only_stripped): the archive's bytes, its files'
   bytes unpacked, its file count and its --top biggest files;
3. against python-build-standalone's published sizes of the same version and options, where
   REFERENCE has them: a goal is met when pbs's archive is no larger;
4. benchmarks/results/size-V-O.json and .md (V the minor version).

pbs's archives are reproducible: one measurement is the figure, there is no spread to sample.
Exits 1 when a reference size is exceeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import builds, cli, sizes
from harness.provenance import Provenance, machine

from pbs.cache import default_cache_root
from pbs.catalog import load_catalog
from pbs.errors import UsageError

HERE = Path(__file__).parent
RESULTS = HERE / "results"


@dataclass(frozen=True, kw_only=True)
class ReferenceSize:
    flavor: str
    bytes: int
    source: str  # where the figure was published


# python-build-standalone's x86_64 Linux archives of May 2026, as published in
# esphome/esphome-desktop PR #90 (2026-05-19), in MB of 10**6 bytes.
REFERENCE = {
    ("3.13", "pgo+lto"): (
        ReferenceSize(flavor="install_only", bytes=124_000_000,
                      source="python-build-standalone 3.13, May 2026 (esphome-desktop PR #90)"),
        ReferenceSize(flavor="install_only_stripped", bytes=35_000_000,
                      source="python-build-standalone 3.13, May 2026 (esphome-desktop PR #90)"),
    ),
}


def main() -> int:
    args = parse_args()
    run = Provenance.now()
    log = cli.open_log(args.work_dir, "size.log")
    minor = ".".join(args.python.split(".")[:2])
    out = args.work_dir / f"dist-size-{args.python}-{args.options}"
    build = ((args.reuse_archives and builds.published(out, args.options))
             or builds.pbs_build(args.python, args.options,
                                 cache_dir=args.cache_dir or default_cache_root(), out=out,
                                 jobs=args.jobs, cache="warm", log=log))
    measured = sorted((sizes.measure(Path(name), top=args.top) for name in build.archives),
                      key=lambda archive: sizes.FLAVORS.index(archive.flavor))
    goals = [goal_json(reference, measured)
             for reference in REFERENCE.get((minor, args.options), ())]
    results = {
        "run": {**run.to_json(), "command": sys.argv},
        "machine": machine(),
        "target": load_catalog().target(None).triple,  # what `pbs build` builds by default
        "build": build.to_json(),
        "archives": [archive.to_json() for archive in measured],
        "goals": goals,
        "goals_met": all(goal["met"] for goal in goals),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Not Path.with_suffix: "size-3.13-pgo+lto" has a dot of its own.
    stem = f"size-{minor}-{args.options}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = render(results)
    (RESULTS / f"{stem}.md").write_text(markdown)
    print(markdown)
    print(f"goals {'met' if results['goals_met'] else 'NOT met'}; {RESULTS / stem}.md")
    return 0 if results["goals_met"] else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.13", help="the version to build (default: 3.13)")
    parser.add_argument("--options", default="pgo+lto", help="build options (default: pgo+lto)")
    parser.add_argument("--top", type=int, default=10,
                        help="how many of each archive's biggest files to list (default: 10)")
    cli.add_builds(parser, "the build")
    args = parser.parse_args()
    if args.top < 1:
        parser.error(f"--top wants a positive number of files, not {args.top}")
    catalog = load_catalog()
    try:
        catalog.parse_options(args.options, catalog.python(args.python), catalog.target(None))
    except UsageError as error:
        parser.error(str(error))
    return args


def goal_json(reference: ReferenceSize, measured: list[sizes.ArchiveSize]) -> dict[str, object]:
    archive = next(a for a in measured if a.flavor == reference.flavor)
    return {"flavor": reference.flavor, "reference_bytes": reference.bytes,
            "reference_source": reference.source, "pbs_bytes": archive.archive_bytes,
            "met": archive.archive_bytes <= reference.bytes}


def render(results: dict) -> str:
    build = results["build"]
    built_by = Provenance.from_json(build["built_by"])
    seconds = ("not timed (reused)" if build["seconds"] is None
               else f"{build['seconds']:.0f} s wall time, CPython step {build['cpython_step']}")
    lines = [f"# pbs archive sizes: CPython {build['python']} {build['options']}, "
             f"{results['target']}", "",
             f"Measured at {Provenance.from_json(results['run']).text()}; archives built at "
             f"{built_by.text()} ({seconds}). MB are 10^6 bytes.", ""]
    if results["goals"]:
        lines += ["## Against python-build-standalone", "",
                  "| flavor | pbs MB | reference MB | reference | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {g['flavor']} | {g['pbs_bytes'] / 1e6:.1f} | "
                  f"{g['reference_bytes'] / 1e6:.1f} | {g['reference_source']} | "
                  f"{'met (no larger)' if g['met'] else 'NOT met (larger)'} |"
                  for g in results["goals"]]
        lines.append("")
    archives = [sizes.ArchiveSize.from_json(a) for a in results["archives"]]
    lines += ["## Flavors", "", "| flavor | archive MB | unpacked MB | files |", "|---|---|---|---|"]
    lines += [f"| {a.flavor} | {a.archive_bytes / 1e6:.1f} | {a.unpacked_bytes / 1e6:.1f} | "
              f"{a.files} |" for a in archives]
    for archive in archives:
        lines += ["", f"## Biggest files in {archive.flavor} (unpacked)", "",
                  "| file | MB |", "|---|---|"]
        lines += [f"| {f.path} | {f.bytes / 1e6:.1f} |" for f in archive.biggest]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
