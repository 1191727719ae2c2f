"""The `pbs` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from pbs import __version__, interrupt
from pbs.buildpaths import BuildPath, machine_needles
from pbs.cache import Cache, default_cache_root, open_cache
from pbs.catalog import Catalog, Target, load_catalog
from pbs.sources.debian import DebianSource
from pbs.errors import PbsError, UsageError
from pbs.sources.fetch import Fetched, Fetcher
from pbs.inputs import (
    archive_file,
    output_directory,
    release_tag,
    source_date_epoch,
    source_directory,
)
from pbs.host import ensure_emulation, ensure_packages, needed_packages
from pbs.link import LinkRequest, link_archive
from pbs.live import LiveSteps
from pbs.pipeline import (
    BuildRequest,
    default_tag,
    dependency_stage,
    toolchain_libc,
    run_build,
    target_toolchain,
)
from pbs.recipes import RECIPES
from pbs.runner import run
from pbs.smoke import render as render_tests
from pbs.smoke import test_archive
from pbs.steps.engine import StepEngine
from pbs.uvindex import scan_archives, settings, write_index
from pbs.validate import Report as ValidationReport
from pbs.validate import render as render_validation
from pbs.validate import validate_archive, validate_tree

SOURCE_DIR_ENV = "PBS_SOURCE_DIR"
LS_SECTIONS = ("pythons", "targets", "options", "sources")
PIPE_WIDTH = 200


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # Piped output is not cut to 80 columns: tables stay one row per line for grep and logs.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with interrupt.handled():
            return args.handler(args, load_catalog(), out, err)
    except PbsError as exc:
        print(f"pbs: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except interrupt.Interrupted as exc:
        print(f"pbs: interrupted by {exc.signal.name}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pbs: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A last resort: the failures pbs foresees have messages of their own.
        what = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else exc
        print(f"pbs: error: {what}", file=sys.stderr)
        return 1


class _Parser(argparse.ArgumentParser):
    """Reports a usage error in one line, as pbs reports every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"pbs: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pbs", description="Build self-contained, portable CPython distributions."
    )
    parser.add_argument("--version", action="version", version=f"pbs {__version__}")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache directory (default: $PBS_CACHE_DIR or ~/.cache/pbs)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build", help="build a CPython distribution and write its archives and SHA256SUMS"
    )
    build.add_argument(
        "--python", help="CPython version, e.g. 3.14 or 3.14.7 (default: newest final release)"
    )
    _add_target(build)
    build.add_argument(
        "--options", help="build options, e.g. noopt, pgo+lto, freethreaded+pgo+lto (default: pgo+lto)"
    )
    _add_jobs(build)
    build.add_argument(
        "--out", type=Path, default=Path("dist"), help="directory for the archives (default: dist)"
    )
    build.add_argument("--tag", help="release tag in the archive names (default: today, YYYYMMDD)")
    build.add_argument(
        "--no-test", action="store_true",
        help="publish after validation alone, without running `pbs test` on the full archive "
             "(noopt and debug builds only)",
    )
    _add_source_dir(build)
    build.set_defaults(handler=_build)

    validate = commands.add_parser(
        "validate", help="check archives without running them: libraries, glibc, symbols, "
        "hardening, build paths, PYTHON.json",
    )
    validate.add_argument("archives", nargs="+", type=Path, metavar="ARCHIVE")
    validate.add_argument(
        "--target", help="target triple to check against (default: the one in the archive's name)"
    )
    validate.add_argument(
        "--forbid", action="append", default=[], metavar="PATH",
        help="a build-machine path no file may contain (repeatable; the cache directory always is)",
    )
    validate.set_defaults(handler=_validate)

    test = commands.add_parser(
        "test", help="unpack an archive somewhere new and put its Python to work"
    )
    test.add_argument("archive", type=Path, metavar="ARCHIVE")
    test.add_argument(
        "--full", action="store_true",
        help="run CPython's whole regression test suite instead of the catalog's selection",
    )
    test.add_argument(
        "--keep", type=Path, metavar="DIR",
        help="unpack into a new directory under DIR and keep it (default: a temporary directory)",
    )
    test.set_defaults(handler=_test)

    link = commands.add_parser(
        "link", help="link a new interpreter from a full archive, with chosen built-in modules"
    )
    link.add_argument("archive", type=Path, metavar="FULL_ARCHIVE")
    link.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR",
                      help="new directory that receives python/, the linked install tree")
    link.add_argument("--exclude", type=_module_list, default=frozenset(), metavar="MOD,…",
                      help="built-in extension modules to leave out")
    link.add_argument("--include", type=_module_list, default=None, metavar="MOD,…",
                      help="link only these built-in modules (and the required ones)")
    link.add_argument("--embed-example", action="store_true",
                      help="also build bin/embed-example, a C program embedding the new libpython")
    link.set_defaults(handler=_link)

    fetch = commands.add_parser(
        "fetch", help="download and verify the sources a build needs into the cache"
    )
    which = fetch.add_mutually_exclusive_group()
    which.add_argument("--python", help="CPython version, e.g. 3.14 or 3.14.7 (default: newest)")
    which.add_argument(
        "--all", action="store_true", help="fetch the sources of every catalogued version"
    )
    _add_target(fetch)
    _add_source_dir(fetch)
    fetch.set_defaults(handler=_fetch)

    deps = commands.add_parser(
        "deps", help="build (or find cached) every C dependency as a static library"
    )
    _add_target(deps)
    deps.add_argument(
        "--options",
        help="build options (default: pgo+lto); dependencies are built the same for all",
    )
    _add_jobs(deps)
    _add_source_dir(deps)
    deps.set_defaults(handler=_deps)

    toolchain = commands.add_parser(
        "toolchain", help="prepare (or find cached) the compilers for a target and describe them"
    )
    _add_target(toolchain)
    toolchain.add_argument(
        "--print-apt-packages",
        action="store_true",
        help="only print the Debian packages the toolchain needs, space-separated",
    )
    toolchain.set_defaults(handler=_toolchain)

    index = commands.add_parser(
        "index", help="write DIR/python-downloads.json, the list of downloads uv installs from"
    )
    index.add_argument("directory", type=Path, metavar="DIR")
    index.add_argument(
        "--base-url", metavar="URL",
        help="where DIR is served; each archive's URL is URL/<file name> "
             "(default: DIR's file:// URL)",
    )
    index.add_argument(
        "--flavor", metavar="FLAVOR",
        help="the archives listed: install_only_stripped (default) or install_only",
    )
    index.set_defaults(handler=_index)

    ls = commands.add_parser("ls", help="list the versions, targets, options and sources pbs knows")
    ls.add_argument("section", nargs="?", choices=LS_SECTIONS, help="list only this section")
    ls.set_defaults(handler=_ls)
    return parser


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="target triple (default: x86_64-unknown-linux-gnu)")


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j", "--jobs", type=_positive, default=os.cpu_count() or 1,
        help="parallel jobs (default: the number of cores)",
    )


