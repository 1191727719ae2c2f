from pbs.recipes.base import PREFIX, BuildContext, Recipe

# Where terminfo lives: Debian/Ubuntu (/etc, /lib, /usr/share), RHEL/Fedora, Arch and Alpine
# (/usr/share, /etc), and NixOS (/run/current-system/sw/share). A standalone Python must
# find the system's database wherever it runs, since it ships none.
TERMINFO_DIRS = (
    "/etc/terminfo",
    "/lib/terminfo",
    "/usr/share/terminfo",
    "/usr/lib/terminfo",
    "/run/current-system/sw/share/terminfo",
)


def build(ctx: BuildContext) -> None:
    ctx.autotools(
        "--enable-widec",
        "--with-normal",
        "--without-shared",
        "--without-debug",
        "--without-cxx",
        "--without-cxx-binding",
        "--without-ada",
        "--without-manpages",
        "--without-progs",
        "--without-tests",
        "--disable-db-install",
        "--disable-stripping",
        "--enable-pc-files",
        f"--with-pkg-config-libdir={PREFIX}/lib/pkgconfig",
        "--with-default-terminfo-dir=/usr/share/terminfo",
        f"--with-terminfo-dirs={':'.join(TERMINFO_DIRS)}",
        # configure would pick -curvU, whose U stores each member's build time and owner.
        "cf_cv_ar_flags=-curvD",
    )


RECIPE = Recipe(name="ncurses", source="ncurses", build=build)
