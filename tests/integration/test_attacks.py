"""Regression tests for known attacks on HTTP.sys (issue 3 item 8): each gets the right
status, the service stays up and keeps serving, and its memory stays bounded."""

import os
import socket
import time
import unittest

from harness import Conn, ServiceTestCase, binary, free_port, http

MAX_REQUEST_BYTES = 4096
MAX_FIELD_LENGTH = 1024


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class AttackTest(ServiceTestCase):
    SERVICE_ARGS = ("--max-request-bytes", str(MAX_REQUEST_BYTES),
                    "--max-field-length", str(MAX_FIELD_LENGTH))

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/", name="E")

    def raw(self, data, timeout=10):
        """Sends bytes on a fresh connection; returns (status, body) of the answer."""
        c = self.conn(self.port, timeout=timeout)
        try:
            c.send(data)
        except OSError:
            pass  # the service may refuse mid-upload; the answer is still readable
        r = c.read_response()
        return r

    def assert_still_serving(self):
        r = http(self.port, path="/after")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "E")

    # -- MS15-034: a Range whose end overflows

    def test_ms15_034_range_overflow_reaches_the_app_unharmed(self):
        r = http(self.port, path="/welcome.png",
                 headers=[("Range", "bytes=0-18446744073709551615")])
        self.assertEqual(r.status, 200)
        self.assertIn(["Range", "bytes=0-18446744073709551615"], r.json()["headers"])
        r = http(self.port, path="/x", headers=[("Range", "bytes=18-18446744073709551615")])
        self.assertEqual(r.status, 200)
        self.assert_still_serving()

    # -- chunked framing: CVE-2022-21907-style trailers, extensions, sizes

    def chunked(self, framing):
        return self.raw(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + framing)

    def test_oversized_trailer_section_is_refused(self):
        trailers = b"".join(b"X-T%05d: %s\r\n" % (i, b"v" * 200) for i in range(200))
        r = self.chunked(b"5\r\nhello\r\n0\r\n" + trailers + b"\r\n")
        self.assertEqual(r.status, 400)
        self.assert_still_serving()

    def test_malformed_trailer_is_refused(self):
        r = self.chunked(b"5\r\nhello\r\n0\r\nNo colon here\r\n\r\n")
        self.assertEqual(r.status, 400)
        r = self.chunked(b"5\r\nhello\r\n0\r\n folded: line\r\n\r\n")
        self.assertEqual(r.status, 400)
        self.assert_still_serving()

    def test_bare_lf_in_chunk_extension_is_refused(self):
        r = self.chunked(b"5;ext=1\nhello\r\n0\r\n\r\n")
        self.assertEqual(r.status, 400)
        r = self.chunked(b"5;a\n=b\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(r.status, 400)
        self.assert_still_serving()

    def test_chunk_size_overflow_is_refused(self):
        for size in (b"FFFFFFFFFFFFFFFFF", b"10000000000000000", b"-1", b"0x10"):
            with self.subTest(size=size):
                r = self.chunked(size + b"\r\nhello\r\n0\r\n\r\n")
                self.assertEqual(r.status, 400)
        self.assert_still_serving()

    def test_good_chunked_body_with_trailer_passes(self):
        r = self.chunked(b"5;name=value\r\nhello\r\n0\r\nChecksum: abc\r\n\r\n")
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertEqual(body["body_length"], 5)
        self.assertEqual(body["trailers"], [["Checksum", "abc"]])

    # -- limits one byte under and over

    def head_with_field(self, length):
        """A request whose one X-Pad header line (name, colon, space, value) is `length`
        bytes long, CRLF not counted."""
        value = b"v" * (length - len(b"X-Pad: "))
        return b"GET /limits HTTP/1.1\r\nHost: x\r\nX-Pad: " + value + b"\r\n\r\n"

    def test_header_field_limit_boundary(self):
        self.assertEqual(self.raw(self.head_with_field(MAX_FIELD_LENGTH)).status, 200)
        r = self.raw(self.head_with_field(MAX_FIELD_LENGTH + 1))
        self.assertEqual(r.status, 400)
        self.assertIn(b"Header Field Too Long", r.body)
        self.wait_log(lambda e: e.s_reason == "FieldLength")

    def head_of_size(self, total):
        """A request head of exactly `total` bytes, blank line included, in short fields."""
        head = b"GET /limits HTTP/1.1\r\nHost: x\r\n"
        i = 0
        while total - len(head) - 2 > 600:
            head += b"X-F%03d: %s\r\n" % (i, b"a" * 500)
            i += 1
        rest = total - len(head) - 2 - len(b"X-Last: \r\n")
        head += b"X-Last: " + b"b" * rest + b"\r\n\r\n"
        assert len(head) == total, len(head)
        return head

    def test_request_bytes_limit_boundary(self):
        self.assertEqual(self.raw(self.head_of_size(MAX_REQUEST_BYTES)).status, 200)
        r = self.raw(self.head_of_size(MAX_REQUEST_BYTES + 1))
        self.assertEqual(r.status, 400)
        self.assertIn(b"Request Too Long", r.body)
        self.wait_log(lambda e: e.s_reason == "RequestLength")

    def test_ten_thousand_tiny_headers(self):
        head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"a: b\r\n" * 10000 + b"\r\n"
        r = self.raw(head)
        self.assertEqual(r.status, 400)
        self.assertIn(b"Request Too Long", r.body)
        self.assert_still_serving()

    def test_one_mebibyte_request_line_keeps_memory_bounded(self):
        pid = self.service.pid
        before = rss_kib(pid)
        for _ in range(20):
            r = self.raw(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(r.status, (400, 414))
        grown = rss_kib(pid) - before
        # 20 MiB were sent; the service may hold one request head at a time.
        self.assertLess(grown, 16 * 1024, f"httpapid grew by {grown} KiB")
        self.assert_still_serving()

    def test_slowloris_connections_do_not_block_others(self):
        idle = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
            idle.append(s)
        try:
            self.assert_still_serving()
        finally:
            for s in idle:
                s.close()


class SlowReaderTest(ServiceTestCase):
    """A client that reads slowly while the application sends fast: the service holds about
    1 MiB for the connection and makes the application wait, instead of buffering the whole
    response; the response arrives complete."""

    def test_fast_application_slow_client(self):
        port = free_port()
        mib = 48
        self.start_app([binary("HTTPAPI_BIG_RESPONSE"), f"http://+:{port}/big/", str(mib)],
                       "big")
        pid = self.service.pid
        before = rss_kib(pid)
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"GET /big/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(2)  # the application could have sent everything by now
        grown = rss_kib(pid) - before
        self.assertLess(grown, 12 * 1024, f"httpapid buffered {grown} KiB for a slow client")
        data = bytearray()
        s.settimeout(30)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        s.close()
        end_of_head = data.index(b"\r\n\r\n") + 4
        self.assertIn(b"Transfer-Encoding: chunked", data[:end_of_head])
        payload = bytearray()
        at = end_of_head
        while True:  # de-chunk in place: 48 MiB sliced per chunk would take minutes
            line_end = data.index(b"\r\n", at)
            size = int(data[at:line_end], 16)
            if size == 0:
                break
            payload += data[line_end + 2:line_end + 2 + size]
            at = line_end + 2 + size + 2
        self.assertEqual(len(payload), mib * 1024 * 1024)
        self.assertEqual(payload[:26], b"abcdefghijklmnopqrstuvwxyz")
        # The service still answers the next request (its head is enough: reading another
        # 48 MiB through the Python harness would only measure the harness).
        again = Conn(port, timeout=30)
        self.conns.append(again)
        again.send(b"GET /big/ HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(again.read_head()[1], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
