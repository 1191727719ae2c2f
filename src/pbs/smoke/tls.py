"""A real TLS handshake, against certificates made by the host's openssl."""

from __future__ import annotations

from pathlib import Path

from pbs.smoke.result import CheckResult, failed, skipped, tail
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import InstallTree, host_tool

NAME = "ssl-handshake"


def ssl_handshake(tree: InstallTree) -> CheckResult:
    if host_tool("openssl") is None:
        return skipped(NAME, "no openssl on PATH to make the test certificates")
    directory = tree.work / NAME
    directory.mkdir()
    problem = _make_certificates(tree, directory)
    if problem:
        return failed(
            NAME,
            f"cannot make the test certificates with the host's openssl:\n{problem}",
        )
    return scripted(
        tree,
        NAME,
        "check_ssl_handshake",
        *(str(directory / name) for name in ("ca.pem", "server.pem", "server.key")),
    )


def _make_certificates(tree: InstallTree, directory: Path) -> str | None:
    """A CA, and a server certificate for localhost signed by it; a failure's output or None."""
    (directory / "server.ext").write_text(
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        "basicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        # Python 3.13+ verifies with X509_STRICT, which wants key identifiers on both.
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid,issuer\n"
    )
    commands = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pbs test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "subjectKeyIdentifier=hash",
         "-keyout", "ca.key", "-out", "ca.pem"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", "server.key", "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
    ]  # fmt: skip
    for command in commands:
        result = tree.run(["openssl", *command], step=NAME, cwd=directory)
        if result.returncode != 0:
            return tail(result.output)
    return None
