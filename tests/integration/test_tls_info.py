#!/usr/bin/env python3
"""What an application learns of a request that came over TLS (issue 12 item 4, docs/tls.md
"What the application learns"): httpapi-echo's "secure" and "tls" against what a real client
(Python's ssl module, on OpenSSL) negotiated with a real binding: protocol, cipher, SNI, ALPN,
resumption and the client certificate (absent, trusted, untrusted), and the cooked https URL."""

import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port  # noqa: E402
from test_sslcert import Certificates  # noqa: E402

NAME = "www.example.com"


class TlsClient:
    """One TLS connection from a real client; requests are sent and answers read apart, so
    a test can leave one waiting."""

    def __init__(self, port, context, sni=NAME, session=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=harness.DEFAULT_TIMEOUT)
        self.port = port
        self.sock = context.wrap_socket(raw, server_hostname=sni, session=session)
        self.buf = b""

    def send_get(self, path, headers=""):
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {NAME}:{self.port}\r\n{headers}\r\n"
                          .encode())

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection ended inside an answer: {self.buf!r}")
        self.buf += chunk

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(part.strip() for part in l.split(":", 1)) for l in lines[1:]]
        length = int(dict((n.lower(), v) for n, v in headers)["content-length"])
        while len(self.buf) < length:
            self._more()
        body, self.buf = self.buf[:length], self.buf[length:]
        return harness.Response(lines[0].split()[0], int(lines[0].split()[1]), "", headers,
                                body, head)

    def close(self):
        self.sock.close()


class Exchange:
    """One GET over one TLS connection: the answer's JSON and the client's view of the
    session."""

    def __init__(self, port, context, sni=NAME, session=None, path="/app/x"):
        client = TlsClient(port, context, sni, session)
        try:
            client.send_get(path)
            self.response = client.read_response()
            self.version = client.sock.version()
            self.cipher = client.sock.cipher()[0]
            self.alpn = client.sock.selected_alpn_protocol()
            self.reused = client.sock.session_reused
            self.session = client.sock.session
        finally:
            client.close()

    def json(self):
        assert self.response.status == 200, self.response
        return self.response.json()


