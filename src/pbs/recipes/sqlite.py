from pbs.recipes.base import BuildContext, Recipe

# What CPython users expect of sqlite3: full-text search, JSON (built in), R*Tree and Geopoly,
# SQL math functions, column metadata, and loadable extensions (on unless omitted).
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
