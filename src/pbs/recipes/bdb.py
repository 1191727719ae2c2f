import shutil
from pathlib import Path

from pbs.recipes.base import BuildContext, Recipe

# Berkeley DB's configure tests are pre-C99 programs (`main() {…}`, exit() undeclared); today's
# clang rejects them, which silently turns off its atomics, its pthread mutexes and 64-bit
# sequences. Demoting those two errors to warnings restores what older compilers detected.
PRE_C99 = ("-Wno-error=implicit-int", "-Wno-error=implicit-function-declaration")


def build(ctx: BuildContext) -> None:
    # Berkeley DB builds out of tree, in build_unix/, with the configure script of dist/.
    build_unix = ctx.source_dir / "build_unix"
    # dist/config.sub (2011) predates musl and rejects *-linux-musl; the current copies of
    # automake, a toolchain package, know every triple pbs builds for.
    automake = Path(ctx.run(["automake", "--print-libdir"]).output.strip())
    for name in ("config.sub", "config.guess"):
        shutil.copyfile(automake / name, ctx.source_dir / "dist" / name)
    ctx.configure(
        # The ndbm API (dbm_open, dbm_fetch, …) is what CPython's _dbm calls.
        "--enable-dbm",
        # Only the C library: no C++, STL, Java, Tcl or SQL API, and no replication.
        "--disable-cxx",
        "--disable-stl",
        "--disable-java",
        "--disable-tcl",
        "--disable-sql",
        "--disable-replication",
        script="../dist/configure",
        cwd=build_unix,
        env={"CFLAGS": ctx.cflags(*PRE_C99)},
    )
    # Only libdb.a and db.h: `make install` adds the db_* utilities, the HTML documentation,
    # the C++ header and a second copy of the archive (libdb-5.3.a).
    ctx.make("libdb.a", cwd=build_unix)
    ctx.install_files({"include": ["build_unix/db.h"], "lib": ["build_unix/libdb.a"]})
    # Berkeley DB writes no pkg-config file; a static libdb needs pthreads (its mutexes).
    ctx.write_pkgconfig(
        "libdb", version=ctx.source.version, libs="-ldb -lpthread", description="Berkeley DB"
    )


RECIPE = Recipe(name="bdb", source="bdb", build=build)
