#!/usr/bin/env python3
"""The PROXY protocol on a marked endpoint (issue 15 item 1, docs/proxy-protocol.md): raw
sockets send version 1 and 2 headers to 127.0.0.2:PORT, marked with
`httpcfg iplisten add --ipport 127.0.0.2:PORT --proxy-protocol --trusted 127.0.0.1/32`, from
127.0.0.1 (trusted) or 127.0.0.3 (not), and httpapi-echo says what the application saw:
"remote" (the client the header named), "proxied_by" (the balancer) and "proxy_tlvs". Bad
headers, untrusted senders, missing headers and a header that never ends close the connection
with an error-log line. On an https port the header comes before the TLS handshake."""

import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port  # noqa: E402
from test_sslcert import Certificates  # noqa: E402

MARKED = "127.0.0.2"
BALANCER = "127.0.0.1"
STRANGER = "127.0.0.3"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def tlv(kind, value):
    return struct.pack("!BH", kind, len(value)) + value


def v2(command, family, body):
    """A version 2 header: command 0 LOCAL or 1 PROXY, family byte, then `body`."""
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def inet_block(source, sport, destination, dport):
    return (socket.inet_aton(source) + socket.inet_aton(destination) +
            struct.pack("!HH", sport, dport))


def inet6_block(source, sport, destination, dport):
    return (socket.inet_pton(socket.AF_INET6, source) +
            socket.inet_pton(socket.AF_INET6, destination) + struct.pack("!HH", sport, dport))


def get(port, path="/app/x"):
    return f"GET {path} HTTP/1.1\r\nHost: {MARKED}:{port}\r\n\r\n".encode()