def _add_source_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=None,
        help=f"directory searched first for source files (default: ${SOURCE_DIR_ENV})",
    )


# -- build ---------------------------------------------------------------------------------


def _build(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    python = catalog.python(args.python)
    target = catalog.target(args.target)
    options = catalog.parse_options(args.options, python, target)
    tag = release_tag(default_tag() if args.tag is None else args.tag)
    source_date_epoch()  # used only when packaging, but a bad value must not wait for that
    full_regrtest = catalog.options.needs_full_regrtest(options)
    if args.no_test and full_regrtest:
        raise UsageError(
            f"--no-test cannot be used with {options}: builds optimized at link time or by a "
            f"profile ({', '.join(catalog.options.full_regrtest_bases)}) are published only after "
            "CPython's whole test suite passes on them"
        )
    output_directory(args.out, "--out")
    if args.out.is_dir():
        # --out's index is rewritten after publishing: what would stop that stops the build now.
        try:
            scan_archives(args.out)
        except UsageError as exc:
            raise UsageError(f"--out {args.out}: {exc}") from None
    source_dirs = _source_dirs(args)
    request = BuildRequest(python=python, target=target, options=options, jobs=args.jobs,
                           out=args.out, tag=tag, run_tests=not args.no_test,
                           full_regrtest=full_regrtest)
    cache = _cache(args)
    _host_packages(catalog, target, cache, err, checks=True)
    err.print(f"building CPython {python} for {target.triple} with {options}")
    with LiveSteps(err) as live:
        report = run_build(request, catalog, cache, _fetcher(catalog, cache, source_dirs, err),
                           live, run)
    built = sum(1 for r in report.deps if not r.cached)
    cpython = report.cpython
    out.print(
        f"dependencies: {len(report.deps)} ({built} built, {len(report.deps) - built} cached); "
        f"CPython {python}: {'cached' if cpython.cached else f'built in {cpython.seconds:.1f} s'}"
        f" (log: {cpython.log})"
    )
    table = Table(title=f"archives in {args.out}", title_justify="left")
    table.add_column("archive")
    table.add_column("size", justify="right")
    for archive in report.archives:
        table.add_row(archive.name, _size(archive.stat().st_size))
    out.print(table)
    for name, validation in report.verification.validations.items():
        out.print(f"validate {name}: {render_validation(validation)[-1]}")
    if report.verification.tests:
        out.print(render_tests(report.verification.tests))
    for note in report.notes:
        err.print(f"pbs: {note}")
    out.print(f"{report.sha256sums}, {report.index.path} ({len(report.index.entries)} "
              f"downloads for uv); done in {report.seconds:.1f} s")
    return 0


# -- validate / test -------------------------------------------------------------------------


def _validate(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    target = catalog.target(args.target) if args.target else None
    forbidden = [str((args.cache_dir or default_cache_root()).resolve()), *args.forbid,
                 *machine_needles(catalog.toolchain.python_package)]
    failed = 0
    # Every archive is checked and reported, whatever happens to the others.
    for archive in args.archives:
        out.print(f"{archive.name or archive}:", markup=False)
        try:
            report = _validate_one(archive, target, catalog, forbidden)
        except PbsError as exc:
            out.print(f"  error: {exc}", markup=False)
            failed += 1
            continue
        for line in render_validation(report):
            out.print(f"  {line}", markup=False)
        failed += not report.ok
    return 1 if failed else 0


def _validate_one(
    archive: Path, target: Target | None, catalog: Catalog, forbidden: list[BuildPath]
) -> ValidationReport:
    # A directory is a tree `pbs link` wrote (OUTDIR holding python/); its name says nothing.
    if archive.is_dir():
        return validate_tree(archive, target or catalog.target(None), forbidden, catalog.isa)
    if not archive.is_file():
        what = "is not a regular file or directory" if archive.exists() else "does not exist"
        raise UsageError(f"{archive} {what}")
    return validate_archive(archive, target or catalog.target_of_archive(archive), forbidden,
                            catalog.isa)


def _module_list(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _link(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    request = LinkRequest(archive=args.archive, out=args.out, exclude=args.exclude,
                          include=args.include, embed_example=args.embed_example)
    request.check()
    cache = _cache(args)
    result = link_archive(
        request, catalog, cache, run,
        lambda target: target_toolchain(target, catalog=catalog, cache=cache,
                                        fetcher=_fetcher(catalog, cache, [], err), runner=run))
    out.print(f"linked {len(result.modules)} built-in modules; left out: "
              f"{', '.join(result.left_out) or 'none'}")
    out.print(f"{result.interpreter}: {_size(result.interpreter.stat().st_size)} "
              f"(the archive's: {_size(result.original_size)})")
    if result.embed_example:
        out.print(f"embedding example: {result.embed_example} EXPRESSION")
    out.print(f"log: {result.log}")
    return 0


def _test(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    archive_file(args.archive)
    if args.keep is not None:
        output_directory(args.keep, "--keep")
    cache = _cache(args)
    log = cache.log("test", f"{args.archive.name}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    try:
        target = catalog.target_of_archive(args.archive)
    except UsageError:
        target = None  # test_archive refuses the archive, after trying to read it
    libc = None
    if target is not None:
        _host_packages(catalog, target, cache, err, checks=True)
        if catalog.toolchain_sources(target):
            # The target's libc, which this machine lacks, comes from its toolchain.
            libc = toolchain_libc(target_toolchain(target, catalog=catalog, cache=cache,
                                                  fetcher=_fetcher(catalog, cache, [], err),
                                                  runner=run))
    err.print(f"testing {args.archive} (log: {log})")
    results = test_archive(args.archive, full_regrtest=args.full, log=log, runner=run,
                           work_dir=args.keep, libc=libc)
    out.print(render_tests(results))
    return 1 if any(result.outcome == "failed" for result in results) else 0


# -- fetch -----------------------------------------------------------------------------------


def _fetch(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    target = catalog.target(args.target)
    pythons = catalog.pythons if args.all else (catalog.python(args.python),)
    needed = {s.key for python in pythons for s in catalog.sources_for(python, target)}
    needed |= {s.key for s in catalog.toolchain_sources(target)}  # musl, built by the toolchain
    wanted = [source for source in catalog.sources if source.key in needed]
    source_dirs = _source_dirs(args)
    cache = _cache(args)
    cache.sweep_staging()
    fetcher = _fetcher(catalog, cache, source_dirs, err)
    fetched = []
    for source in wanted:
        fetched.append(fetcher.fetch(source))
    out.print(_fetch_table(fetched))
    total = sum(item.path.stat().st_size for item in fetched)
    cached = sum(1 for item in fetched if item.origin == "cache")
    out.print(
        f"{len(fetched)} sources verified ({_size(total)}), {cached} from the cache, "
        f"in {cache.sources}"
    )
    return 0


def _fetch_table(fetched: list[Fetched]) -> Table:
    table = Table(title="sources", title_justify="left")
    for column in ("source", "version", "artifact", "from", "size"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for item in fetched:
        table.add_row(
            item.source.name,
            item.source.version,
            item.artifact.file,
            str(item.origin),
            _size(item.path.stat().st_size),
        )
    return table


# -- deps ------------------------------------------------------------------------------------


def _deps(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    target = catalog.target(args.target)
    # Validated for the newest Python, though no dependency depends on the options.
    catalog.parse_options(args.options, catalog.python(None), target)
    source_dirs = _source_dirs(args)
    cache = _cache(args)
    _host_packages(catalog, target, cache, err, checks=False)
    fetcher = _fetcher(catalog, cache, source_dirs, err)
    started = time.monotonic()
    with LiveSteps(err) as live:
        _, _, stage = dependency_stage(
            [catalog.library(name) for name in dict.fromkeys(r.source for r in RECIPES.values())], target=target,
            catalog=catalog, cache=cache, fetcher=fetcher, engine=StepEngine(cache, live),
            jobs=args.jobs, runner=run)
    table = Table(title=f"dependencies for {target.triple}", title_justify="left")
    for column in ("library", "version", "status", "seconds", "log"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    results = stage.results
    for step, result in zip(stage.steps, results, strict=True):
        table.add_row(
            result.name,
            step.fetched.source.version,
            "cached" if result.cached else "built",
            f"{result.seconds:.1f}",
            str(result.log),
        )
    out.print(table)
    built = sum(1 for r in results if not r.cached)
    out.print(
        f"{len(results)} libraries, {built} built, {len(results) - built} cached, "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


def _cache(args: argparse.Namespace) -> Cache:
    return open_cache(args.cache_dir or default_cache_root())


def _source_dirs(args: argparse.Namespace) -> list[Path]:
    if args.source_dir is not None:
        return [source_directory(args.source_dir, "--source-dir")]
    if configured := os.environ.get(SOURCE_DIR_ENV):
        return [source_directory(Path(configured), f"${SOURCE_DIR_ENV}")]
    return []


def _fetcher(catalog: Catalog, cache: Cache, source_dirs: list[Path], err: Console) -> Fetcher:
    return Fetcher(cache, DebianSource(catalog.debian, cache, run), run, source_dirs=source_dirs,
                   console=err)


def _host_packages(catalog: Catalog, target: Target, cache: Cache, err: Console, *,
                   checks: bool) -> None:
    """Install the Debian packages the toolchain for `target` (and with `checks`, the archive
    checks) need, and register the target's emulator."""
    log = cache.log("host", "apt.log")
    installed = ensure_packages(needed_packages(catalog, target, checks=checks), runner=run,
                                log=log)
    if installed:
        err.print(f"pbs: installed Debian packages: {' '.join(installed)}")
    for done in ensure_emulation(target, runner=run, log=log):
        err.print(f"pbs: {done}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of jobs, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


# -- index -----------------------------------------------------------------------------------


def _index(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    chosen = settings(args.directory, catalog, base_url=args.base_url, flavor=args.flavor)
    index = write_index(args.directory, catalog, chosen)
    for note in index.notes:
        err.print(f"pbs: {note}")
    for key, record in index.entries.items():
        out.print(f"{key}  {record['url']}")
    out.print(f"{index.path}: {len(index.entries)} downloads")
    return 0


# -- toolchain -------------------------------------------------------------------------------


def _toolchain(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    target = catalog.target(args.target)
    if args.print_apt_packages:
        print(" ".join(needed_packages(catalog, target, checks=False)))
        return 0
    cache = _cache(args)
    _host_packages(catalog, target, cache, err, checks=False)
    cache.sweep_staging()
    toolchain = target_toolchain(target, catalog=catalog, cache=cache,
                                 fetcher=_fetcher(catalog, cache, [], err), runner=run)
    table = Table(title=f"toolchain for {target.triple}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("identity", toolchain.identity)
    table.add_row("compilers", toolchain.description)
    table.add_row("CC", str(toolchain.cc))
    table.add_row("sysroot", str(toolchain.sysroot))
    table.add_row(f"{target.libc} floor", target.libc_floor)
    if libc := toolchain_libc(toolchain):
        table.add_row("loader", str(libc.loader))
    out.print(table)
    return 0


# -- ls --------------------------------------------------------------------------------------


def _ls(args: argparse.Namespace, catalog: Catalog, out: Console, err: Console) -> int:
    sections = [args.section] if args.section else list(LS_SECTIONS)
    for section in sections:
        out.print(_LS_TABLES[section](catalog))
    return 0


def _pythons_table(catalog: Catalog) -> Table:
    default = catalog.python(None)
    table = Table(title="pythons", title_justify="left")
    for column in ("--python", "version", "free-threaded", "default"):
        table.add_column(column)
    freethreaded = catalog.options.prefixes.get("freethreaded")
    for python in sorted(catalog.pythons, key=lambda p: p.version):
        supported = freethreaded is not None and freethreaded.contains(
            python.version, prereleases=True
        )
        table.add_row(
            python.minor,
            str(python.version),
            "yes" if supported else "no",
            "yes" if python == default else "",
        )
    return table


def _targets_table(catalog: Catalog) -> Table:
    table = Table(title="targets", title_justify="left")
    for column in ("--target", "level", "libc", "libc floor", "runs here",
                   "run-time libraries allowed"):
        table.add_column(column)
    for target in catalog.targets:
        runs = ", ".join([f"under {target.emulator.program}" if target.emulator else "natively",
                          *([f"{target.sysroot.dynamic_linker} laid over /lib"]
                            if catalog.toolchain_sources(target) else [])])
        table.add_row(target.triple, target.march or "", target.libc, target.libc_floor, runs,
                      " ".join(target.allowed_libraries))
    return table


def _options_table(catalog: Catalog) -> Table:
    grammar = catalog.options
    table = Table(title=r"build options: \[prefix+]base\[+suffix]", title_justify="left")
    for column in ("--options", "kind", "condition"):
        table.add_column(column)
    for base in grammar.bases:
        table.add_row(base, "base", "default" if base == grammar.default else "")
    for prefix, pythons in grammar.prefixes.items():
        table.add_row(f"{prefix}+<base>", "prefix", f"Python {pythons}")
    for suffix, libcs in grammar.suffixes.items():
        table.add_row(f"<base>+{suffix}", "suffix", f"{'/'.join(libcs)} targets")
    return table


def _sources_table(catalog: Catalog) -> Table:
    table = Table(title="sources", title_justify="left")
    for column in ("source", "version", "role", "license", "artifacts", "locations"):
        table.add_column(column)
    for source in catalog.sources:
        kinds = []
        for artifact in source.artifacts:
            kinds += ["upstream"] * bool(artifact.urls)
            kinds += ["Debian"] * bool(artifact.debian)
            kinds += ["PyPI"] * bool(artifact.pypi)
        table.add_row(
            source.name,
            source.version,
            source.role + (f" (Python {source.requires_python})" if source.requires_python else ""),
            source.license,
            "\n".join(a.file for a in source.artifacts),
            ", ".join(dict.fromkeys(kinds)),
        )
    return table


_LS_TABLES = {
    "pythons": _pythons_table,
    "targets": _targets_table,
    "options": _options_table,
    "sources": _sources_table,
}


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


if __name__ == "__main__":
    sys.exit(main())
