#!/usr/bin/env python3
"""Applications that die (issue 2 items 7, 8, "Bad input"; DESIGN.md §8): SIGKILL of one app
while the other serves; its prefix answers 404 at once; a request delivered to an app that
dies gets 503 logged Connection_Abandoned_By_ReqQueue; an app that leaves in the middle of a
streamed response makes the service close that client connection and nothing else."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, curl, free_port, http, wait_until  # noqa: E402

UNAVAILABLE_PAGE_MARK = b"<hr><p>HTTP Error 503. The service is unavailable.</p>"


class AppFailure(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.app_a = self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.app_b = self.start_echo(f"http://+:{self.port}/b/", name="B")

    def start_slow_post(self, path, sent=10, total=1000):
        """A POST whose body is only partly sent: the app holds it, waiting for the rest."""
        c = self.conn(self.port)
        c.send(f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {total}\r\n\r\n" + "x" * sent)
        time.sleep(0.5)  # let the service deliver it to the app, which then reads the body
        return c

    def test_sigkill_one_app_other_keeps_serving_and_prefix_is_404(self):
        keep_b = self.conn(self.port)
        self.assertEqual(keep_b.request("GET", "/b/before").json()["app"], "B")
        self.assertEqual(http(self.port, path="/a/before").json()["app"], "A")

        self.app_a.send_signal(signal.SIGKILL)
        self.assertEqual(self.app_a.wait(5), -signal.SIGKILL)
        # Its registrations go at once: no waiting for a timeout.
        statuses = []
        t0 = time.monotonic()

        def gone():
            statuses.append(http(self.port, path="/a/after").status)
            return statuses[-1] == 404
        wait_until(gone, 2, interval=0.01, what="/a/ answering 404 after SIGKILL")
        self.assertLess(time.monotonic() - t0, 1.0, f"statuses seen: {statuses}")
        self.assertTrue(set(statuses) <= {404, 503}, f"statuses seen: {statuses}")
        r = http(self.port, path="/a/")
        self.assertEqual(r.status, 404)
        self.assertIn(b"HTTP Error 404", r.body)

        # B: the open keep-alive connection and new ones still work.
        self.assertEqual(keep_b.request("GET", "/b/after").json()["app"], "B")
        res = curl(f"http://127.0.0.1:{self.port}/b/curl")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(harness.json.loads(res.stdout)["app"], "B")

        # The prefix can be registered again by a new process.
        self.start_echo(f"http://+:{self.port}/a/", name="A2")
        self.assertEqual(http(self.port, path="/a/again").json()["app"], "A2")

    def test_inflight_request_to_killed_app_gets_503_and_log(self):
        keep_b = self.conn(self.port)
        self.assertEqual(keep_b.request("GET", "/b/").status, 200)
        slow = self.start_slow_post("/a/slow")
        self.app_a.send_signal(signal.SIGKILL)
        r = slow.read_response(timeout=5)
        self.assertEqual((r.status, r.reason), (503, "Service Unavailable"))
        self.assertIn(UNAVAILABLE_PAGE_MARK, r.body)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(slow.wait_closed())
        e = self.log_for(slow.local_port)
        self.assertEqual((e.sc_status, e.s_reason), ("503", "Connection_Abandoned_By_ReqQueue"))
        self.assertEqual((e.cs_method, e.cs_uri, e.cs_version), ("POST", "/a/slow", "HTTP/1.1"))
        # others continue
        self.assertEqual(keep_b.request("GET", "/b/again").json()["app"], "B")
        self.assertEqual(http(self.port, path="/b/new").json()["app"], "B")
        self.assertEqual(http(self.port, path="/a/").status, 404)

    def test_abandoned_log_line_names_the_queue(self):
        # httperr's s-queuename is the request queue's name (HTTP.sys writes the app pool /
        # queue name there for Connection_Abandoned_By_ReqQueue).
        self.start_echo(f"http://+:{self.port}/q/", name="Q", queue="named-queue")
        slow = self.start_slow_post("/q/slow")
        self.procs[-1].send_signal(signal.SIGKILL)
        self.assertEqual(slow.read_response(timeout=5).status, 503)
        e = self.log_for(slow.local_port)
        self.assertEqual(e.s_reason, "Connection_Abandoned_By_ReqQueue")
        self.assertEqual(e.s_queuename, "named-queue")

    def test_inflight_requests_on_several_connections(self):
        # Three requests in the hands of A (its queue delivers one, the others wait in the
        # service) all get 503 when A dies; B's in-flight upload completes.
        slows = [self.start_slow_post(f"/a/slow{i}") for i in range(3)]
        b_conn = self.conn(self.port)
        b_conn.send("POST /b/slow HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n0123456789")
        time.sleep(0.3)
        self.app_a.send_signal(signal.SIGKILL)
        for s in slows:
            r = s.read_response(timeout=5)
            self.assertEqual(r.status, 503)
            e = self.log_for(s.local_port)
            self.assertEqual(e.s_reason, "Connection_Abandoned_By_ReqQueue")
        b_conn.send("abcdefghij")
        j = b_conn.read_response().json()
        self.assertEqual((j["app"], j["body_length"]), ("B", 20))

    def test_app_exiting_normally_releases_prefix(self):
        self.app_a.stop(signal.SIGTERM)
        wait_until(lambda: http(self.port, path="/a/").status == 404, 2,
                   what="/a/ answering 404 after the app exits")
        self.assertEqual(http(self.port, path="/b/").status, 200)


class HalfResponse(ServiceTestCase):
    """An application that leaves in the middle of a streamed response."""

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/b/", name="B")

    def check_cut_chunked(self, c):
        t0 = time.monotonic()
        r = c.read_response(timeout=8)
        self.assertLess(time.monotonic() - t0, 5, "the client is not left hanging")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(r.chunks, [b"first part;", b"second part;"])
        self.assertFalse(r.complete, "no terminating 0-chunk: the body is visibly incomplete")
        self.assertTrue(c.eof, "the service closed the client connection")

    def test_app_exits_mid_chunked_response(self):
        keep_b = self.conn(self.port)
        self.assertEqual(keep_b.request("GET", "/b/").status, 200)
        self.start_half_response(f"http://+:{self.port}/half/", "chunked-exit")
        c = self.conn(self.port)
        c.send(harness.build_request("GET", "/half/x"))
        self.check_cut_chunked(c)
        e = self.log_for(c.local_port)
        self.assertEqual(e.s_reason, "Connection_Abandoned_By_ReqQueue", e.line)
        self.assertEqual((e.cs_method, e.cs_uri), ("GET", "/half/x"))
        # the others are unaffected
        self.assertEqual(keep_b.request("GET", "/b/after").json()["app"], "B")
        self.assertEqual(http(self.port, path="/b/new").json()["app"], "B")
        wait_until(lambda: http(self.port, path="/half/").status == 404, 2,
                   what="/half/ gone after the app left")

    def test_app_killed_mid_chunked_response(self):
        keep_b = self.conn(self.port)
        self.assertEqual(keep_b.request("GET", "/b/").status, 200)
        app = self.start_half_response(f"http://+:{self.port}/half/", "chunked-hang")
        c = self.conn(self.port)
        c.send(harness.build_request("GET", "/half/x"))
        self.assertEqual(app.read_line(5), b"sent\n")
        # The two pieces arrive, and the connection stays open while the app lives.
        _, status, _, headers, _ = c.read_head(timeout=5)
        self.assertEqual(status, 200)
        self.assertFalse(c.wait_closed(0.5), "open while the app may still send")
        app.send_signal(signal.SIGKILL)
        self.assertTrue(c.wait_closed(5), "closed once the app is gone")
        self.assertIn(b"first part;", c.buf)
        self.assertIn(b"second part;", c.buf)
        self.assertNotIn(b"\r\n0\r\n\r\n", c.buf)
        self.assertEqual(keep_b.request("GET", "/b/after").json()["app"], "B")

    def test_app_exits_mid_content_length_response(self):
        self.start_half_response(f"http://+:{self.port}/half/", "length-exit")
        c = self.conn(self.port)
        c.send(harness.build_request("GET", "/half/x"))
        r = c.read_response(timeout=8)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "1000")
        self.assertFalse(r.complete)
        self.assertEqual(r.body, b"first part;second part;")
        self.assertEqual(http(self.port, path="/b/").status, 200)

    def test_pieces_and_cancel_taken_at_once_still_reach_the_client(self):
        # httpapid is stopped while the app sends two pieces and cancels, so it takes all
        # three in one turn: the pieces must still be written before the connection closes
        # (a close right after the cancel dropped them, as it did for an app that exits just
        # after sending, when its exit was seen in the same turn as its last sends).
        app = self.start_half_response(f"http://+:{self.port}/half/", "cancel-on-usr1")
        c = self.conn(self.port)
        c.send(harness.build_request("GET", "/half/x"))
        self.assertEqual(app.read_line(5), b"received\n")
        self.cancel_while_service_stopped(app)
        self.check_cut_chunked(c)
        e = self.log_for(c.local_port)
        self.assertEqual(e.s_reason, "Request_Cancelled", e.line)

    def test_curl_sees_incomplete_body(self):
        self.start_half_response(f"http://+:{self.port}/half/", "chunked-exit")
        t0 = time.monotonic()
        res = curl(f"http://127.0.0.1:{self.port}/half/curl", timeout=20)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertNotEqual(res.returncode, 0, "curl reports the transfer as incomplete")
        self.assertIn(res.returncode, (18, 56), res.stderr)
        self.assertEqual(res.stdout, b"first part;second part;")
        res = curl(f"http://127.0.0.1:{self.port}/b/curl")
        self.assertEqual(harness.json.loads(res.stdout)["app"], "B")


if __name__ == "__main__":
    harness.main()
