#!/usr/bin/env python3
"""HTTP/2 (docs/http2.md) with real clients (curl, h2load, Python's h2) against a real
httpapid: prior knowledge on a cleartext port and ALPN h2 over TLS, each stream an exchange
through the same routing, queues and cache as HTTP/1.1; many streams of one connection at
two applications at once; a client's RST_STREAM cancelling the application's request; large
bodies both ways under flow control; the service's own answers ending a stream, not the
connection."""

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ServiceTestCase, binary, build_request, free_port,  # noqa: E402
                     sha256_hex)
from tls_support import Certs  # noqa: E402

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
except ImportError:  # Debian's python3-h2, when the tests run under another Python 3
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events


def curl(*args, timeout=60):
    """Runs curl (never through a proxy); stdout and stderr as text."""
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout - 5),
                           *args], capture_output=True, text=True, timeout=timeout)


class H2Client:
    """A raw HTTP/2 client over one socket (Python's h2): streams opened, reset and read
    one frame at a time, as curl cannot."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.flush()
        self.responses = {}  # stream id -> {"status", "body", "ended", "reset"}
        self.goaway = None  # the service's GOAWAY: (error code, last stream id)

    def flush(self):
        self.sock.sendall(self.h2.data_to_send())

    def get(self, path):
        stream = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                      (":authority", f"127.0.0.1:{self.port}")],
                             end_stream=True)
        self.flush()
        self.responses[stream] = {"status": None, "body": b"", "ended": False, "reset": None}
        return stream

    def reset(self, stream):
        self.h2.reset_stream(stream)
        self.flush()

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the service closed the connection")
        for event in self.h2.receive_data(data):
            r = self.responses.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived) and r is not None:
                r["status"] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if r is not None:
                    r["body"] += event.data
            elif isinstance(event, h2.events.StreamEnded) and r is not None:
                r["ended"] = True
            elif isinstance(event, h2.events.StreamReset) and r is not None:
                r["reset"] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = (event.error_code, event.last_stream_id)
        self.flush()

    def wait(self, stream):
        while not (self.responses[stream]["ended"] or self.responses[stream]["reset"]):
            self.pump()
        return self.responses[stream]

    def close(self):
        self.sock.close()


class Http2TestCase(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def h2c(self, *args):
        return curl("--http2-prior-knowledge", *args)


class PriorKnowledge(Http2TestCase):

    def test_get_reaches_the_application_as_http2_with_host_and_joined_cookies(self):
        self.start_echo(f"http://+:{self.port}/e/")
        r = self.h2c("-H", "Cookie: a=1", "-H", "Cookie: b=2", self.url("/e/x?y=1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual(body["version"], "HTTP/2")
        self.assertEqual(body["method"], "GET")
        self.assertEqual(body["url"]["full"], f"http://127.0.0.1:{self.port}/e/x?y=1")
        headers = [(n.lower(), v) for n, v in body["headers"]]
        self.assertIn(("host", f"127.0.0.1:{self.port}"), headers)
        self.assertIn(("cookie", "a=1; b=2"), headers)

    def test_large_request_body_passes_the_windows_as_the_application_reads(self):
        self.start_echo(f"http://+:{self.port}/e/")
        data = os.urandom(5 * 1024 * 1024)  # five times the connection's window
        path = os.path.join(self.tmp, "upload.bin")
        with open(path, "wb") as f:
            f.write(data)
        r = self.h2c("--data-binary", f"@{path}", self.url("/e/up"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual(body["version"], "HTTP/2")
        self.assertEqual(body["body_length"], len(data))
        self.assertEqual(body["body_sha256"], sha256_hex(data))

    def test_large_streamed_response(self):
        self.start_app([binary("HTTPAPI_BIG_RESPONSE"), f"http://+:{self.port}/big/", "5"], "big")
        out = os.path.join(self.tmp, "big.out")
        r = self.h2c("-o", out, "-w", "%{http_version} %{http_code} %{size_download}",
                     self.url("/big/"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"2 200 {5 * 1024 * 1024}")
        piece = bytes(ord("a") + i % 26 for i in range(64 * 1024))
        with open(out, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha256_hex(piece * 80))

    def test_upgrade_h2c_is_ignored_and_served_as_http11(self):
        self.start_echo(f"http://+:{self.port}/e/")
        c = self.conn(self.port)
        c.send(build_request("GET", "/e/u", headers=[
            ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["version"], "HTTP/1.1")

    def test_cleartext_http2_can_be_turned_off(self):
        self.httpcfg("set", "setting", "--key", "http2_cleartext", "--value", "0")
        self.start_echo(f"http://+:{self.port}/e/")
        r = self.h2c("-s", "-o", "/dev/null", "-w", "%{http_code}", self.url("/e/"))
        self.assertNotEqual(r.stdout, "200")  # the preface is not HTTP/1.1 either
        self.assertEqual(json.loads(curl(self.url("/e/")).stdout)["version"], "HTTP/1.1")

    # curl 7.88 (Debian 12) cannot reuse a prior-knowledge connection (its issue 10634):
    # one connection carrying several streams in turn is driven with Python's h2.

    def test_a_404_from_the_service_ends_the_stream_not_the_connection(self):
        self.start_echo(f"http://+:{self.port}/e/")
        client = H2Client(self.port)
        missing = client.wait(client.get("/nothing"))
        self.assertEqual(missing["status"], 404)
        self.assertIn(b"Not Found", missing["body"])
        after = client.wait(client.get("/e/after"))
        self.assertEqual(after["status"], 200)
        self.assertEqual(json.loads(after["body"])["version"], "HTTP/2")
        client.close()

    def test_cache_hit_over_http2(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--cache-ttl", "60"], "echo-cached")
        client = H2Client(self.port)
        answers = [client.wait(client.get(path)) for path in ("/e/c", "/e/c", "/e/other")]
        self.assertEqual([a["status"] for a in answers], [200, 200, 200])
        # The second answer came from the cache: the application saw the first and the third.
        self.assertEqual([json.loads(a["body"])["served"] for a in answers], [1, 1, 2])
        self.assertEqual(answers[1]["body"], answers[0]["body"])
        client.close()
        head = self.h2c("-s", "-D", "-", "-o", "/dev/null", self.url("/e/c")).stdout
        self.assertTrue(head.startswith("HTTP/2 200"), head)
        self.assertRegex(head, r"(?im)^date: ")
        self.assertRegex(head, r"(?im)^content-length: \d+")
        self.assertNotRegex(head, r"(?im)^connection: ")

    def test_many_streams_on_two_connections_at_two_applications(self):
        self.start_echo(f"http://+:{self.port}/a/", name="a")
        self.start_echo(f"http://+:{self.port}/b/", name="b")
        r = subprocess.run(["h2load", "-n", "1000", "-c", "2", "-m", "50",
                            self.url("/a/x"), self.url("/b/y")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("status codes: 1000 2xx, 0 3xx, 0 4xx, 0 5xx", r.stdout, r.stdout)
        self.assertRegex(r.stdout, r"requests: 1000 total, 1000 started, 1000 done, 1000 succeeded")

    def test_a_client_reset_cancels_the_application_request_and_the_connection_goes_on(self):
        # A persistent queue whose controller receives nothing, held by a watching worker.
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue", "w",
                        "--url", f"http://+:{self.port}/w/"], "controller-w")
        watcher = self.start_app([binary("HTTPAPI_HOLD_APP"), "w", "watcher", "1", "1", "0",
                                  "watch"], "watcher")
        self.start_echo(f"http://+:{self.port}/e/")
        client = H2Client(self.port)
        held = client.get("/w/1")
        self.assertEqual(watcher.read_line(20).decode().split(), ["seen", "/w/1"])
        client.reset(held)
        self.assertEqual(watcher.read_line(20).decode().split(), ["gone", "/w/1"])
        answer = client.wait(client.get("/e/next"))
        self.assertEqual(answer["status"], 200)
        self.assertEqual(json.loads(answer["body"])["version"], "HTTP/2")
        client.close()

    def test_a_field_over_max_field_length_is_answered_400_on_its_stream(self):
        self.start_echo(f"http://+:{self.port}/e/")
        client = H2Client(self.port)
        stream = client.h2.get_next_available_stream_id()
        client.h2.send_headers(stream, [(":method", "GET"), (":path", "/e/big"),
                                        (":scheme", "http"),
                                        (":authority", f"127.0.0.1:{self.port}"),
                                        ("x-big", "v" * (17 * 1024))], end_stream=True)
        client.flush()
        client.responses[stream] = {"status": None, "body": b"", "ended": False, "reset": None}
        answer = client.wait(stream)
        self.assertEqual(answer["status"], 400)
        self.assertIn(b"Header Field Too Long", answer["body"])
        self.assertEqual(client.wait(client.get("/e/after"))["status"], 200)
        client.close()
        self.wait_log(lambda e: e.s_reason == "FieldLength", what="FieldLength log line")

    def test_service_shutdown_sends_goaway_naming_the_last_stream(self):
        self.start_echo(f"http://+:{self.port}/e/")
        client = H2Client(self.port)
        stream = client.get("/e/before")
        self.assertEqual(client.wait(stream)["status"], 200)
        self.service.send_signal(signal.SIGTERM)
        try:
            while client.goaway is None:
                client.pump()
        except ConnectionError:
            pass
        self.assertEqual(client.goaway, (h2.errors.ErrorCodes.NO_ERROR, stream))
        client.close()

    def test_garbage_after_the_preface_closes_the_connection_and_the_service_goes_on(self):
        self.start_echo(f"http://+:{self.port}/e/")
        rng = random.Random(13)
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        for i in range(200):
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            # Half of them start with a valid SETTINGS frame, so later frames are parsed.
            settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" if i % 2 else b""
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(preface + settings + noise)
                s.shutdown(socket.SHUT_WR)
                try:
                    while s.recv(65536):
                        pass
                except ConnectionResetError:
                    pass
        self.assertTrue(self.service.alive())
        r = self.h2c(self.url("/e/fine"))
        self.assertEqual(json.loads(r.stdout)["version"], "HTTP/2")


class OverTls(Http2TestCase):

    def test_alpn_h2_gives_http2_and_http11_stays_available(self):
        certs = Certs(os.path.join(self.tmp, "certs"))
        cert, key = certs.self_signed("server", "localhost", ["localhost"])
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{self.port}",
                     "--cert", cert, "--key", key)
        self.start_echo(f"https://+:{self.port}/s/")
        common = ["--resolve", f"localhost:{self.port}:127.0.0.1", "--cacert", cert]
        url = f"https://localhost:{self.port}/s/x"
        r = curl("--http2", *common, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual(body["version"], "HTTP/2")
        self.assertEqual(body["tls"]["alpn"], "h2")
        self.assertIs(body["secure"], True)
        data = os.urandom(1024 * 1024 + 7)
        path = os.path.join(self.tmp, "tls-upload.bin")
        with open(path, "wb") as f:
            f.write(data)
        r = curl("--http2", *common, "--data-binary", f"@{path}", url)
        self.assertEqual(json.loads(r.stdout)["body_sha256"], sha256_hex(data))
        r = curl("--http1.1", *common, url)
        body = json.loads(r.stdout)
        self.assertEqual((body["version"], body["tls"]["alpn"]), ("HTTP/1.1", "http/1.1"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
