"""Dependency steps built for real with the target toolchain (by the end-to-end build, in its fresh
cache), cached, rebuilt only when needed."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from packaging.version import Version

from pbs.cache import Cache
from pbs.catalog import Catalog
from pbs.sources.debian import DebianSource
from pbs.elf import max_glibc_version, needed_libraries
from pbs.sources.fetch import Fetcher
from pbs.recipes import RECIPES, BuildContext, Recipe
from pbs.runner import run
from pbs.steps.dependencies import build_dependencies, plan
from pbs.steps.engine import STEP_FILE, StepEngine
from pbs.toolchain import Toolchain, prepare_toolchain

from conftest import E2EBuild

pytestmark = pytest.mark.slow

# One symbol of each library, so that linking pulls objects out of every archive.
PROBE = r"""
#include <stdio.h>
#include <bzlib.h>
#include <curses.h>
#include <editline/readline.h>
#include <ffi.h>
#include <lzma.h>
#include <mpdecimal.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <tcl.h>
#include <tk.h>
#include <X11/Xlib.h>
#include <string.h>
#include <uuid/uuid.h>
#include <zlib.h>
#include <zstd.h>
#include <fcntl.h>
/* Berkeley DB as CPython's _dbm uses it: its ndbm API. Last, as it defines macros like fetch(). */
#define DB_DBM_HSEARCH 1
#include <db.h>
int main(int argc, char **argv) {
    ffi_cif cif;
    uuid_t id;
    char text[37];
    int ok = ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_void, NULL) == FFI_OK;
    uuid_generate(id);
    uuid_unparse(id, text);
    ok = ok && strlen(text) == 36;
    ok = ok && sqlite3_compileoption_used("ENABLE_FTS5") && sqlite3_compileoption_used("ENABLE_RTREE")
        && sqlite3_compileoption_used("ENABLE_GEOPOLY")
        && sqlite3_compileoption_used("ENABLE_MATH_FUNCTIONS")
        && sqlite3_compileoption_used("ENABLE_COLUMN_METADATA")
        && !sqlite3_compileoption_used("OMIT_LOAD_EXTENSION");
    using_history();
    add_history("line");
    ok = ok && history_length == 1 && strstr(curses_version(), "ncurses") != NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    SSL_CTX *tls = SSL_CTX_new(TLS_client_method());
    ok = ok && tls != NULL && EVP_Digest("abc", 3, digest, &size, EVP_sha3_256(), NULL) && size == 32;
    Tcl_Interp *interp = Tcl_CreateInterp();
    ok = ok && Tcl_Eval(interp, "expr {6 * 7}") == TCL_OK
        && strcmp(Tcl_GetStringResult(interp), "42") == 0;
    ok = ok && XInitThreads() && (void *)Tk_MainEx != NULL;
    DBM *dbm = argc == 2 ? dbm_open(argv[1], O_RDWR | O_CREAT, 0600) : NULL;
    datum key = {.dptr = "key", .dsize = 3}, value = {.dptr = "value", .dsize = 5}, found = {0};
    if (dbm != NULL && dbm_store(dbm, key, value, DBM_REPLACE) == 0) found = dbm_fetch(dbm, key);
    ok = ok && found.dsize == 5 && memcmp(found.dptr, "value", 5) == 0;
    if (dbm != NULL) dbm_close(dbm);
    int db_major, db_minor, db_patch;
    db_version(&db_major, &db_minor, &db_patch);
    printf("%s %s %s %s %s %s %d.%d.%d %s %d\n", zlibVersion(), lzma_version_string(),
           ZSTD_versionString(), mpd_version(), sqlite3_libversion(),
           OpenSSL_version(OPENSSL_VERSION_STRING), db_major, db_minor, db_patch,
           BZ2_bzlibVersion(), ok);
    return 0;
}
"""


@dataclasses.dataclass
class Built:
    cache: Cache
    toolchain: Toolchain
    fetched: dict
    catalog: Catalog

    def engine(self) -> StepEngine:
        return StepEngine(self.cache)

    def build(self, recipes: dict[str, Recipe] = RECIPES):
        return build_dependencies(self.fetched, target=self.catalog.target(None),
                                  toolchain=self.toolchain, engine=self.engine(), jobs=2, runner=run,
                                  recipes=recipes).results

    def steps(self, recipes: dict[str, Recipe] = RECIPES):
        return plan(recipes, self.fetched, self.toolchain, self.catalog.target(None))


@pytest.fixture(scope="module")
def built(e2e_build: E2EBuild, catalog: Catalog) -> Built:
    """The dependencies as the end-to-end `pbs build` left them in its fresh cache: planned and
    run here through the dependency steps' own API, every one is found there, built."""
    cache = Cache(e2e_build.cache)
    toolchain = prepare_toolchain(catalog.toolchain, catalog.target(None), cache, run)
    fetcher = Fetcher(cache, DebianSource(catalog.debian, cache, run), run)
    fetched = {r.source: fetcher.fetch(catalog.library(r.source)) for r in RECIPES.values()}
    state = Built(cache=cache, toolchain=toolchain, fetched=fetched, catalog=catalog)
    results = state.build()
    assert [r.cached for r in results] == [True] * len(RECIPES)
    return state


