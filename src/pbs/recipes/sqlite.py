from pbs.recipes.base import BuildContext, Recipe

# What CPython users expect of sqlite3: full-text search, JSON (built in), R*Tree and Geopoly,
# SQL math functions, column metadata, and loadable extensions (on unless omitted); and what
# Debian's libsqlite3 adds (`PRAGMA compile_options` of Debian 12's): soundex(), the
# sqlite_stmt table, unlock notification, the session extension, 250000 bound parameters.
# Debian's others are left out on purpose: FTS3_TOKENIZER (a pointer-taking SQL function that
# SQLite disabled by default as unsafe), USE_URI and LIKE_DOESNT_MATCH_BLOBS (they change what
# existing SQL and file names mean), SECURE_DELETE and OMIT_LOOKASIDE (speed), and
# UPDATE_DELETE_LIMIT (it needs the parser regenerated, not just a flag).
FEATURES = (
    "-DSQLITE_ENABLE_FTS3",
    "-DSQLITE_ENABLE_FTS3_PARENTHESIS",
    "-DSQLITE_ENABLE_FTS4",
    "-DSQLITE_ENABLE_FTS5",
    "-DSQLITE_ENABLE_RTREE",
    "-DSQLITE_ENABLE_GEOPOLY",
    "-DSQLITE_ENABLE_MATH_FUNCTIONS",
    "-DSQLITE_ENABLE_COLUMN_METADATA",
    "-DSQLITE_ENABLE_DBSTAT_VTAB",
    "-DSQLITE_ENABLE_STAT4",
    "-DSQLITE_THREADSAFE=1",
    "-DSQLITE_SOUNDEX",
    "-DSQLITE_ENABLE_STMTVTAB",
    "-DSQLITE_ENABLE_UNLOCK_NOTIFY",
    "-DSQLITE_ENABLE_PREUPDATE_HOOK",
    "-DSQLITE_ENABLE_SESSION",
    "-DSQLITE_MAX_VARIABLE_NUMBER=250000",
)


def build(ctx: BuildContext) -> None:
    # Debian ships sqlite's full source tree; its configure builds the amalgamation itself.
    ctx.configure(
        "--disable-tcl",
        "--disable-readline",
        "--disable-editline",
        env={"CFLAGS": ctx.cflags(*FEATURES)},
    )
    ctx.make("libsqlite3.a")
    ctx.make_install("install-headers", "install-lib", "install-pc")


RECIPE = Recipe(name="sqlite", source="sqlite", build=build)
