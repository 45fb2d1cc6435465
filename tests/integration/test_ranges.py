#!/usr/bin/env python3
"""Range requests answered by the library for HTTPAPI_SEND_FLAG_PROCESS_RANGES (issue 6 item
3): single ranges, multipart/byteranges, 416, If-Range, and every overflow form of
MS15-034, over raw sockets and curl. The representation is 100 bytes of "0123456789"."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, curl, free_port  # noqa: E402

BODY = b"0123456789" * 10
LAST_MODIFIED = "Tue, 03 Nov 2026 10:00:00 GMT"


class Ranges(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), f"http://127.0.0.1:{self.port}/r/"],
                       "response-features")
        self.conn = harness.Conn(self.port)
        self.conns.append(self.conn)

    def get(self, *headers, method="GET"):
        return self.conn.request(method, "/r/ranges", headers=list(headers))

    def assert_partial(self, range_value, first, last):
        r = self.get(("Range", range_value))
        self.assertEqual(r.status, 206, range_value)
        self.assertEqual(r.header("Content-Range"), f"bytes {first}-{last}/100")
        self.assertEqual(r.header("Content-Length"), str(last - first + 1))
        self.assertEqual(r.body, BODY[first:last + 1])
        self.assertEqual(r.header("ETag"), '"v1"')

    def assert_whole(self, *headers):
        r = self.get(*headers)
        self.assertEqual((r.status, r.body), (200, BODY), headers)
        self.assertEqual(r.header("Accept-Ranges"), "bytes")
        self.assertIsNone(r.header("Content-Range"))

    def assert_unsatisfiable(self, range_value):
        r = self.get(("Range", range_value))
        self.assertEqual(r.status, 416, range_value)
        self.assertEqual(r.header("Content-Range"), "bytes */100")
        self.assertEqual(r.body, b"")

    def test_without_range_the_whole_representation(self):
        self.assert_whole()

    def test_single_ranges(self):
        self.assert_partial("bytes=0-10", 0, 10)
        self.assert_partial("bytes=90-", 90, 99)
        self.assert_partial("bytes=-5", 95, 99)
        self.assert_partial("bytes=10-2000", 10, 99)
        self.assert_partial("bytes=200-300, 3-4", 3, 4)  # the unsatisfiable member is dropped

    def test_multiple_ranges_are_multipart(self):
        r = self.get(("Range", "bytes=0-10,15-20"))
        self.assertEqual(r.status, 206)
        m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.header("Content-Type"))
        self.assertIsNotNone(m, r.header("Content-Type"))
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        boundary = m.group(1).encode()
        parts = r.body.split(b"--" + boundary)
        self.assertEqual(parts[0], b"\r\n")
        self.assertEqual(parts[-1], b"--\r\n")
        expected = [(0, 10), (15, 20)]
        self.assertEqual(len(parts) - 2, len(expected))
        for part, (first, last) in zip(parts[1:-1], expected):
            head, _, data = part.partition(b"\r\n\r\n")
            self.assertIn(b"Content-Type: text/plain", head)
            self.assertIn(b"Content-Range: bytes %d-%d/100" % (first, last), head)
            self.assertEqual(data, BODY[first:last + 1] + b"\r\n")

    def test_unsatisfiable_is_416_and_keeps_the_connection(self):
        self.assert_unsatisfiable("bytes=100-")
        self.assert_unsatisfiable("bytes=100-200")
        self.assert_unsatisfiable("bytes=-0")
        self.assert_whole()

    def test_ms15_034_overflow_forms(self):
        self.assert_partial("bytes=0-18446744073709551615", 0, 99)
        self.assert_partial("bytes=18-18446744073709551615", 18, 99)
        self.assert_partial("bytes=0-18446744073709551616", 0, 99)
        self.assert_partial("bytes=-18446744073709551615", 0, 99)
        self.assert_partial("bytes=-99999999999999999999999999", 0, 99)
        self.assert_unsatisfiable("bytes=18446744073709551615-")
        self.assert_unsatisfiable("bytes=18446744073709551615-18446744073709551615")
        self.assert_unsatisfiable("bytes=99999999999999999999999-")
        self.assertTrue(self.service.alive())

    def test_invalid_or_foreign_ranges_are_ignored(self):
        for value in ("bytes=5-1", "bytes=", "bytes=1-2-3", "bytes 0-1", "items=0-1",
                      "bytes=0-0," + ",".join(f"{i}-{i}" for i in range(2, 140, 2)),
                      "bytes=0-,0-,0-", "bytes=0-60,40-99"):
            self.assert_whole(("Range", value))

    def test_if_range(self):
        self.assert_partial_with(("If-Range", '"v1"'))
        self.assert_partial_with(("If-Range", LAST_MODIFIED))
        self.assert_whole(("Range", "bytes=0-10"), ("If-Range", '"v2"'))
        self.assert_whole(("Range", "bytes=0-10"), ("If-Range", 'W/"v1"'))
        self.assert_whole(("Range", "bytes=0-10"), ("If-Range", "Wed, 04 Nov 2026 10:00:00 GMT"))

    def assert_partial_with(self, if_range):
        r = self.get(("Range", "bytes=0-10"), if_range)
        self.assertEqual((r.status, r.body), (206, BODY[:11]), if_range)

    def test_head_is_not_ranged(self):
        r = self.get(("Range", "bytes=0-10"), method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "100")

    def test_curl_range(self):
        out = curl("-r", "5-14", f"http://127.0.0.1:{self.port}/r/ranges").stdout
        self.assertEqual(out, BODY[5:15])

    def test_process_ranges_needs_the_whole_representation(self):
        r = self.conn.request("GET", "/r/ranges-stream")
        self.assertEqual(r.body, b"HTTPAPI_ERROR_INVALID_PARAMETER")


if __name__ == "__main__":
    harness.main()
