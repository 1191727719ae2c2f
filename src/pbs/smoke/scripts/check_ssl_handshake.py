"""A TLS server and client in two threads over localhost, the client verifying against a CA.

Arguments: ca.pem server.pem server.key (made by the host's openssl for "localhost").
"""

import socket
import ssl
import sys
import threading

ca, cert, key = sys.argv[1:4]
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = ssl.create_default_context(cafile=ca)  # hostname and chain verified
listener = socket.create_server(("127.0.0.1", 0))
listener.settimeout(30)
port = listener.getsockname()[1]
server_error = []


def serve():
    try:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(tls.recv(64).upper())
    except Exception as exc:  # noqa: BLE001 - reported by the main thread
        server_error.append(exc)


thread = threading.Thread(target=serve)
thread.start()
with (
    socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
    client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
):
    tls.sendall(b"ping")
    reply = tls.recv(64)
    version, cipher = tls.version(), tls.cipher()[0]
thread.join(30)
if server_error:
    sys.exit(f"server side failed: {server_error[0]!r}")
assert reply == b"PING", reply
assert version in ("TLSv1.3", "TLSv1.2"), version
print(f"{version} {cipher}, {ssl.OPENSSL_VERSION}")
