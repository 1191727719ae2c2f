from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # util-linux is a whole distribution of tools; only libuuid is wanted.
    ctx.autotools(
        "--disable-all-programs",
        "--enable-libuuid",
        "--disable-nls",
        "--disable-bash-completion",
        "--disable-asciidoc",
        "--disable-poman",
        "--without-systemd",
        "--without-udev",
        "--without-python",
        "--without-tinfo",
        "--without-ncurses",
        "--without-ncursesw",
        "--without-readline",
        "--without-cap-ng",
        "--without-libz",
        "--without-btrfs",
        "--without-econf",
        "--without-libmagic",
        "--without-lastlog2",
    )


RECIPE = Recipe(name="libuuid", source="libuuid", build=build)
