from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Xft and the screensaver extension would need more X libraries; core X fonts suffice.
    unix = ctx.source_dir / "unix"
    lib = ctx.deps_prefix / "lib"
    ctx.configure(
        f"--with-tcl={lib}",
        "--enable-threads",
        "--disable-xft",
        "--disable-xss",
        f"--x-includes={ctx.deps_prefix / 'include'}",
        f"--x-libraries={lib}",
        cwd=unix,
    )
    # The static libX11 needs libxcb and libXau after it on the link line of `wish`.
    x_libs = f"X11_LIB_SWITCHES=-L{lib} -lX11 -lxcb -lXau"
    ctx.make(x_libs, cwd=unix)
    ctx.make_install(
        x_libs, "install-binaries", "install-libraries", "install-headers", cwd=unix
    )
    pc = ctx.prefix / "lib" / "pkgconfig" / "tk.pc"
    pc.write_text(pc.read_text().replace("-lX11\n", "-lX11 -lxcb -lXau\n"))


RECIPE = Recipe(name="tk", source="tk", deps=("tcl", "libX11"), build=build)