def test_static_libraries_link_into_a_program_at_the_glibc_floor(built: Built, tmp_path) -> None:
    engine = built.engine()
    flags = []
    for step in built.steps():
        prefix = engine.output(step) / "deps"
        if step.fetched.source.role == "library":
            assert list((prefix / "lib").glob("*.a")), step.name
        assert not list(prefix.rglob("*.so*")), f"{step.name} installed a shared library"
        assert (prefix / "share" / "licenses" / step.name).is_dir()
        flags += [f"-I{prefix / 'include'}", f"-I{prefix / 'include' / 'ncursesw'}",
                  f"-L{prefix / 'lib'}"]
    source = tmp_path / "probe.c"
    source.write_text(PROBE)
    program = tmp_path / "probe"
    subprocess.run(
        [built.toolchain.cc, *flags, source, "-o", program,
         "-lz", "-lbz2", "-llzma", "-lzstd", "-lffi", "-lmpdec", "-lsqlite3", "-luuid",
         "-ledit", "-lncursesw", "-lssl", "-lcrypto", "-ltk8.6", "-ltcl8.6", "-lX11", "-lxcb",
         "-lXau", "-ldb",
         "-lm", "-lpthread", "-ldl"],
        check=True,
    )
    output = subprocess.run([program, tmp_path / "probe-dbm"], capture_output=True, text=True,
                            check=True).stdout
    versions = {s.name: s.fetched.source.version for s in built.steps()}
    # bzip2 reports "1.0.8, 13-Jul-2019": its version, then its release date.
    names = ("zlib", "xz", "zstd", "mpdecimal", "sqlite", "openssl", "bdb", "bzip2")
    assert output.startswith(" ".join(versions[name] for name in names) + ", ")
    # libffi prepared a call, libuuid made a UUID, sqlite has the expected features,
    # libedit kept a history line, ncurses reported itself, OpenSSL made a TLS context and
    # a SHA3 digest, Tcl evaluated an expression, Xlib initialised, Tk linked, Berkeley DB
    # stored and fetched a record through the ndbm API.
    assert output.rstrip().endswith(" 1")
    assert max_glibc_version(program) <= Version(built.catalog.target(None).libc_floor)
    assert set(needed_libraries(program)) <= set(built.catalog.target(None).allowed_libraries)


def test_pkgconfig_files_name_no_build_path(built: Built) -> None:
    engine = built.engine()
    for step in built.steps():
        for pc in (engine.output(step) / "deps").rglob("*.pc"):
            text = pc.read_text()
            prefixes = [line for line in text.splitlines() if line.startswith("prefix=")]
            assert prefixes in ([], ["prefix=/deps"]), pc
            assert str(built.cache.root) not in text, pc


def test_a_second_run_builds_nothing(built: Built) -> None:
    engine = built.engine()
    logs = {step.name: engine.log(step).stat().st_mtime_ns for step in built.steps()}
    results = built.build()
    assert all(result.cached for result in results)
    # No command ran: every step's log is untouched.
    assert {s.name: engine.log(s).stat().st_mtime_ns for s in built.steps()} == logs


def consumer_build(ctx: BuildContext) -> None:
    """A test-only dependent of bzip2 (a library nothing else needs, quick to rebuild):
    compiles against bzip2's installed header."""
    (ctx.source_dir / "consumer.c").write_text(
        "#include <stdio.h>\n#include <bzlib.h>\n"
        "const char *consumer(void) { return BZ2_bzlibVersion(); }\n"
    )
    env = ctx.env()
    ctx.run([env["CC"], *env["CPPFLAGS"].split(), "-O2", "-fPIC", "-c", "consumer.c"])
    lib = ctx.prefix / "lib"
    lib.mkdir(parents=True)
    ctx.run([env["AR"], "rcs", lib / "libconsumer.a", "consumer.o"])


def changed_bzip2_build(ctx: BuildContext) -> None:
    """bzip2's recipe with a change (a different module, so a different recipe text)."""
    RECIPES["bzip2"].build(ctx)


def test_changing_one_recipe_rebuilds_it_and_its_dependents_only(built: Built) -> None:
    # consumer needs bzip2, and a second consumer needs the first: a dependent's dependent.
    consumer = Recipe(name="consumer", source="bzip2", deps=("bzip2",), build=consumer_build)
    second = Recipe(name="second-consumer", source="bzip2", deps=("consumer",),
                    build=consumer_build)
    tested = {**RECIPES, "consumer": consumer, "second-consumer": second}
    before = built.steps(tested)
    built.build(tested)

    changed = {**tested, "bzip2": dataclasses.replace(RECIPES["bzip2"], build=changed_bzip2_build)}
    after = built.steps(changed)
    keys_before = {s.name: s.key for s in before}
    keys_after = {s.name: s.key for s in after}
    affected = {s.name for s in after if s.name == "bzip2" or "bzip2" in {d.name for d in s.closure()}}
    assert affected == {"bzip2", "consumer", "second-consumer"}
    assert {n for n in keys_after if keys_after[n] != keys_before[n]} == affected

    results = {r.name: r.cached for r in built.build(changed)}
    assert {name for name, cached in results.items() if not cached} == affected
    assert set(results) == set(tested)


def test_a_build_killed_mid_step_leaves_a_consistent_cache(built: Built) -> None:
    engine = built.engine()
    victim = next(step for step in built.steps() if step.name == "xz")
    shutil.rmtree(engine.output(victim))
    engine.log(victim).unlink()
    env = {**os.environ, "PBS_CACHE_DIR": str(built.cache.root)}
    command = [sys.executable, "-m", "pbs", "deps", "-j", "1"]
    process = subprocess.Popen(command, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Wait until the step is under way: its log has commands, its output is not published.
        deadline = time.monotonic() + 300
        log = engine.log(victim)
        while not (log.is_file() and "$ " in log.read_text(errors="replace")):
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert not engine.output(victim).exists()
    for entry in built.cache.root.glob("steps/*"):
        assert (entry / STEP_FILE).is_file(), entry
    assert list((built.cache.root / "tmp").iterdir()), "the killed step left its staging directory"

    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"{len(RECIPES)} libraries, 1 built" in result.stdout
    assert engine.is_cached(victim)
    assert list((built.cache.root / "tmp").iterdir()) == []
