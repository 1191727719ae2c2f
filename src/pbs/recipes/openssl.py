import json

from pbs.errors import PbsError
from pbs.recipes.base import OPTIMIZE, PREFIX, BuildContext, Recipe

# The line of X509_get_default_cert_file() that answers with the one compiled-in bundle.
_FIXED_CERT_FILE = "    return X509_CERT_FILE;\n#endif\n}"


def probe_ca_bundles(x509_def: str, bundles: tuple[str, ...]) -> str:
    """x509_def.c, changed so that the default CA file is the first bundle present at run time.

    Distributions keep their bundle in different places (RHEL has no /etc/ssl/cert.pem), and
    one binary must verify certificates on all of them.
    """
    if x509_def.count(_FIXED_CERT_FILE) != 1:
        raise PbsError("openssl: crypto/x509/x509_def.c has no single X509_CERT_FILE return to change")
    candidates = "".join(f"        {json.dumps(bundle)},\n" for bundle in bundles)
    probe = (
        "#include <unistd.h>\n\n"
        "static const char *pbs_present_ca_bundle(void)\n{\n"
        f"    static const char *const bundles[] = {{\n{candidates}        NULL\n    }};\n"
        "    const char *const *bundle;\n\n"
        "    for (bundle = bundles; *bundle != NULL; bundle++)\n"
        "        if (access(*bundle, R_OK) == 0)\n"
        "            return *bundle;\n"
        "    return X509_CERT_FILE;\n}\n\n"
    )
    changed = x509_def.replace(_FIXED_CERT_FILE, "    return pbs_present_ca_bundle();\n#endif\n}")
    anchor = "const char *X509_get_default_cert_file(void)"
    return changed.replace(anchor, probe + anchor, 1)


# OpenSSL's fast NIST P-224/256/521 code (enable-ec_nistp_64_gcc_128) needs a 128-bit integer
# type and a little-endian machine, as the compiler predefines them (s390x and 32-bit ARM lack one).
FAST_NISTP_NEEDS = ("#define __SIZEOF_INT128__ 16",
                    "#define __BYTE_ORDER__ __ORDER_LITTLE_ENDIAN__")


def fast_nistp(predefined: str) -> tuple[str, ...]:
    """The Configure option of the fast NIST curves where the compiler's macros allow it."""
    lines = predefined.splitlines()
    return ("enable-ec_nistp_64_gcc_128",) if all(m in lines for m in FAST_NISTP_NEEDS) else ()


def build(ctx: BuildContext) -> None:
    x509_def = ctx.source_dir / "crypto" / "x509" / "x509_def.c"
    x509_def.write_text(probe_ca_bundles(x509_def.read_text(), ctx.toolchain.target.ca_bundles))
    # OpenSSL has its own Perl Configure. Only the libraries and headers are wanted; the
    # configuration directory is the usual system one, where distributions keep certificates.
    ctx.run(
        [
            "perl",
            "./Configure",
            ctx.toolchain.target.openssl_target,
            f"--prefix={PREFIX}",
            "--libdir=lib",
            "--openssldir=/etc/ssl",
            "no-shared",
            "no-tests",
            "no-docs",
            "no-apps",
            *fast_nistp(ctx.run([ctx.toolchain.cc, "-dM", "-E", "-x", "c", "/dev/null"]).output),
        ]
    )
    # OpenSSL_version(OPENSSL_CFLAGS) reports the compile command, which names the toolchain
    # and build directories; the distribution must not. Generated ahead with plain words,
    # the header is newer than its inputs and make keeps it.
    flags = ctx.run(
        ["perl", "util/mkbuildinf.pl", "clang " + " ".join(OPTIMIZE),
         ctx.toolchain.target.openssl_target]
    ).output
    (ctx.source_dir / "crypto" / "buildinf.h").write_text(flags)
    ctx.make("build_libs")
    ctx.make_install("install_dev")


RECIPE = Recipe(name="openssl", source="openssl", build=build)
