#!/usr/bin/env python3
"""Streamed responses with httpapi-counter (issue 2 item 6): a response sent in several calls
with HTTPAPI_SEND_FLAG_MORE_DATA and no Content-Length is chunked for HTTP/1.1 clients and
delimited by close for HTTP/1.0."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, build_request, curl, free_port, parse_curl_head  # noqa: E402


def visited(path, n):
    return f"{path} has been visited {n} time{'' if n == 1 else 's'}\n".encode()


class Counter(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_counter(f"http://+:{self.port}/count/")
        self.start_echo(f"http://+:{self.port}/echo/", name="E")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def test_curl_decodes_chunked_body(self):
        for n in (1, 2, 3):
            res = curl("-D", "-", self.url("/count/x"))
            self.assertEqual(res.returncode, 0, res.stderr)
            head, _, body = res.stdout.partition(b"\r\n\r\n")
            status, headers = parse_curl_head(head + b"\r\n\r\n")[0]
            self.assertEqual(status, 200)
            h = {k.lower(): v for k, v in headers}
            self.assertEqual(h.get("transfer-encoding"), "chunked")
            self.assertNotIn("content-length", h)
            self.assertEqual(h.get("content-type"), "text/plain")
            # curl -D - writes the trailer fields after the body
            self.assertEqual(body, visited("/count/x", n) + b"X-Visits: %d\r\n" % n)
        # the stream ends with the count as a trailer field
        raw = curl("--raw", self.url("/count/x")).stdout
        self.assertTrue(raw.endswith(b"\r\n0\r\nX-Visits: 4\r\n\r\n"), raw[-60:])
        # another path has its own count; the cooked path is what the app sees
        res = curl(self.url("/count/%79"))
        self.assertEqual(res.stdout, visited("/count/y", 1))

    def test_chunked_framing_on_the_wire(self):
        c = self.conn(self.port)
        r = c.request("GET", "/count/wire")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.header("Content-Length"))
        self.assertTrue(r.complete)
        self.assertGreaterEqual(len(r.chunks), 2, "sent in two pieces")
        self.assertEqual(r.chunks[0], b"/count/wire has been visited ")
        self.assertEqual(r.body, visited("/count/wire", 1))
        # keep-alive continues after a chunked answer, also to another app
        self.assertEqual(c.request("GET", "/count/wire").body, visited("/count/wire", 2))
        self.assertEqual(c.request("GET", "/echo/").json()["app"], "E")

    def test_pipelined_chunked_answers(self):
        c = self.conn(self.port)
        c.send(build_request("GET", "/count/p") + build_request("GET", "/echo/1") +
               build_request("GET", "/count/p"))
        self.assertEqual(c.read_response().body, visited("/count/p", 1))
        self.assertEqual(c.read_response().json()["raw_url"], "/echo/1")
        self.assertEqual(c.read_response().body, visited("/count/p", 2))

    def test_http10_gets_close_delimited_body(self):
        c = self.conn(self.port)
        c.send(b"GET /count/old HTTP/1.0\r\n\r\n")
        version, status, reason, headers, raw = c.read_head()
        self.assertEqual(status, 200)
        names = [n.lower() for n, _ in headers]
        self.assertNotIn("transfer-encoding", names)
        self.assertNotIn("content-length", names)
        self.assertIn(("Connection", "close"), headers)
        body = c.read_to_close(harness.time.monotonic() + 5)
        self.assertEqual(body, visited("/count/old", 1))
        # even when the HTTP/1.0 client asks for keep-alive: the body can only end by close
        c = self.conn(self.port)
        c.send(b"GET /count/old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _, _, _, headers, _ = c.read_head()
        self.assertNotIn("content-length", [n.lower() for n, _ in headers])
        self.assertEqual(c.read_to_close(harness.time.monotonic() + 5), visited("/count/old", 2))

    def test_curl_http10(self):
        res = curl("--http1.0", "-i", self.url("/count/c10"))
        self.assertEqual(res.returncode, 0, res.stderr)
        head, _, body = res.stdout.partition(b"\r\n\r\n")
        self.assertNotIn(b"chunked", head.lower())
        self.assertEqual(body, visited("/count/c10", 1))

    def test_head_to_streaming_app(self):
        c = self.conn(self.port)
        c.send(build_request("HEAD", "/count/h") + build_request("GET", "/echo/after-head"))
        r = c.read_response(head_request=True)
        self.assertEqual(r.status, 200)
        # the next response starts right after the head: no body bytes for HEAD
        self.assertEqual(c.read_response().json()["raw_url"], "/echo/after-head")


if __name__ == "__main__":
    harness.main()
