"""Source changes recipes make, checked by compiling and running them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pbs.errors import PbsError
from pbs.recipes.openssl import probe_ca_bundles

# The shape of OpenSSL's crypto/x509/x509_def.c around the function the recipe changes.
X509_DEF = """#include <stdio.h>
#define X509_CERT_FILE "/fallback/cert.pem"

const char *X509_get_default_cert_file(void)
{
#if defined(_WIN32)
    return NULL;
#else
    return X509_CERT_FILE;
#endif
}

int main(void)
{
    puts(X509_get_default_cert_file());
    return 0;
}
"""


def default_cert_file(source: str, tmp_path: Path) -> str:
    (tmp_path / "x509_def.c").write_text(source)
    subprocess.run(["cc", "-Wall", "-Werror", "x509_def.c", "-o", "x509_def"], cwd=tmp_path, check=True)
    return subprocess.run([str(tmp_path / "x509_def")], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_first_present_bundle_is_the_default(tmp_path: Path) -> None:
    missing, present, later = tmp_path / "missing.pem", tmp_path / "present.pem", tmp_path / "later.pem"
    present.write_text("")
    later.write_text("")
    source = probe_ca_bundles(X509_DEF, (str(missing), str(present), str(later)))
    assert default_cert_file(source, tmp_path) == str(present)


def test_without_any_bundle_the_compiled_in_file_stays(tmp_path: Path) -> None:
    source = probe_ca_bundles(X509_DEF, (str(tmp_path / "none.pem"),))
    assert default_cert_file(source, tmp_path) == "/fallback/cert.pem"


def test_an_unexpected_source_is_refused() -> None:
    with pytest.raises(PbsError, match="x509_def.c"):
        probe_ca_bundles(X509_DEF.replace("return X509_CERT_FILE;", "return \"x\";"), ("/a",))
