"""Certificates for the TLS tests, made with the openssl command line in a test's directory,
and small TLS clients built on Python's ssl module."""

import os
import socket
import ssl
import subprocess


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {r.stderr}")
    return r.stdout


def _key_args(key_type):
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


class Certs:
    """Makes PEM files under `directory`; every method returns (cert_path, key_path)."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def self_signed(self, name, cn, sans=(), key_type="ec", days=30):
        cert, key = self.path(f"{name}.pem"), self.path(f"{name}.key")
        args = ["req", "-x509", *_key_args(key_type), "-nodes", "-keyout", key, "-out", cert,
                "-days", str(days), "-subj", f"/O=httpapi tests/CN={cn}"]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans)]
        _openssl(*args, cwd=self.dir)
        return cert, key

    def ca(self, name="ca", cn="Test CA"):
        cert, key = self.path(f"{name}.pem"), self.path(f"{name}.key")
        _openssl("req", "-x509", *_key_args("ec"), "-nodes", "-keyout", key, "-out", cert,
                 "-days", "30", "-subj", f"/O=httpapi tests/CN={cn}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)
        return cert, key

    def signed(self, name, cn, ca, sans=(), key_type="ec", client=False, days=30, extra=()):
        cert, key, csr = (self.path(f"{name}.pem"), self.path(f"{name}.key"),
                          self.path(f"{name}.csr"))
        _openssl("req", "-new", *_key_args(key_type), "-nodes", "-keyout", key, "-out", csr,
                 "-subj", f"/O=httpapi tests/CN={cn}", cwd=self.dir)
        ext = self.path(f"{name}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write(f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}\n")
            if sans and not any(e.startswith("subjectAltName=") for e in extra):
                f.write("subjectAltName=" + ",".join(f"DNS:{s}" for s in sans) + "\n")
            for line in extra:
                f.write(line + "\n")
        _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                 "-out", cert, "-days", str(days), "-extfile", ext, cwd=self.dir)
        return cert, key


def client_context(cafile=None, certificate=None, max_version=None, ciphers=None):
    """A client context that checks the server against `cafile` (or not at all)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        context.load_verify_locations(cafile)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if certificate:
        context.load_cert_chain(*certificate)
    if max_version:
        context.maximum_version = max_version
    if ciphers:
        context.set_ciphers(ciphers)
    context.set_alpn_protocols(["http/1.1"])
    return context


def https_get(port, path, context, server_hostname="localhost", session=None, host=None,
              timeout=10):
    """One GET over a fresh TLS connection to 127.0.0.1:port; returns (status, body, ssl_socket
    facts) where facts has 'session', 'cert' (DER) and 'version'."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with context.wrap_socket(raw, server_hostname=server_hostname, session=session) as s:
        request = (f"GET {path} HTTP/1.1\r\nHost: {host or f'{server_hostname}:{port}'}\r\n"
                   "Connection: close\r\n\r\n")
        s.sendall(request.encode())
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ssl.SSLEOFError:
                break
            if not chunk:
                break
            data += chunk
        facts = {"session": s.session, "cert": s.getpeercert(binary_form=True),
                 "version": s.version(), "reused": s.session_reused}
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else None
    return status, body, facts


def subject_of(der):
    """The RFC 4514 subject of a DER certificate, by the openssl command."""
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject",
                        "-nameopt", "RFC2253"], input=der, capture_output=True, timeout=10)
    return r.stdout.decode().strip().removeprefix("subject=")


def key_type_of(der):
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der,
                       capture_output=True, timeout=10)
    text = r.stdout.decode()
    return "rsa" if "rsaEncryption" in text else "ec" if "id-ecPublicKey" in text else "?"
