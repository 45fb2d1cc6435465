#!/usr/bin/env python3
"""Request bodies (issue 2 items 2 and 8): chunked uploads in uneven pieces over a raw
socket and through curl, Content-Length uploads, Expect: 100-continue."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, curl, free_port, sha256_hex  # noqa: E402

MB = 1024 * 1024


def payload(n, seed):
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n)) if n < 4096 else rng.randbytes(n)


def chunked(body, sizes, extension_every=0):
    """Encodes body as chunks of the given sizes (cycled), optionally with chunk extensions."""
    out = []
    i = k = 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        piece = body[i:i + n]
        ext = ";name=value" if extension_every and k % extension_every == 0 else ""
        out.append(b"%x%s\r\n%s\r\n" % (len(piece), ext.encode(), piece))
        i += n
        k += 1
    out.append(b"0\r\n\r\n")
    return b"".join(out)


class Bodies(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.start_echo(f"http://+:{self.port}/b/", name="B")
        self.file = os.path.join(self.tmp, "upload.bin")

    def check(self, j, body, app="A"):
        self.assertEqual(j["app"], app)
        self.assertEqual(j["body_length"], len(body))
        self.assertEqual(j["body_sha256"], sha256_hex(body))

    def test_chunked_1mb_uneven_chunks_raw_socket(self):
        body = payload(MB, 1)
        rng = random.Random(2)
        sizes = [rng.choice([1, 7, 100, 1000, 4095, 8193, 65536, 70001, 300000]) for _ in range(64)]
        wire = chunked(body, sizes)
        c = self.conn(self.port, timeout=30)
        c.send(f"POST /a/chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        # uneven writes too, cutting through size lines and CRLFs
        i = 0
        while i < len(wire):
            n = rng.choice([3, 17, 1024, 9000, 65000, 131072])
            c.send(wire[i:i + n])
            i += n
        r = c.read_response(timeout=30)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.check(j, body)
        self.assertIn(["Transfer-Encoding", "chunked"], j["headers"])
        # the connection stays usable after a chunked body
        self.assertEqual(c.request("GET", "/b/next").json()["app"], "B")

    def test_chunked_with_extensions_and_trailer(self):
        body = payload(5000, 3)
        wire = chunked(body, [1000, 999, 1], extension_every=2)
        wire = wire[:-2] + b"X-Trailer: t\r\n\r\n"   # 0\r\n + trailer + \r\n
        c = self.conn(self.port)
        c.send(b"POST /b/ext HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + wire)
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.check(j, body, "B")
        if "trailers" in j:  # echo reports request trailers since they were added
            self.assertEqual(j["trailers"], [["X-Trailer", "t"]])
        self.assertEqual(c.request("GET", "/a/after").status, 200)

    def test_chunked_upload_via_curl(self):
        body = payload(MB + 12345, 4)
        with open(self.file, "wb") as f:
            f.write(body)
        res = curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{self.file}",
                   f"http://127.0.0.1:{self.port}/b/curl-chunked")
        self.assertEqual(res.returncode, 0, res.stderr)
        j = harness.json.loads(res.stdout)
        self.check(j, body, "B")
        self.assertIn(["Transfer-Encoding", "chunked"], j["headers"])

    def test_content_length_upload_raw_socket(self):
        body = payload(MB, 5)
        c = self.conn(self.port, timeout=30)
        c.send(f"PUT /a/cl HTTP/1.1\r\nHost: h\r\nContent-Length: {len(body)}\r\n\r\n")
        for i in range(0, len(body), 50000):
            c.send(body[i:i + 50000])
        r = c.read_response(timeout=30)
        self.check(r.json(), body)
        # and an empty body with Content-Length: 0
        r = c.request("POST", "/b/empty", headers=[("Content-Length", "0")])
        self.check(r.json(), b"", "B")

    def test_content_length_upload_via_curl(self):
        body = payload(3 * MB + 1, 6)
        with open(self.file, "wb") as f:
            f.write(body)
        res = curl("-H", "Expect:", "--data-binary", f"@{self.file}",
                   f"http://127.0.0.1:{self.port}/a/curl-cl")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.check(harness.json.loads(res.stdout), body)

    def test_expect_100_continue_raw_socket(self):
        body = payload(200000, 7)
        c = self.conn(self.port)
        c.send(f"POST /a/expect HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
               f"Content-Length: {len(body)}\r\n\r\n")
        # Nothing of the body is sent until the interim response arrives.
        version, status, reason, headers, raw = c.read_head(timeout=5)
        self.assertEqual(raw, b"HTTP/1.1 100 Continue\r\n\r\n")
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.check(r.json(), body)
        self.assertIn(["Expect", "100-continue"], r.json()["headers"])

    def test_expect_100_continue_chunked_raw_socket(self):
        body = payload(100000, 8)
        c = self.conn(self.port)
        c.send(b"POST /b/expect HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        _, status, _, _, raw = c.read_head(timeout=5)
        self.assertEqual(raw, b"HTTP/1.1 100 Continue\r\n\r\n")
        c.send(chunked(body, [4096, 333]))
        r = c.read_response()
        self.check(r.json(), body, "B")

    def test_expect_100_continue_via_curl(self):
        body = payload(2 * MB, 9)
        with open(self.file, "wb") as f:
            f.write(body)
        # a long expect timeout: curl would otherwise send the body after 1 s anyway
        res = curl("-i", "-H", "Expect: 100-continue", "--expect100-timeout", "20",
                   "--data-binary", f"@{self.file}", f"http://127.0.0.1:{self.port}/a/curl-expect")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(res.stdout.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
                        res.stdout[:200])
        self.check(harness.json.loads(res.stdout.split(b"\r\n\r\n", 2)[2]), body)

    def test_two_uploads_pipelined_to_both_apps(self):
        b1, b2 = payload(70000, 10), payload(90001, 11)
        c = self.conn(self.port)
        c.send(harness.build_request("POST", "/a/1", body=b1) +
               b"POST /b/2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunked(b2, [30000, 1]))
        self.check(c.read_response().json(), b1, "A")
        self.check(c.read_response().json(), b2, "B")


if __name__ == "__main__":
    harness.main()
