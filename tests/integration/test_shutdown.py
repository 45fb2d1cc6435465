#!/usr/bin/env python3
"""SIGTERM of the service (issue 2 items 2 and 8): it stops accepting at once, finishes the
in-flight responses within the shutdown timeout, closes idle connections, and exits 0."""

import errno
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, build_request, connect_result, free_port, wait_until  # noqa: E402


class Shutdown(ServiceTestCase):
    SHUTDOWN_TIMEOUT = 3

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.start_echo(f"http://+:{self.port}/b/", name="B")

    def start_slow_post(self, path, first=b"0123456789", total=20):
        c = self.conn(self.port)
        c.send(f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {total}\r\n\r\n".encode() + first)
        time.sleep(0.4)  # delivered to the app, which now waits for the rest of the body
        return c

    def test_sigterm_finishes_inflight_refuses_new_exits_0(self):
        idle = self.conn(self.port)
        self.assertEqual(idle.request("GET", "/b/idle").status, 200)
        slow_a = self.start_slow_post("/a/slow")
        slow_b = self.start_slow_post("/b/slow", b"abc", 6)

        t0 = time.monotonic()
        self.service.send_signal(signal.SIGTERM)
        # New connections are refused from now on (the listeners are closed).
        wait_until(lambda: connect_result(self.port) == errno.ECONNREFUSED, 2,
                   what="connections refused after SIGTERM")
        # The idle keep-alive connection is closed.
        self.assertTrue(idle.wait_closed(3), "idle connection closed at shutdown")
        idle.close()
        self.assertTrue(self.service.alive(), "still running while responses are in flight")

        # Finish the bodies: the responses still arrive, with Connection: close.
        slow_a.send(b"abcdefghij")
        r = slow_a.read_response(timeout=5)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual((j["app"], j["body_length"]), ("A", 20))
        self.assertEqual(j["body_sha256"], harness.sha256_hex(b"0123456789abcdefghij"))
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(slow_a.wait_closed(3))
        slow_a.close()  # our FIN ends the service's linger at once

        slow_b.send(b"def")
        r = slow_b.read_response(timeout=5)
        self.assertEqual(r.json()["body_sha256"], harness.sha256_hex(b"abcdef"))
        self.assertTrue(slow_b.wait_closed(3))
        slow_b.close()

        status = self.service.wait(self.SHUTDOWN_TIMEOUT + 3)
        self.assertEqual(status, 0)
        self.assertLess(time.monotonic() - t0, self.SHUTDOWN_TIMEOUT + 1)
        self.assertFalse(os.path.exists(self.control), "control socket removed at exit")
        self.assertEqual(connect_result(self.port), errno.ECONNREFUSED)

    def test_sigterm_with_unfinished_request_exits_after_timeout(self):
        stuck = self.start_slow_post("/a/stuck", total=1000)
        t0 = time.monotonic()
        self.service.send_signal(signal.SIGTERM)
        status = self.service.wait(self.SHUTDOWN_TIMEOUT + 5)
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 0)
        self.assertGreaterEqual(elapsed, self.SHUTDOWN_TIMEOUT - 1.5,
                                "the in-flight request was given its time")
        self.assertLess(elapsed, self.SHUTDOWN_TIMEOUT + 2.5, "bounded wait")
        self.assertTrue(stuck.wait_closed(2), "the stuck client is disconnected")

    def test_sigterm_when_idle_exits_quickly(self):
        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/a/").status, 200)
        t0 = time.monotonic()
        self.service.send_signal(signal.SIGTERM)
        self.assertTrue(c.wait_closed(2), "idle keep-alive connection closed at SIGTERM")
        c.close()
        self.assertEqual(self.service.wait(self.SHUTDOWN_TIMEOUT + 3), 0)
        self.assertLess(time.monotonic() - t0, 2.0, "nothing in flight: no reason to wait")

    def test_pipelined_requests_at_sigterm(self):
        # The request being served completes; the service does not start new ones after it.
        c = self.conn(self.port)
        c.send(b"POST /a/p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(0.4)
        self.service.send_signal(signal.SIGTERM)
        wait_until(lambda: connect_result(self.port) == errno.ECONNREFUSED, 2,
                   what="connections refused after SIGTERM")
        c.send(b"cd" + build_request("GET", "/b/next"))
        r = c.read_response(timeout=5)
        self.assertEqual(r.json()["body_length"], 4)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed(3))
        c.close()
        self.assertEqual(self.service.wait(self.SHUTDOWN_TIMEOUT + 3), 0)


class ShutdownTwoIoThreads(Shutdown):
    IO_THREADS = 2


if __name__ == "__main__":
    harness.main()