class ProxyProtocolTest(ServiceTestCase):

    SERVICE_ARGS = ("--header-wait-timeout", "2")

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/app/", name="pp")
        self.httpcfg("iplisten", "add", "--ipport", f"{MARKED}:{self.port}", "--proxy-protocol",
                     "--trusted", f"{BALANCER}/32")

    def connect(self, source=BALANCER, destination=MARKED, port=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(harness.DEFAULT_TIMEOUT)
        s.bind((source, 0))
        s.connect((destination, port or self.port))
        self.addCleanup(s.close)
        return s

    def exchange(self, wire, source=BALANCER, destination=MARKED):
        """Sends `wire` (header and request) on a new connection; the answer's JSON and the
        client's own port."""
        s = self.connect(source, destination)
        s.sendall(wire)
        return self.read_json(s), s.getsockname()[1]

    def read_json(self, s):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            self.assertTrue(chunk, f"closed before an answer: {data!r}")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                      if l.lower().startswith(b"content-length:")][0])
        while len(body) < length:
            body += s.recv(65536)
        return json.loads(body[:length])

    def expect_closed(self, s, reason):
        """The service closes `s` without an answer and logs `reason` for it."""
        client_port = s.getsockname()[1]
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        self.assertEqual(data, b"", "no answer for a connection that is refused")
        e = self.wait_log(lambda e: e.c_port == str(client_port),
                          what=f"error log line for client port {client_port}")
        self.assertEqual(e.s_reason, reason, e.line)
        return e

    # ---- accepted headers

    def test_v1_tcp4_names_the_client_for_every_request_of_the_connection(self):
        s = self.connect()
        s.sendall(f"PROXY TCP4 192.0.2.1 {MARKED} 51000 {self.port}\r\n".encode() +
                  get(self.port))
        j = self.read_json(s)
        self.assertEqual(j["remote"], "192.0.2.1:51000")
        self.assertEqual(j["proxied_by"], f"{BALANCER}:{s.getsockname()[1]}")
        self.assertEqual(j["proxy_tlvs"], {"alpn": None, "authority": None, "ssl": None})
        self.assertEqual(j["local"], f"{MARKED}:{self.port}")
        s.sendall(get(self.port))  # keep-alive: the same client
        j = self.read_json(s)
        self.assertEqual(j["remote"], "192.0.2.1:51000")

    def test_v1_header_in_pieces(self):
        s = self.connect()
        header = f"PROXY TCP6 2001:db8::1 2001:db8::2 443 {self.port}\r\n".encode()
        for piece in (header[:3], header[3:20], header[20:-1], header[-1:] + get(self.port)):
            s.sendall(piece)
            time.sleep(0.05)
        j = self.read_json(s)
        self.assertEqual(j["remote"], "[2001:db8::1]:443")
        self.assertEqual(j["proxied_by"], f"{BALANCER}:{s.getsockname()[1]}")

    def test_v2_inet6_with_tlvs(self):
        ssl_tlv = (struct.pack("!BI", 0x07, 0) + tlv(0x21, b"TLSv1.3") +
                   tlv(0x22, b"client1") + tlv(0x23, b"TLS_AES_128_GCM_SHA256"))
        body = (inet6_block("2001:db8::7", 40000, "2001:db8::2", self.port) +
                tlv(0x01, b"h2") + tlv(0x02, b"www.example.com") + tlv(0x20, ssl_tlv) +
                tlv(0x04, b"\x00" * 8))
        j, client_port = self.exchange(v2(1, 0x21, body) + get(self.port))
        self.assertEqual(j["remote"], "[2001:db8::7]:40000")
        self.assertEqual(j["proxied_by"], f"{BALANCER}:{client_port}")
        self.assertEqual(j["proxy_tlvs"]["alpn"], "h2")
        self.assertEqual(j["proxy_tlvs"]["authority"], "www.example.com")
        self.assertEqual(j["proxy_tlvs"]["ssl"],
                         {"client": 7, "verify": 0, "version": "TLSv1.3", "cn": "client1",
                          "cipher": "TLS_AES_128_GCM_SHA256", "sig_alg": None,
                          "key_alg": None})

    def test_v2_inet(self):
        header = v2(1, 0x11, inet_block("198.51.100.4", 1234, MARKED, self.port))
        j, client_port = self.exchange(header + get(self.port))
        self.assertEqual(j["remote"], "198.51.100.4:1234")
        self.assertEqual(j["proxied_by"], f"{BALANCER}:{client_port}")
        self.assertEqual(j["proxy_tlvs"], {"alpn": None, "authority": None, "ssl": None})

    def test_unknown_and_local_keep_the_real_peer(self):
        for header in (b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ::1 ::2 1 2\r\n", v2(0, 0x00, b""),
                       v2(0, 0x11, inet_block("192.0.2.9", 9, MARKED, 9))):
            with self.subTest(header=header):
                j, client_port = self.exchange(header + get(self.port))
                self.assertEqual(j["remote"], f"{BALANCER}:{client_port}")
                self.assertIsNone(j["proxied_by"])
                self.assertIsNone(j["proxy_tlvs"])

    def test_other_addresses_of_the_port_are_not_marked(self):
        j, client_port = self.exchange(get(self.port), destination=BALANCER)
        self.assertEqual(j["remote"], f"{BALANCER}:{client_port}")
        self.assertIsNone(j["proxied_by"])

    # ---- refused

    def test_untrusted_source_claiming_a_trusted_one_is_closed(self):
        s = self.connect(source=STRANGER)
        s.sendall(f"PROXY TCP4 {BALANCER} {MARKED} 5000 {self.port}\r\n".encode() +
                  get(self.port))
        e = self.expect_closed(s, "Proxy_Untrusted")
        self.assertEqual(e.c_ip, STRANGER)
        s = self.connect(source=STRANGER)
        s.sendall(v2(1, 0x11, inet_block(BALANCER, 5000, MARKED, self.port)) + get(self.port))
        self.expect_closed(s, "Proxy_Untrusted")

    def test_untrusted_source_without_a_header_is_served_as_itself(self):
        j, client_port = self.exchange(get(self.port), source=STRANGER)
        self.assertEqual(j["remote"], f"{STRANGER}:{client_port}")
        self.assertIsNone(j["proxied_by"])

    def test_bad_headers_are_closed_with_their_reason(self):
        lie = bytearray(v2(1, 0x11, inet_block("192.0.2.1", 1, MARKED, 2) + tlv(0x01, b"h2")))
        lie[-3:-1] = struct.pack("!H", 9)  # the ALPN TLV claims more than the header holds
        cases = [
            (b"PROXY TCP4 192.0.2.1 127.0.0.2 51000\r\n", "Proxy_v1_malformed"),
            (b"PROXY TCP4 2001:db8::1 127.0.0.2 1 2\r\n", "Proxy_v1_malformed"),
            (b"PROXY UNKNOWN " + b"x" * 120, "Proxy_v1_too_long"),
            (V2_SIGNATURE + b"\x11\x11\x00\x0c" + b"\x00" * 12, "Proxy_v2_version"),
            (V2_SIGNATURE + b"\x23\x11\x00\x0c" + b"\x00" * 12, "Proxy_v2_command"),
            (v2(1, 0x11, b"\x00" * 8), "Proxy_v2_length"),
            (v2(1, 0x21, inet_block("192.0.2.1", 1, MARKED, 2)), "Proxy_v2_length"),
            (bytes(lie), "Proxy_v2_tlv"),
            (v2(1, 0x31, b"\x00" * 216), "Proxy_v2_unsupported"),
            (V2_SIGNATURE + b"\x21\x11\xff\xff", "Proxy_too_long"),
            (get(self.port), "Proxy_Missing"),
        ]
        for wire, reason in cases:
            with self.subTest(reason=reason, wire=wire[:40]):
                s = self.connect()
                s.sendall(wire)
                self.expect_closed(s, reason)

    def test_truncated_and_absent_headers(self):
        s = self.connect()
        s.sendall(b"PROXY TCP4 192.0.2.1 ")
        time.sleep(0.1)
        s.shutdown(socket.SHUT_WR)
        self.expect_closed(s, "Proxy_Truncated")
        s = self.connect()
        s.shutdown(socket.SHUT_WR)
        self.expect_closed(s, "Proxy_Missing")

    def test_a_header_that_never_ends_meets_header_wait(self):
        s = self.connect()
        s.sendall(v2(1, 0x11, inet_block("192.0.2.1", 1, MARKED, 2))[:20])
        self.expect_closed(s, "Timer_HeaderWait")

    # ---- administration

    def test_show_servicestate_and_delete_apply_live(self):
        shown = json.loads(self.httpcfg("iplisten", "show", "--json").stdout)
        self.assertEqual(shown["endpoints"],
                         [{"ipport": f"{MARKED}:{self.port}", "proxy_protocol": True,
                           "trusted": f"{BALANCER}/32"}])
        self.assertIn(f"{MARKED}:{self.port}  PROXY protocol: yes  trusted: {BALANCER}/32",
                      self.httpcfg("iplisten", "show").stdout)
        state = json.loads(self.httpcfg("show", "servicestate", "--json").stdout)
        self.assertEqual(state["proxy_protocol"], shown["endpoints"])
        bad = self.httpcfg("iplisten", "add", "--ipport", f"{MARKED}:1", "--proxy-protocol",
                           "--trusted", "10.1.2.3/8", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("10.0.0.0/8", bad.stderr)
        self.httpcfg("iplisten", "delete", "--ipport", f"{MARKED}:{self.port}")
        j, client_port = self.exchange(get(self.port))  # no header needed any more
        self.assertEqual(j["remote"], f"{BALANCER}:{client_port}")
        self.assertIsNone(j["proxied_by"])


class ProxyProtocolTlsTest(ServiceTestCase):
    """On an https port the PROXY header comes first, then the TLS handshake."""

    def setUp(self):
        super().setUp()
        certs = Certificates(os.path.join(self.tmp, "certs"))
        pem, key = certs.issued("server", "ec", "/O=Example/CN=www.example.com")
        self.port = free_port()
        for args in (("sslcert", "add", "--ipport", f"0.0.0.0:{self.port}", "--cert", pem,
                      "--key", key),
                     ("iplisten", "add", "--ipport", f"{MARKED}:{self.port}",
                      "--proxy-protocol", "--trusted", f"{BALANCER}/32,::1/128")):
            r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.start_echo(f"https://+:{self.port}/app/", name="tls")

    def test_header_before_the_handshake(self):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.settimeout(harness.DEFAULT_TIMEOUT)
        raw.bind((BALANCER, 0))
        raw.connect((MARKED, self.port))
        client_port = raw.getsockname()[1]
        raw.sendall(v2(1, 0x11, inet_block("203.0.113.5", 4444, MARKED, self.port) +
                       tlv(0x02, b"www.example.com")))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        with ctx.wrap_socket(raw, server_hostname="www.example.com") as s:
            s.sendall(f"GET /app/x HTTP/1.1\r\nHost: www.example.com:{self.port}\r\n"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        j = json.loads(body)
        self.assertIs(j["secure"], True)
        self.assertEqual(j["remote"], "203.0.113.5:4444")
        self.assertEqual(j["proxied_by"], f"{BALANCER}:{client_port}")
        self.assertEqual(j["proxy_tlvs"]["authority"], "www.example.com")


if __name__ == "__main__":
    harness.main()
