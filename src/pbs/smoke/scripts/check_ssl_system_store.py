"""The default context loads the distribution's CA certificates without SSL_CERT_FILE."""

import ssl
import sys

context = ssl.create_default_context()
cas = context.cert_store_stats()["x509_ca"]
paths = ssl.get_default_verify_paths()
if cas == 0:
    sys.exit(f"no CA certificate loaded; default verify paths: {paths}")
print(f"{cas} CA certificates (cafile={paths.cafile}, capath={paths.capath})")
