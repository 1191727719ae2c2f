from pbs.errors import PbsError
from pbs.recipes.base import BuildContext, Recipe

# libedit writes its history file's cookie line when the stream's position is 0. C leaves the
# initial position of a stream opened to append to the library: glibc's is the end, musl's 0
# until the first write. So on musl every append_history (Python's
# readline.append_history_file) wrote the cookie again, and the next read took it for an entry.
# Asking for the end first makes the test mean "the file is empty" everywhere.
COOKIE_TEST = "\tif (ftell(fp) == 0 && fputs(hist_cookie, fp) == EOF)\n"
COOKIE_TEST_AT_END = ("\tif (fseek(fp, 0, SEEK_END) == 0 && ftell(fp) == 0 &&\n"
                      "\t    fputs(hist_cookie, fp) == EOF)\n")


def build(ctx: BuildContext) -> None:
    history = ctx.source_dir / "src" / "history.c"
    text = history.read_text()
    if text.count(COOKIE_TEST) != 1:
        raise PbsError(f"{history}: libedit changed where it writes the history cookie")
    history.write_text(text.replace(COOKIE_TEST, COOKIE_TEST_AT_END))
    # libedit's configure insists on -lncurses (or curses/termcap/tinfo); pbs builds the
    # wide-character ncursesw, so a private -lncurses names it for this build only.
    compat = ctx.source_dir / "pbs-compat"
    compat.mkdir()
    (compat / "libncurses.a").symlink_to(ctx.deps_prefix / "lib" / "libncursesw.a")
    include = ctx.deps_prefix / "include"
    ctx.configure(
        "--disable-examples",
        env={
            "CPPFLAGS": f"-I{include} -I{include / 'ncursesw'}",
            "LDFLAGS": f"-L{compat} -L{ctx.deps_prefix / 'lib'}",
        },
    )
    ctx.make()
    ctx.make_install()
    pc = ctx.prefix / "lib" / "pkgconfig" / "libedit.pc"
    pc.write_text(pc.read_text().replace("-lncurses ", "-lncursesw "))


RECIPE = Recipe(name="libedit", source="libedit", deps=("ncurses",), build=build)
