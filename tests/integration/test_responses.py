#!/usr/bin/env python3
"""Responses (issue 6 items 1 and 4): trailers on chunked responses, 1xx interim responses
(103 Early Hints, an application's own 100 Continue), the opt-out of automatic chunking,
and BUFFER_DATA coalescing, checked byte for byte on raw sockets and with curl."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, curl, free_port  # noqa: E402


class Responses(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), f"http://127.0.0.1:{self.port}/r/"],
                       "response-features")

    def connect(self):
        conn = harness.Conn(self.port)
        self.conns.append(conn)
        return conn

    def test_trailers_follow_the_last_chunk(self):
        conn = self.connect()
        conn.send(b"GET /r/trailers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response()
        self.assertEqual(response.header("Transfer-Encoding"), "chunked")
        self.assertEqual(response.body, b"alpha,beta,gamma")
        # Read the wire again to see the trailer section itself.
        conn.send(b"GET /r/trailers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        deadline = time.monotonic() + 10
        wire = conn.read_until(b"\r\n0\r\n", deadline)
        wire += conn.read_until(b"\r\n\r\n", deadline)
        self.assertTrue(wire.endswith(b"0\r\nX-Checksum: alpha,beta,gamma\r\nX-Pieces: 3\r\n\r\n"),
                        wire[-120:])
        # The connection stays usable: the trailer section ended the message exactly.
        self.assertEqual(conn.request("GET", "/r/hints").body, b"final")

    def test_curl_reads_the_trailers(self):
        out = curl("--raw", "-i", f"http://127.0.0.1:{self.port}/r/trailers").stdout
        self.assertIn(b"X-Checksum: alpha,beta,gamma", out)

    def test_trailers_are_dropped_when_the_response_is_not_chunked(self):
        # An HTTP/1.0 client gets the body delimited by close and no trailer section.
        conn = self.connect()
        conn.send(b"GET /r/trailers HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response()
        self.assertIsNone(response.header("Transfer-Encoding"))
        self.assertEqual(response.body, b"alpha,beta,gamma")
        self.assertTrue(conn.wait_closed())

    def test_invalid_trailers_are_refused_by_the_library(self):
        response = harness.http(self.port, path="/r/bad-trailers")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"HTTPAPI_ERROR_INVALID_STATE HTTPAPI_ERROR_INVALID_PARAMETER "
                                        b"HTTPAPI_ERROR_INVALID_PARAMETER")

    def test_early_hints_then_the_final_response(self):
        conn = self.connect()
        conn.send(b"GET /r/hints HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        interim = conn.read_response(allow_interim=True)
        self.assertEqual(interim.status, 103)
        self.assertEqual(interim.header("Link"), "</style.css>; rel=preload; as=style")
        self.assertIsNone(interim.header("Content-Length"))
        final = conn.read_response()
        self.assertEqual((final.status, final.body), (200, b"final"))

    def test_no_interim_response_for_http_1_0(self):
        conn = self.connect()
        conn.send(b"GET /r/hints HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response(allow_interim=True)
        self.assertEqual((response.status, response.body), (200, b"final"))

    def test_curl_sees_early_hints(self):
        out = curl("-i", f"http://127.0.0.1:{self.port}/r/hints").stdout
        self.assertTrue(out.startswith(b"HTTP/1.1 103 Early Hints"), out[:200])
        self.assertIn(b"HTTP/1.1 200 OK", out)

    def test_applications_100_continue_is_sent_once(self):
        conn = self.connect()
        conn.send(b"POST /r/continue HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        interim = conn.read_response(allow_interim=True)
        self.assertEqual(interim.status, 100)
        conn.send(b"hello")
        final = conn.read_response(allow_interim=True)
        self.assertEqual((final.status, final.body), (200, b"5"))
        # Nothing else (no second 100) arrived before or after the final response.
        self.assertEqual(conn.request("GET", "/r/hints").body, b"final")

    def test_no_auto_chunking_delimits_by_close(self):
        conn = self.connect()
        conn.send(b"GET /r/nochunk HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response()
        self.assertIsNone(response.header("Transfer-Encoding"))
        self.assertIsNone(response.header("Content-Length"))
        self.assertEqual(response.header("Connection"), "close")
        self.assertEqual(response.body, b"alpha,beta,gamma")
        self.assertTrue(response.complete)

    def test_default_streaming_is_chunked_and_keeps_the_connection(self):
        conn = self.connect()
        response = conn.request("GET", "/r/unbuffered/3")
        self.assertEqual(response.header("Transfer-Encoding"), "chunked")
        self.assertEqual(len(response.chunks), 3)
        self.assertEqual(conn.request("GET", "/r/hints").body, b"final")

    def test_buffer_data_coalesces_small_sends(self):
        conn = self.connect()
        plain = conn.request("GET", "/r/unbuffered/500")
        buffered = conn.request("GET", "/r/buffered/500")
        expected = b"".join(b"%09d," % i for i in range(500))
        self.assertEqual(plain.body, expected)
        self.assertEqual(buffered.body, expected)
        self.assertEqual(len(plain.chunks), 500)
        # 5,000 bytes held in the library go out as one piece with the final call.
        self.assertEqual(len(buffered.chunks), 1)

    def test_buffer_data_flushes_at_the_threshold(self):
        conn = self.connect()
        buffered = conn.request("GET", "/r/buffered/5000")  # 50,000 bytes, 16 KiB at a time
        self.assertEqual(buffered.body, b"".join(b"%09d," % i for i in range(5000)))
        self.assertGreaterEqual(len(buffered.chunks), 3)
        self.assertLessEqual(len(buffered.chunks), 5)


class Opaque(ServiceTestCase):
    """HTTPAPI_SEND_FLAG_OPAQUE (issue 6 item 5, conformance cases A076-A078)."""

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), f"http://127.0.0.1:{self.port}/r/"],
                       "response-features")

    def upgrade(self, method="GET", extra=b""):
        conn = harness.Conn(self.port)
        self.conns.append(conn)
        conn.send(b"%s /r/opaque HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (method.encode(), extra))
        return conn

    def test_bytes_flow_both_ways_after_101(self):
        for method in ("GET", "OPTIONS", "CUSTOMVERB", "DELETE"):
            conn = self.upgrade(method)
            version, status, _, headers, _ = conn.read_head()
            self.assertEqual(status, 101, method)
            self.assertIn(("Upgrade", "echo"), headers)
            deadline = time.monotonic() + 10
            payload = bytes(range(49))  # not HTTP: raw bytes, CR and LF included
            conn.send(payload)
            self.assertEqual(conn.read_exact(49, deadline), payload)
            # 3 MiB more in 64 KiB turns: far beyond any body limit.
            piece = bytes(i % 251 for i in range(65536))
            for _ in range(48):
                conn.send(piece)
                self.assertEqual(conn.read_exact(len(piece), time.monotonic() + 10), piece)
            conn.sock.shutdown(harness.socket.SHUT_WR)
            self.assertEqual(conn.read_to_close(time.monotonic() + 10), b"bye")

    def test_no_body_limit_after_upgrade(self):
        self.httpcfg_set("max_body_bytes", "10")
        conn = self.upgrade()
        self.assertEqual(conn.read_head()[1], 101)
        conn.send(b"fifteen bytes!!")
        self.assertEqual(conn.read_exact(15, time.monotonic() + 10), b"fifteen bytes!!")

    def test_requests_with_a_body_are_not_upgraded(self):
        conn = self.upgrade("POST", b"Content-Length: 10\r\n")
        conn.send(b"0123456789")
        response = conn.read_response()
        self.assertEqual((response.status, response.body), (400, b"HTTPAPI_ERROR_INVALID_STATE"))

    def httpcfg_set(self, key, value):
        import subprocess
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                            "--key", key, "--value", value], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    harness.main()
