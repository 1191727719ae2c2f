from pbs.recipes.base import OPTIMIZE, PREFIX, BuildContext, Recipe


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
    # OpenSSL_version(OPENSSL_CFLAGS) reports the compile command, which names the toolchain
    # and build directories; the distribution must not. Generated ahead with plain words,
    # the header is newer than its inputs and make keeps it.
    flags = ctx.run(
        ["perl", "util/mkbuildinf.pl", "clang " + " ".join(OPTIMIZE),
         f"linux-{ctx.toolchain.target.arch}"]
    ).output
    (ctx.source_dir / "crypto" / "buildinf.h").write_text(flags)
    ctx.make("build_libs")
    ctx.make_install("install_dev")


RECIPE = Recipe(name="openssl", source="openssl", build=build)
