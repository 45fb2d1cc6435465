#!/usr/bin/env python3
"""Bad input from clients (issue 2 "Bad input", DESIGN.md §3 and §8): every request the
service rejects itself gets the right status, Connection: close, a closed connection and a
line with the right reason in httperr1.log, while other connections carry on."""

import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, ServiceTestCase, build_request, free_port, http  # noqa: E402

# (name, request bytes, status, text in the page, httperr reason)
CASES = [
    ("garbage", b"this is not http\r\n\r\n", 400, b"Bad Request", "BadRequest"),
    ("binary garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400,
     b"Bad Request", "BadRequest"),
    ("HTTP/1.2", b"GET /a/ HTTP/1.2\r\nHost: h\r\n\r\n", 505, b"HTTP Version Not Supported",
     "Version_N/S"),
    ("HTTP/2.0 request line", b"GET /a/ HTTP/2.0\r\nHost: h\r\n\r\n", 505,
     b"HTTP Version Not Supported", "Version_N/S"),
    ("Content-Length and Transfer-Encoding",
     b"POST /a/ HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400, b"Bad Request", "BadRequest"),
    ("Transfer-Encoding: gzip", b"POST /a/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
     501, b"Not Implemented", "N/I"),
    ("POST without length", b"POST /a/ HTTP/1.1\r\nHost: h\r\n\r\n", 411, b"Length Required",
     "LengthRequired"),
    # One 17 KiB field is over both 16 KiB limits (MaxFieldLength and MaxRequestBytes):
    # either answer is right; BadInputLargeRequestLimit below isolates FieldLength.
    ("header field over 16 KiB",
     b"GET /a/ HTTP/1.1\r\nHost: h\r\nX-Big: " + b"v" * (17 * 1024) + b"\r\n\r\n", 400,
     (b"Header Field Too Long", b"Request Too Long"), ("FieldLength", "RequestLength")),
    ("headers over 16 KiB in total",
     b"GET /a/ HTTP/1.1\r\nHost: h\r\n" +
     b"".join(b"X-H%02d: %s\r\n" % (i, b"v" * 1000) for i in range(20)) + b"\r\n", 400,
     b"Request Too Long", "RequestLength"),
    ("two different Content-Lengths",
     b"POST /a/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400,
     b"Bad Request", "BadRequest"),
    ("negative Content-Length", b"POST /a/ HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
     400, b"Bad Request", "BadRequest"),
    ("bad chunk size", b"POST /a/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nabc\r\n0\r\n\r\n", 400, b"Bad Request", "BadRequest"),
    ("HTTP/1.1 without Host", b"GET /a/ HTTP/1.1\r\n\r\n", 400, b"Bad Request", None),
    ("space before colon", b"GET /a/ HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400,
     b"Bad Request", None),
]


def response_complete(data):
    """True when data holds a whole response framed by Content-Length (the garbage clients
    stop there instead of waiting for the server to close a keep-alive connection)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


class BadInput(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.start_echo(f"http://+:{self.port}/b/", name="B")

    def assert_serves(self, keep=None):
        if keep is not None:
            self.assertEqual(keep.request("GET", "/b/keep").json()["app"], "B")
        self.assertEqual(http(self.port, path="/a/fresh").json()["app"], "A")

    def reject(self, wire):
        """Sends wire on a new connection; returns (response, client port, closed)."""
        c = self.conn(self.port)
        try:
            c.send(wire)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response(timeout=5)
        closed = c.wait_closed(5)
        return r, c.local_port, closed

    def test_self_generated_errors(self):
        keep = self.conn(self.port)
        self.assertEqual(keep.request("GET", "/b/first").status, 200)
        for name, wire, status, text, reason in CASES:
            with self.subTest(case=name):
                r, client_port, closed = self.reject(wire)
                self.assertEqual(r.status, status, r.body[:300])
                texts = text if isinstance(text, tuple) else (text,)
                self.assertTrue(any(t in r.body for t in texts), (texts, r.body))
                self.assertEqual(r.header("Connection"), "close")
                self.assertEqual(r.header("Content-Type"), "text/html; charset=us-ascii")
                self.assertEqual(int(r.header("Content-Length")), len(r.body))
                self.assertTrue(closed, "the service closes the connection after its error")
                e = self.log_for(client_port)
                self.assertEqual(e.sc_status, str(status))
                if reason:
                    reasons = reason if isinstance(reason, tuple) else (reason,)
                    self.assertIn(e.s_reason, reasons, e.line)
                self.assertEqual((e.c_ip, e.s_ip, e.s_port),
                                 ("127.0.0.1", "127.0.0.1", str(self.port)))
                # the open keep-alive connection is not disturbed
                self.assertEqual(keep.request("GET", "/b/keep").json()["app"], "B")
        self.assert_serves(keep)

    def test_log_line_carries_parsed_request_line(self):
        # When the request line was valid, httperr knows version, method and URI and writes
        # them (as HTTP.sys does), whatever was wrong after it: framing or a header.
        cases = [
            (b"POST /a/nolength HTTP/1.1\r\nHost: h\r\n\r\n", 411, "POST", "/a/nolength"),
            (b"POST /a/gz HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
             "POST", "/a/gz"),
            (b"POST /a/both HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "POST", "/a/both"),
            (b"POST /a/badlen HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n", 400,
             "POST", "/a/badlen"),
            (b"GET /a/nul HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", 400, "GET", "/a/nul"),
            (b"GET /a/hosts HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", 400, "GET", "/a/hosts"),
            (b"PUT /a/big HTTP/1.1\r\nHost: h\r\nX-Big: " + b"v" * (17 * 1024) + b"\r\n\r\n",
             400, "PUT", "/a/big"),
        ]
        for wire, status, method, uri in cases:
            with self.subTest(uri=uri):
                r, client_port, _ = self.reject(wire)
                self.assertEqual(r.status, status)
                e = self.log_for(client_port)
                self.assertEqual((e.cs_version, e.cs_method, e.cs_uri, e.sc_status),
                                 ("HTTP/1.1", method, uri, str(status)), e.line)

    def test_garbage_after_valid_request_on_keepalive_connection(self):
        c = self.conn(self.port)
        c.send(build_request("GET", "/a/ok") + b"\x00\x01garbage\r\n\r\n")
        self.assertEqual(c.read_response().json()["raw_url"], "/a/ok")
        r = c.read_response()
        self.assertEqual(r.status, 400)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed())
        self.assert_serves()

    def test_head_request_error_has_no_body(self):
        c = self.conn(self.port)
        c.send(b"HEAD /nothing/ HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.read_response(head_request=True)
        self.assertEqual(r.status, 404)
        self.assertTrue(c.wait_closed())
        self.assertEqual(c.buf, b"", "no page after the head of a HEAD answer")

    def test_client_disconnecting_mid_request_does_not_disturb_others(self):
        keep = self.conn(self.port)
        self.assertEqual(keep.request("GET", "/a/").status, 200)
        # mid-head
        for partial in (b"GET /a/ HT", b"GET /b/x HTTP/1.1\r\nHost: h\r\nX-Half: va",
                        b"POST /a/ HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nonly-some",
                        b"POST /b/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"10\r\nabc"):
            c = Conn(self.port)
            c.send(partial)
            time.sleep(0.1)
            c.close()
            self.assertEqual(keep.request("GET", "/b/").json()["app"], "B")
        # reset (RST) instead of FIN, mid-body while the app reads it
        c = Conn(self.port)
        c.send(b"POST /a/ HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
        time.sleep(0.2)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        time.sleep(0.2)
        self.assert_serves(keep)
        # the apps survived the client leaving mid-body
        self.assertTrue(all(p.alive() for p in self.procs))

    def test_1000_random_garbage_connections(self):
        keep = self.conn(self.port)
        self.assertEqual(keep.request("GET", "/a/").status, 200)
        rng = random.Random(20260101)
        template = build_request("POST", "/a/x?y=1", [("X-Test", "1")], b"hello")
        inputs = []
        for i in range(1000):
            if i % 2 == 0:
                data = rng.randbytes(rng.randint(1, 400))
                if i % 4 == 0:
                    data += b"\r\n\r\n"
            else:  # a valid request with a few bytes mutated
                data = bytearray(template)
                for _ in range(rng.randint(1, 6)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                data = bytes(data)
            inputs.append(data)
        statuses = {}
        errors = []
        lock = threading.Lock()

        def worker(chunk):
            for data in chunk:
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                    try:
                        s.sendall(data)
                        s.shutdown(socket.SHUT_WR)
                        out = b""
                        while not response_complete(out):
                            d = s.recv(65536)
                            if not d:
                                break
                            out += d
                    except ConnectionResetError:
                        out = b"<reset>"
                    finally:
                        s.close()
                    key = out[:12].decode("latin-1")
                    with lock:
                        statuses[key] = statuses.get(key, 0) + 1
                except OSError as e:
                    with lock:
                        errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(inputs[k::8],)) for k in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "garbage clients hung")
        self.assertEqual(errors, [], f"connections failed (service down?); statuses {statuses}")
        self.assertTrue(self.service.alive(), "the service survived")
        self.assertLess(time.monotonic() - t0, 45)
        self.assert_serves(keep)
        self.assertGreater(statuses.get("HTTP/1.1 400", 0), 300, statuses)


class BadInputLargeRequestLimit(ServiceTestCase):
    """With MaxRequestBytes raised to 64 KiB, a 17 KiB field hits MaxFieldLength (16 KiB)."""
    SERVICE_ARGS = ("--max-request-bytes", "65536")

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")

    def test_field_length(self):
        c = self.conn(self.port)
        c.send(b"GET /a/ HTTP/1.1\r\nHost: h\r\nX-Big: " + b"v" * (17 * 1024) + b"\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 400)
        self.assertIn(b"Header Field Too Long", r.body)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed())
        self.assertEqual(self.log_for(c.local_port).s_reason, "FieldLength")
        # 20 KiB of headers in 1 KiB fields is within both limits now
        r = http(self.port, path="/a/many", headers=[(f"X-H{i:02d}", "v" * 1000) for i in range(20)])
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json()["headers"]), 21)
        # and a field just under 16 KiB passes
        r = http(self.port, path="/a/big", headers=[("X-Big", "v" * (16 * 1024 - 100))])
        self.assertEqual(r.status, 200)


class Timers(ServiceTestCase):
    """Slow clients meet the HTTP.sys timers (DESIGN.md §5), shortened for the test."""
    SERVICE_ARGS = ("--header-wait-timeout", "1", "--idle-connection-timeout", "2")

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")

    def test_incomplete_head_is_dropped_after_header_wait(self):
        c = self.conn(self.port)
        c.send(b"GET /a/ HTTP/1.1\r\nHost: h\r\n")
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(5), "still open 5 s into a 1 s header wait")
        self.assertLess(time.monotonic() - t0, 4)
        e = self.log_for(c.local_port)
        self.assertEqual(e.s_reason, "Timer_HeaderWait", e.line)
        self.assertEqual(http(self.port, path="/a/").status, 200)

    def test_trickled_head_is_dropped_after_header_wait(self):
        # One byte every 0.2 s keeps the connection busy but the head never completes in
        # time: the timer covers the whole head, not the gap between bytes.
        c = self.conn(self.port)
        wire = b"GET /a/slowloris HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"s" * 100
        t0 = time.monotonic()
        closed = False
        for i in range(len(wire)):
            try:
                c.send(wire[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if c.wait_closed(0.2):
                closed = True
                break
            if time.monotonic() - t0 > 6:
                break
        self.assertTrue(closed, "a trickling client kept its connection for 6 s")
        self.assertLess(time.monotonic() - t0, 4.5)
        self.assertEqual(self.log_for(c.local_port).s_reason, "Timer_HeaderWait")

    def test_idle_keepalive_connection_is_closed(self):
        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/a/").status, 200)
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(6), "idle connection still open after 6 s (timeout 2 s)")
        self.assertGreater(time.monotonic() - t0, 1.0)
        self.assertEqual(self.log_for(c.local_port).s_reason, "Timer_ConnectionIdle")

    def test_request_with_the_app_is_not_cut_by_idle_or_header_timers(self):
        # The head is complete and the app reads the body: neither the header-wait nor the
        # idle timer applies (the entity-body timer is 120 s).
        c = self.conn(self.port)
        c.send(b"POST /a/slowbody HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc")
        self.assertFalse(c.wait_closed(3.5), "closed while the app was reading its body")
        c.send(b"def")
        j = c.read_response().json()
        self.assertEqual(j["body_sha256"], harness.sha256_hex(b"abcdef"))


class QueueFull(ServiceTestCase):
    """A request queue that is full answers 503, logged QueueFull (DESIGN.md §3, §5)."""
    SERVICE_ARGS = ("--queue-length", "1")

    def test_queue_full_gets_503(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/a/", name="A")
        # The app is busy with a request whose body has not all arrived...
        busy = self.conn(port)
        busy.send(b"POST /a/busy HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(0.4)
        # ...so the next ones wait in the queue, until it is full.
        waiting, statuses = [], []
        for i in range(4):
            c = self.conn(port)
            c.send(build_request("GET", f"/a/w{i}"))
            waiting.append(c)
            time.sleep(0.1)
        full = None
        for i, c in enumerate(waiting):
            try:
                r = c.read_response(timeout=0.5)
            except (socket.timeout, TimeoutError):
                continue  # still queued
            statuses.append((i, r.status))
            if r.status == 503:
                full = full or c
        self.assertTrue(statuses, "no request was refused although the queue holds 1")
        self.assertTrue(all(st == 503 for _, st in statuses), statuses)
        e = self.log_for(full.local_port)
        self.assertEqual((e.sc_status, e.s_reason), ("503", "QueueFull"), e.line)
        # The app finishes the busy request, then serves the queued one.
        busy.send(b"cd")
        self.assertEqual(busy.read_response().json()["body_length"], 4)
        refused = {i for i, _ in statuses}
        served = [c.read_response().json()["raw_url"] for i, c in enumerate(waiting)
                  if i not in refused]
        self.assertEqual(len(served), 4 - len(refused))
        self.assertGreaterEqual(len(served), 1)


if __name__ == "__main__":
    harness.main()
