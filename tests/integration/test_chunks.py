#!/usr/bin/env python3
"""Body chunks (issue 6 item 2 and 7): memory, file descriptors passed with SCM_RIGHTS and
sent by httpapid with sendfile, fragments of the fragment cache; the fragment cache's add,
read back, ownership and flush. The application is tests/integration/apps/chunks_app.c; the
files are made here with random bytes and every body is compared byte for byte."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port, wait_until  # noqa: E402

FILE_SIZE = 3 * 1024 * 1024 + 17  # over one 1 MiB protocol piece, not a round number
BIG_SIZE = 64 * 1024 * 1024


class Chunks(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.file = os.path.join(self.tmp, "data.bin")
        self.data = os.urandom(FILE_SIZE)
        with open(self.file, "wb") as f:
            f.write(self.data)
        self.big = os.path.join(self.tmp, "big.bin")
        with open(self.big, "wb") as f:
            f.truncate(BIG_SIZE)
        self.prefix = f"http://127.0.0.1:{self.port}/c/"
        self.app = self.start_app([binary("HTTPAPI_CHUNKS_APP"), self.prefix, self.file, self.big],
                                  "chunks-app")
        self.conn = harness.Conn(self.port)
        self.conns.append(self.conn)

    def get(self, path, headers=None, method="GET", version="HTTP/1.1"):
        return self.conn.request(method, "/c" + path, headers=headers, version=version)

    def text(self, path):
        r = self.get(path)
        return r.body.decode()

    def service_descriptors(self):
        return len(os.listdir(f"/proc/{self.service.pid}/fd"))

    # -- file chunks

    def test_whole_file_gets_its_length_from_the_service(self):
        r = self.get("/file")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), str(FILE_SIZE))
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.body, self.data)

    def test_file_ranges_at_odd_offsets(self):
        for offset, length in [(0, 1), (1, 4095), (4095, 65537), (FILE_SIZE - 3, 3),
                               (1024 * 1024 - 1, 2 * 1024 * 1024)]:
            r = self.get(f"/file-range/{offset}/{length}")
            self.assertEqual(r.status, 200, (offset, length))
            self.assertEqual(r.body, self.data[offset:offset + length], (offset, length))

    def test_keep_alive_continues_after_file_bodies(self):
        for _ in range(20):
            self.assertEqual(self.get("/file-range/7/100").body, self.data[7:107])
        self.assertEqual(self.text("/served"), "21")

    def test_memory_file_and_fragment_in_one_response(self):
        self.assertEqual(self.text("/add/a"), "HTTPAPI_OK")
        r = self.get("/mixed")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"<" + self.data[:10] + b"|fragment a v1>")
        self.assertEqual(r.header("Content-Length"), str(len(r.body)))

    def test_streamed_file_chunks_are_chunk_encoded(self):
        r = self.get("/stream")
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(r.body, self.data[:15] + b"end")

    def test_streamed_file_chunks_to_http10_are_delimited_by_close(self):
        r = self.get("/stream", version="HTTP/1.0")
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.body, self.data[:15] + b"end")

    def test_head_gets_the_length_and_no_bytes(self):
        self.conn.send(b"HEAD /c/file HTTP/1.1\r\nHost: x\r\n\r\n")
        r = self.conn.read_response(head_request=True)
        self.assertEqual(r.header("Content-Length"), str(FILE_SIZE))
        self.assertEqual(r.body, b"")
        self.assertEqual(self.get("/file-range/0/3").body, self.data[:3])  # still in step
        self.conn.send(b"HEAD /c/file-range/0/0 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = self.conn.read_response(head_request=True)
        self.assertEqual(r.header("Content-Length"), "0")  # an empty file, given as a chunk

    def test_sixty_four_file_chunks(self):
        self.assertEqual(self.get("/many").body, self.data[:64])

    def test_ranges_are_cut_from_the_file(self):
        r = self.get("/ranges", headers=[("Range", "bytes=1000-1999")])
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), f"bytes 1000-1999/{FILE_SIZE}")
        self.assertEqual(r.body, self.data[1000:2000])
        r = self.get("/ranges", headers=[("Range", "bytes=0-0,-2")])
        self.assertEqual(r.status, 206)
        self.assertTrue(r.header("Content-Type").startswith("multipart/byteranges; boundary="))
        self.assertIn(self.data[:1], r.body)
        self.assertIn(b"Content-Range: bytes %d-%d/%d" % (FILE_SIZE - 2, FILE_SIZE - 1, FILE_SIZE),
                      r.body)
        self.assertTrue(r.body.rstrip().endswith(b"--"))
        r = self.get("/ranges", headers=[("Range", f"bytes={FILE_SIZE}-")])
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), f"bytes */{FILE_SIZE}")
        r = self.get("/ranges", headers=[("Range", "bytes=5-9"), ("If-Range", '"other"')])
        self.assertEqual((r.status, len(r.body)), (200, FILE_SIZE))

    def test_a_file_response_is_cached_and_served_without_the_application(self):
        first = self.get("/cached")
        self.assertEqual(first.body, self.data[:100])
        second = self.get("/cached")
        self.assertEqual(second.body, self.data[:100])
        self.assertEqual(self.text("/served"), "2")  # /cached once, then /served

    def test_calls_that_must_fail(self):
        report = dict(item.split("=") for item in self.text("/errors").split())
        self.assertEqual(report, {
            "pipe": "HTTPAPI_ERROR_INVALID_PARAMETER",
            "past": "HTTPAPI_ERROR_INVALID_PARAMETER",
            "kind": "HTTPAPI_ERROR_INVALID_PARAMETER",
            "many": "HTTPAPI_ERROR_INVALID_PARAMETER",
            "ranged-fragment": "HTTPAPI_ERROR_INVALID_PARAMETER",
            "closed": "HTTPAPI_ERROR_INVALID_PARAMETER"})

    def test_no_descriptor_is_kept_after_the_responses(self):
        self.get("/file-range/0/10")
        before = self.service_descriptors()
        for _ in range(50):
            self.get("/many")
            self.get("/mixed")  # fragment missing: answered 500 NOT_FOUND by the app
        self.assertEqual(self.service_descriptors(), before)

    def test_pipelined_file_responses_stay_in_order(self):
        self.conn.send(b"".join(b"GET /c/file-range/%d/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (i, i + 1)
                                for i in range(5)))
        for i in range(5):
            self.assertEqual(self.conn.read_response().body, self.data[i:2 * i + 1])

    def test_a_client_that_leaves_mid_file_frees_the_descriptor(self):
        self.get("/file-range/0/10")
        before = self.service_descriptors()
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /c/big HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # a reset in the middle of 64 MiB
        wait_until(lambda: self.service_descriptors() == before, 5,
                   what="httpapid closed the connections and their files")

    def test_a_file_that_shrinks_while_sent_ends_the_connection(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"GET /c/big HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        self.assertIn(b"Content-Length: %d" % BIG_SIZE, head)
        got = len(head.split(b"\r\n\r\n", 1)[1])
        while got < 1024 * 1024:
            got += len(s.recv(65536))
        os.truncate(self.big, 2 * 1024 * 1024)
        s.settimeout(10)
        while True:
            piece = s.recv(1 << 20)
            if not piece:
                break
            got += len(piece)
        self.assertLess(got, BIG_SIZE)  # closed early: the client can tell it is incomplete
        self.wait_log(lambda e: e.s_reason == "Internal", what="Internal for the short file")
        self.assertEqual(self.text("/served"), "2")  # the service and application go on

    # -- fragments

    def test_fragment_add_read_and_replace(self):
        self.assertEqual(self.text("/add/b"), "HTTPAPI_OK")
        self.assertEqual(self.text("/read/b"), "fragment b v1")
        self.assertEqual(self.text("/read/b/9/1"), "b")
        self.assertEqual(self.text("/read/b/11/100"), "v1")
        self.assertEqual(self.text("/read-small/b"), "MORE_DATA 13")
        self.assertEqual(self.text("/add/b"), "HTTPAPI_OK")
        self.assertEqual(self.text("/read/b"), "fragment b v2")
        self.assertEqual(self.text("/send/b"), "[fragment b v2]")
        self.assertEqual(self.get("/read/b/99/1").status, 404)  # offset past the end

    def test_missing_fragment_lets_the_application_fall_back(self):
        self.assertEqual(self.text("/read/nothing"), "HTTPAPI_ERROR_NOT_FOUND")
        self.assertEqual(self.text("/send/nothing"), "fallback")

    def test_flush_removes_a_fragment(self):
        self.assertEqual(self.text("/add/c"), "HTTPAPI_OK")
        self.assertEqual(self.text("/flush/c"), "HTTPAPI_OK 1")
        self.assertEqual(self.text("/send/c"), "fallback")

    def test_fragment_limits_and_ownership(self):
        self.assertEqual(self.text("/add-big/d"), "HTTPAPI_ERROR_TOO_LARGE")
        self.assertEqual(self.text("/add-foreign"), "HTTPAPI_ERROR_ACCESS_DENIED")
        self.assertEqual(self.text("/add/e"), "HTTPAPI_OK")
        # Another queue, registered under the same prefix's parent, cannot see the fragment.
        other = f"http://127.0.0.1:{self.port}/c/fragments/"
        self.start_app([binary("HTTPAPI_CHUNKS_APP"), other, self.file, self.big], "other")
        conn = harness.Conn(self.port)
        self.conns.append(conn)
        # its own fragment names are PREFIX "fragments/" NAME = /c/fragments/fragments/NAME;
        # reading "../e" is not possible through its API, so read /c/fragments/e directly.
        r = conn.request("GET", "/c/fragments/read/e")
        self.assertEqual(r.body.decode(), "HTTPAPI_ERROR_NOT_FOUND")

    def test_cachestate_lists_fragments(self):
        self.assertEqual(self.text("/add/f"), "HTTPAPI_OK")
        argv = [binary("HTTPCFG"), "--state-dir", self.state_dir, "show", "cachestate", "--json"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        fragments = json.loads(out.stdout)["fragments"]["entries"]
        self.assertEqual([f["name"] for f in fragments], [f"127.0.0.1:{self.port}/c/fragments/f"])
        self.assertEqual(fragments[0]["bytes"], len("fragment f v1"))


if __name__ == "__main__":
    harness.main()
