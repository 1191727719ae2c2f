from pbs.recipes.base import PREFIX, BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # OpenSSL has its own Perl Configure. Only the libraries and headers are wanted; the
    # configuration directory is the usual system one, where distributions keep certificates.
    ctx.run(
        [
            "perl",
            "./Configure",
            f"linux-{ctx.toolchain.target.arch}",
            f"--prefix={PREFIX}",
            "--libdir=lib",
            "--openssldir=/etc/ssl",
            "no-shared",
            "no-tests",
            "no-docs",
            "no-apps",
            "enable-ec_nistp_64_gcc_128",
        ]
    )
    ctx.make("build_libs")
    ctx.make_install("install_dev")


RECIPE = Recipe(name="openssl", source="openssl", build=build)