class TlsInfoTest(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.certs = Certificates(os.path.join(self.tmp, "certs"))
        c = self.certs
        self.server_pem, self.server_key = c.issued("server", "ec", f"/O=Example/CN={NAME}")
        self.client_pem, self.client_key = c.issued("client1", "ec", "/O=Example/CN=client1")
        self.stranger_pem, self.stranger_key = c.self_signed("stranger", "ec",
                                                             "/CN=stranger")
        self.port = free_port()
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{self.port}",
                     "--cert", self.server_pem, "--key", self.server_key,
                     "--clientcert", "request", "--ca", c.path("ca.pem"))
        self.start_echo(f"https://+:{self.port}/app/", name="tls")

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"httpcfg {' '.join(args)}: {r.stderr}")

    def der_size(self, pem):
        r = subprocess.run(["openssl", "x509", "-outform", "DER", "-in", pem],
                           capture_output=True, timeout=30, check=True)
        return len(r.stdout)

    def name(self, which, pem):
        out = self.certs.run("x509", "-noout", f"-{which}", "-nameopt", "RFC2253", "-in", pem)
        return out.strip().split("=", 1)[1]

    def context(self, alpn=("http/1.1",), certificate=None, tls12=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if certificate:
            ctx.load_cert_chain(*certificate)
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def test_everything_a_full_handshake_settled(self):
        e = Exchange(self.port, self.context(certificate=(self.client_pem, self.client_key)))
        j = e.json()
        self.assertIs(j["secure"], True)
        self.assertEqual(j["url"]["full"], f"https://{NAME}:{self.port}/app/x")
        self.assertEqual(j["url"]["port"], self.port)
        tls = j["tls"]
        self.assertEqual(set(tls), {"protocol", "cipher", "sni", "alpn", "resumed",
                                    "client_cert"})
        self.assertEqual(tls["protocol"], e.version)
        self.assertEqual(tls["protocol"], "TLSv1.3")
        self.assertEqual(tls["cipher"], e.cipher)
        self.assertEqual(tls["sni"], NAME)
        self.assertEqual(tls["alpn"], "http/1.1")
        self.assertEqual(tls["alpn"], e.alpn)
        self.assertIs(tls["resumed"], False)
        cert = tls["client_cert"]
        self.assertEqual(set(cert), {"subject", "issuer", "sha256", "verified"})
        # RFC 4514 as openssl prints it (the last RDN first: `openssl ca` put CN before O).
        self.assertEqual(cert["subject"], self.name("subject", self.client_pem))
        self.assertEqual(cert["subject"], "O=Example,CN=client1")
        self.assertEqual(cert["issuer"], self.name("issuer", self.client_pem))
        self.assertEqual(cert["issuer"], "CN=Test CA,O=Test")
        self.assertEqual(cert["sha256"], self.certs.fingerprint(self.client_pem))
        self.assertIs(cert["verified"], True)

    def test_no_sni_no_alpn_no_certificate(self):
        e = Exchange(self.port, self.context(alpn=()), sni=None)
        tls = e.json()["tls"]
        self.assertEqual(tls["protocol"], e.version)
        self.assertIsNone(tls["sni"])
        self.assertIsNone(tls["alpn"])
        self.assertIsNone(e.alpn)
        self.assertIsNone(tls["client_cert"])
        self.assertIs(e.json()["secure"], True)

    def test_untrusted_certificate_arrives_unverified(self):
        e = Exchange(self.port,
                     self.context(certificate=(self.stranger_pem, self.stranger_key)))
        cert = e.json()["tls"]["client_cert"]
        self.assertIsNotNone(cert, "--clientcert request: the request arrives anyway")
        self.assertIs(cert["verified"], False)
        self.assertEqual(cert["subject"], "CN=stranger")
        self.assertEqual(cert["sha256"], self.certs.fingerprint(self.stranger_pem))

    def test_tls12_names_the_cipher_as_openssl_does(self):
        e = Exchange(self.port, self.context(tls12=True))
        tls = e.json()["tls"]
        self.assertEqual(tls["protocol"], "TLSv1.2")
        self.assertEqual(tls["cipher"], e.cipher)
        self.assertIn("ECDHE-ECDSA", tls["cipher"], "OpenSSL's name, not IANA's")

    def test_resumed_session_is_reported(self):
        ctx = self.context()
        first = Exchange(self.port, ctx)
        self.assertIs(first.json()["tls"]["resumed"], False)
        second = Exchange(self.port, ctx, session=first.session)
        self.assertTrue(second.reused, "the client resumed (a ticket)")
        self.assertIs(second.json()["tls"]["resumed"], True)
        self.assertNotEqual(second.json()["connection_id"], first.json()["connection_id"])

    def test_receive_into_lays_the_tls_parts_out_in_the_callers_buffer(self):
        """receive_into_app (test_queue_api.py's script) over TLS with a client certificate:
        the size it is told counts the TLS info, certificate included, and every view lies
        in its buffer (inside=1 checks `tls` and its certificate too)."""
        port = free_port()
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{port}",
                     "--cert", self.server_pem, "--key", self.server_key,
                     "--clientcert", "request", "--ca", self.certs.path("ca.pem"))
        app = self.start_app([binary("HTTPAPI_RECEIVE_INTO_APP"), f"https://+:{port}/r/", "ri"],
                             "receive-into")

        def step():
            words = app.read_line(10).decode().split()
            return words[0], words[1], int(words[2])

        with_cert = self.context(certificate=(self.client_pem, self.client_key))
        a = TlsClient(port, with_cert)
        a.send_get("/r/a", "X-Test: v\r\n")
        name, error, needed = step()
        self.assertEqual((name, error), ("probe", "HTTPAPI_ERROR_MORE_DATA"))
        self.assertEqual(step(), ("short", "HTTPAPI_ERROR_MORE_DATA", needed))
        self.assertEqual(step()[:2], ("misaligned", "HTTPAPI_ERROR_INVALID_PARAMETER"))
        self.assertEqual(Exchange(port, with_cert, path="/r/b").response.body,
                         b"second /r/b")
        self.assertEqual(step()[:2], ("second", "HTTPAPI_OK"))
        self.assertEqual(step(), ("exact", "HTTPAPI_OK", needed))
        self.assertEqual(a.read_response().body.decode(),
                         f"first /r/a X-Test=v used={needed} inside=1")
        c = TlsClient(port, self.context())
        c.send_get("/r/c")
        name, error, needed_without = step()
        self.assertEqual((name, error), ("probe2", "HTTPAPI_ERROR_MORE_DATA"))
        der = self.der_size(self.client_pem)
        self.assertGreater(needed - needed_without, der,
                           "the certificate's DER, subject and issuer are counted")
        self.assertEqual(step()[:2], ("plain", "HTTPAPI_OK"))
        self.assertEqual(c.read_response().body, b"plain /r/c")
        a.close()
        c.close()
        self.assertEqual(app.wait(5), 0)

    def test_plain_http_beside_it_is_not_secure(self):
        plain = free_port()
        self.start_echo(f"http://+:{plain}/", name="plain")
        j = harness.http(plain, path="/p").json()
        self.assertIs(j["secure"], False)
        self.assertIsNone(j["tls"])
        self.assertTrue(j["url"]["full"].startswith("http://"))


if __name__ == "__main__":
    harness.main()
