"""Known digests of b"abc", and OpenSSL's algorithms visible through hashlib."""

import hashlib
import sys

known = {
    "md5": "900150983cd24fb0d6963f7d28e17f72",
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "sha3_256": "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    "blake2b": "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    "blake2s": "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
}
wrong = [name for name, digest in known.items() if hashlib.new(name, b"abc").hexdigest() != digest]
if hashlib.shake_128(b"abc").hexdigest(16) != "5881092dd818bf5cf8a3ddb793fbcba7":
    wrong.append("shake_128")
if wrong:
    sys.exit(f"wrong digests: {', '.join(wrong)}")
# Names only OpenSSL provides show that _hashlib is linked in, not just the builtin fallbacks.
openssl_only = {
    "sha512_224",
    "sm3",
    "ripemd160",
    "md5-sha1",
} & hashlib.algorithms_available
if not openssl_only:
    sys.exit(
        f"no OpenSSL algorithm in hashlib.algorithms_available: {hashlib.algorithms_available}"
    )
print(f"{len(known) + 1} digests; OpenSSL algorithms such as {min(openssl_only)}")
