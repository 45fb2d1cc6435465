"""HTTP.sys's timers and QoS limits (docs/timers.md), each met by a real client with short
values: a head sent one byte a second, a slow body, a body left unread, an idle keep-alive
connection, a client that never reads a large response, a request that waits too long in
its queue; per-URL-group overrides against the server-wide settings; the server-wide and
per-group connection limits at N and N+1; a bandwidth limit measured on the wire."""

import socket
import subprocess
import threading
import time
import unittest

from harness import ConnectionClosed, ServiceTestCase, binary, free_port, http


class TimersTestCase(ServiceTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def set_setting(self, key, value):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                            "--key", key, "--value", str(value)],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)

    def echo(self, *extra, path="/t/", name="echo"):
        argv = [binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}{path}",
                "--name", name] + [str(a) for a in extra]
        return self.start_app(argv, name)

    def closed_within(self, conn, low, high):
        """Asserts the server closes `conn` between `low` and `high` seconds from now."""
        t0 = time.monotonic()
        self.assertTrue(conn.wait_closed(high), f"still open after {high} s")
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, low, f"closed after {elapsed:.2f} s")
        return elapsed

    def trickle(self, conn, data, interval, give_up):
        """Sends `data` a byte at a time every `interval` s; returns the seconds it took the
        server to close the connection, or None if it stayed open `give_up` s."""
        t0 = time.monotonic()
        for i in range(len(data)):
            try:
                conn.send(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0
            if conn.wait_closed(interval):
                return time.monotonic() - t0
            if time.monotonic() - t0 > give_up:
                return None
        return None

    def never_read(self, path):
        """A client that sends a GET for `path` and never reads; returns its socket."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.connect(("127.0.0.1", self.port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        return s


class ServerTimers(TimersTestCase):
    """The server-wide settings, changed live with httpcfg."""

    def test_head_sent_one_byte_a_second_meets_header_wait(self):
        self.set_setting("header_wait_seconds", 3)
        self.echo()
        c = self.conn(self.port)
        took = self.trickle(c, b"GET /t/slow HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"s" * 60,
                            1.0, 12)
        self.assertIsNotNone(took, "a head trickled a byte a second stayed open 12 s")
        self.assertGreaterEqual(took, 2.0)
        self.assertLess(took, 8.0)
        # HTTP.sys answers nothing (no 408): the connection is closed and the reason logged.
        self.assertEqual(c.buf, b"")
        self.assertEqual(self.log_for(c.local_port).s_reason, "Timer_HeaderWait")

    def test_slow_body_meets_entity_body_timer(self):
        self.set_setting("entity_body_seconds", 2)
        self.echo()
        c = self.conn(self.port)
        c.send(b"POST /t/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789")
        self.closed_within(c, 1.0, 7)
        e = self.log_for(c.local_port)
        self.assertEqual((e.s_reason, e.cs_method, e.cs_uri), ("Timer_EntityBody", "POST",
                                                                "/t/upload"), e.line)

    def test_entity_body_timer_restarts_whenever_body_bytes_arrive(self):
        self.set_setting("entity_body_seconds", 2)
        self.echo()
        c = self.conn(self.port)
        c.send(b"POST /t/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n")
        # 12 bytes, one every 0.6 s: 7 s in all, three times the timer, never a 2 s pause.
        self.assertIsNone(self.trickle(c, b"0123456789ab", 0.6, 30))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_length"], 12)

    def test_idle_keepalive_connection_is_closed(self):
        self.set_setting("idle_connection_seconds", 2)
        self.echo()
        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/t/").status, 200)
        self.closed_within(c, 1.0, 7)
        self.assertEqual(self.log_for(c.local_port).s_reason, "Timer_ConnectionIdle")

    def test_connection_idle_past_its_buffer_release_serves_again(self):
        # After a second idle a connection gives its buffers back (release_idle_buffers);
        # the next requests, pipelined and with a body, must find it as good as new.
        self.echo()
        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/t/first").status, 200)
        time.sleep(2.5)  # the release runs on the 1-second tick after 1 s idle
        c.send(b"POST /t/second HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
               b"GET /t/third HTTP/1.1\r\nHost: h\r\n\r\n")
        second, third = c.read_response(), c.read_response()
        self.assertEqual((second.status, second.json()["raw_url"], second.json()["body_length"]),
                         (200, "/t/second", 5))
        self.assertEqual((third.status, third.json()["raw_url"]), (200, "/t/third"))

    def test_unread_body_is_drained_for_the_next_request(self):
        self.echo("--ignore-body")
        c = self.conn(self.port)
        body = b"x" * 300000  # more than comes inline with the head
        r = c.request("POST", "/t/first", body=body)
        self.assertEqual(r.status, 200)
        self.assertLess(r.json()["body_length"], len(body))  # the app did not read it all
        r = c.request("GET", "/t/second")
        self.assertEqual((r.status, r.json()["raw_url"]), (200, "/t/second"))

    def test_drain_timer_is_not_restarted_by_arriving_bytes(self):
        self.set_setting("drain_entity_body_seconds", 2)
        self.echo("--ignore-body")
        c = self.conn(self.port)
        c.send(b"POST /t/drain HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n0123456789")
        self.assertEqual(c.read_response().status, 200)
        # Body bytes keep coming every 0.3 s; the entity-body timer would be re-armed by
        # them, the drain timer is not: the whole drain must fit in 2 s.
        took = self.trickle(c, b"y" * 500, 0.3, 12)
        self.assertIsNotNone(took, "the drain went on for 12 s")
        self.assertLess(took, 6.0)
        e = self.log_for(c.local_port)
        self.assertEqual((e.s_reason, e.cs_uri), ("Timer_EntityBody", "/t/drain"), e.line)

    def test_client_that_never_reads_a_large_response_is_cut_off(self):
        # 64 KiB/s: a 64 KiB piece must go within a second (at the default 150 B/s it would
        # be allowed about 7 minutes, as in HTTP.sys).
        self.set_setting("min_send_rate", 65536)
        self.start_app([binary("HTTPAPI_BIG_RESPONSE"), f"http://+:{self.port}/big/", "32"],
                       "big")
        s = self.never_read("/big/")
        e = self.log_for(s.getsockname()[1], timeout=20)
        self.assertEqual((e.s_reason, e.cs_uri), ("Timer_MinBytesPerSecond", "/big/"), e.line)
        # The service closed its end: what is buffered reads out, then EOF or a reset.
        s.settimeout(10)
        received = 0
        try:
            while chunk := s.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        self.assertLess(received, 32 << 20)

    def test_a_reader_that_pauses_is_not_cut_off_at_the_default_rate(self):
        self.start_app([binary("HTTPAPI_BIG_RESPONSE"), f"http://+:{self.port}/big/", "8"],
                       "big")
        s = self.never_read("/big/")
        time.sleep(4)  # the socket refuses bytes all that time
        s.settimeout(20)
        received = 0
        while received < 8 << 20:
            chunk = s.recv(1 << 20)
            self.assertTrue(chunk, f"closed after {received} bytes")
            received += len(chunk)
        self.assertFalse([e for e in self.log_entries()])

    def test_request_queue_timer(self):
        self.set_setting("request_queue_seconds", 1)
        self.echo("--delay-ms", "4000")
        first = []
        t = threading.Thread(target=lambda: first.append(http(self.port, path="/t/1")))
        t.start()
        time.sleep(0.5)  # the first is with the application, the second waits in the queue
        r = http(self.port, path="/t/2", timeout=15)
        self.assertEqual(r.status, 503)
        self.wait_log(lambda e: e.s_reason == "Timer_ReqQueue" and e.cs_uri == "/t/2")
        t.join(15)
        self.assertEqual(first[0].status, 200)

    def test_settings_show_and_check_the_new_keys(self):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "show",
                            "settings", "--json"], capture_output=True, text=True, timeout=20)
        import json
        shown = json.loads(r.stdout)["settings"]
        for key, value in (("entity_body_seconds", "120"), ("drain_entity_body_seconds", "120"),
                           ("min_send_rate", "150"), ("max_connections", "0")):
            self.assertEqual(shown[key], value, key)
        for key, bad in (("entity_body_seconds", "0"), ("drain_entity_body_seconds", "65536"),
                         ("min_send_rate", "0")):
            r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set",
                                "setting", "--key", key, "--value", bad],
                               capture_output=True, text=True, timeout=20)
            self.assertNotEqual(r.returncode, 0, f"{key}={bad} accepted")
            self.assertIn(key, r.stderr)


class GroupTimers(TimersTestCase):
    """A URL group's HttpServerTimeoutsProperty against the server-wide settings."""

    def test_group_entity_body_timeout_beats_the_server_default(self):
        self.echo("--entity-body-timeout", 1, path="/short/", name="short")
        self.echo(path="/long/", name="long")  # the server-wide 120 s
        short = self.conn(self.port)
        long = self.conn(self.port)
        for c, path in ((short, "/short/"), (long, "/long/")):
            c.send(f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234")
        self.closed_within(short, 0.5, 6)
        self.assertEqual(self.log_for(short.local_port).s_reason, "Timer_EntityBody")
        self.assertFalse(long.wait_closed(1.5), "the server-wide 120 s timer fired")
        long.send(b"56789")
        self.assertEqual(long.read_response().json()["body_length"], 10)

    def test_group_idle_and_header_wait_apply_after_the_first_request(self):
        # Server-wide: 1 s for both; the group: 6 s. The first head on a connection comes
        # before its group is known, so it has the server's 1 s (as in HTTP.sys).
        self.set_setting("idle_connection_seconds", 1)
        self.set_setting("header_wait_seconds", 1)
        self.echo("--idle-timeout", 6, "--header-wait-timeout", 6)
        first = self.conn(self.port)
        first.send(b"GET /t/ HTTP/1.1\r\nHost: h\r\n")
        self.closed_within(first, 0, 4)
        self.assertEqual(self.log_for(first.local_port).s_reason, "Timer_HeaderWait")

        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/t/").status, 200)
        self.assertFalse(c.wait_closed(3), "closed by the server-wide idle timer")
        c.send(b"GET /t/again HTTP/1.1\r\n")  # half a head, 3 s apart from the rest
        self.assertFalse(c.wait_closed(3), "closed by the server-wide header-wait timer")
        c.send(b"Host: h\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.closed_within(c, 4, 10)
        self.assertEqual(self.log_for(c.local_port).s_reason, "Timer_ConnectionIdle")

    def test_group_request_queue_timeout(self):
        self.echo("--delay-ms", "4000", "--request-queue-timeout", 1)
        first = []
        t = threading.Thread(target=lambda: first.append(http(self.port, path="/t/1")))
        t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        r = http(self.port, path="/t/2", timeout=15)
        self.assertEqual(r.status, 503)
        self.assertLess(time.monotonic() - t0, 3.5)  # the group's 1 s, not the server's 120
        self.wait_log(lambda e: e.s_reason == "Timer_ReqQueue" and e.cs_uri == "/t/2")
        t.join(15)

    def test_group_can_turn_the_send_rate_check_off(self):
        self.set_setting("min_send_rate", 65536)
        self.echo("--pad", 8 << 20, "--min-send-rate", 4294967295, path="/off/", name="off")
        self.echo("--pad", 8 << 20, path="/on/", name="on")
        off, on = self.never_read("/off/"), self.never_read("/on/")
        e = self.log_for(on.getsockname()[1], timeout=20)
        self.assertEqual((e.s_reason, e.cs_uri), ("Timer_MinBytesPerSecond", "/on/"))
        time.sleep(2)
        self.assertEqual([e.cs_uri for e in self.log_entries()], ["/on/"])
        off.settimeout(20)
        received = 0
        while received < 8 << 20:
            chunk = off.recv(1 << 20)
            self.assertTrue(chunk, f"closed after {received} bytes")
            received += len(chunk)

    def test_bad_property_values_are_refused_with_their_range(self):
        for flag, value, expect in (("--max-bandwidth", 1000, "1024"),
                                    ("--entity-body-timeout", 65536, "65535"),
                                    ("--max-connections", 0, "connection limit")):
            r = self.run_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/t/",
                              flag, str(value)])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(b"HTTPAPI_ERROR_INVALID_PARAMETER", r.stderr)
            self.assertIn(expect.encode(), r.stderr)


class ConnectionLimits(TimersTestCase):
    def served(self, conn, path):
        r = conn.request("GET", path)
        return r.status

    def test_server_wide_limit_refuses_connection_n_plus_1(self):
        self.set_setting("max_connections", 2)
        self.echo()
        a, b = self.conn(self.port), self.conn(self.port)
        self.assertEqual(self.served(a, "/t/a"), 200)
        self.assertEqual(self.served(b, "/t/b"), 200)
        # The kernel completes the handshake, the service resets the connection at once: on
        # a loaded machine the reset can arrive before connect() even returns.
        third = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        third.bind(("127.0.0.1", 0))
        third_port = third.getsockname()[1]
        third.settimeout(5)
        received = b""
        try:
            third.connect(("127.0.0.1", self.port))
            third.sendall(b"GET /t/c HTTP/1.1\r\nHost: h\r\n\r\n")
            while chunk := third.recv(4096):
                received += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            third.close()
        self.assertEqual(received, b"")  # closed without an answer
        self.assertEqual(self.log_for(third_port).s_reason, "Connections_Refused")
        a.close()

        def fourth_served():
            c = self.conn(self.port)
            try:
                return self.served(c, "/t/d") == 200
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                return False
        self.wait_until_true(fourth_served, "a connection served after one closed")
        self.assertEqual(self.served(b, "/t/b-again"), 200)

    def test_group_limit_answers_503_connlimit(self):
        self.echo("--max-connections", 2, path="/limited/", name="limited")
        self.echo(path="/free/", name="free")
        a, b = self.conn(self.port), self.conn(self.port)
        self.assertEqual(self.served(a, "/limited/a"), 200)
        self.assertEqual(self.served(b, "/limited/b"), 200)
        third = self.conn(self.port)
        r = third.request("GET", "/limited/c")
        self.assertEqual(r.status, 503)
        self.assertTrue(third.wait_closed(5))
        e = self.log_for(third.local_port)
        self.assertEqual((e.sc_status, e.s_reason, e.cs_uri), ("503", "ConnLimit", "/limited/c"))
        # Other groups are not limited by it.
        self.assertEqual(http(self.port, path="/free/x").status, 200)
        a.close()

        def served_again():
            return http(self.port, path="/limited/d").status == 200
        self.wait_until_true(served_again, "the group serving again after a close")

    def test_connlimit_answers_with_its_queues_503_verbosity(self):
        # Refused by the front end itself, from the routing snapshot: the page says why
        # (verbosity full) and the log names the queue.
        self.echo("--max-connections", 1, "--queue", "limitedq", "--503-verbosity", "full",
                  path="/limited/", name="limited")
        a = self.conn(self.port)
        self.assertEqual(self.served(a, "/limited/a"), 200)
        second = self.conn(self.port)
        r = second.request("GET", "/limited/b")
        self.assertEqual(r.status, 503)
        self.assertIn(b"it has as many connections as it takes", r.body)
        e = self.log_for(second.local_port)
        self.assertEqual((e.sc_status, e.s_reason, e.s_queuename),
                         ("503", "ConnLimit", "limitedq"))

    def test_connlimit_with_verbosity_basic_resets(self):
        self.echo("--max-connections", 1, "--queue", "quietq", "--503-verbosity", "basic",
                  path="/limited/", name="limited")
        a = self.conn(self.port)
        self.assertEqual(self.served(a, "/limited/a"), 200)
        second = self.conn(self.port)
        second.send(b"GET /limited/b HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises(Exception):
            second.read_response()
        e = self.log_for(second.local_port)
        self.assertEqual((e.sc_status, e.s_reason, e.s_queuename), ("-", "ConnLimit", "quietq"))

    def test_connlimit_follows_a_verbosity_changed_after_binding(self):
        # The queue is bound and its URL live before the verbosity changes: the front end's
        # routing snapshot must be published again for its refusals to use the new value.
        self.start_app([binary("HTTPAPI_VERBOSITY_APP"), f"http://+:{self.port}/v/", "laterq"],
                       "verbosity")
        holder = self.conn(self.port)  # keeps the group's one connection
        r = holder.request("GET", "/v/full")
        self.assertEqual((r.status, r.body), (200, b"verbosity full"))
        refused = self.conn(self.port)
        r = refused.request("GET", "/v/a")
        self.assertEqual(r.status, 503)
        self.assertIn(b"it has as many connections as it takes", r.body)
        e = self.log_for(refused.local_port)
        self.assertEqual((e.sc_status, e.s_reason, e.s_queuename), ("503", "ConnLimit", "laterq"))

        r = holder.request("GET", "/v/basic")
        self.assertEqual((r.status, r.body), (200, b"verbosity basic"))
        reset = self.conn(self.port)
        reset.send(b"GET /v/b HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises((ConnectionClosed, ConnectionResetError)):  # nothing sent
            reset.read_response()
        e = self.log_for(reset.local_port)
        self.assertEqual((e.sc_status, e.s_reason, e.s_queuename), ("-", "ConnLimit", "laterq"))

    def test_group_limit_is_set_again_after_a_service_restart(self):
        self.echo("--max-connections", 1)
        self.assertEqual(self.service.stop(), 0)
        self.service = self.start_service()
        # The library reconnects by itself and makes the group again, with its limit.
        held = []

        def one_served():
            try:
                c = self.conn(self.port)
                if self.served(c, "/t/a") == 200:
                    held.append(c)  # kept open: it holds the group's one connection
                    return True
            except (ConnectionClosed, ConnectionResetError, ConnectionRefusedError):
                pass
            return False
        self.wait_until_true(one_served, "the echo application back after the restart")
        self.assertEqual(self.conn(self.port).request("GET", "/t/b").status, 503)
        self.wait_log(lambda e: e.s_reason == "ConnLimit" and e.cs_uri == "/t/b")

    def wait_until_true(self, predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}")


class Bandwidth(TimersTestCase):
    def timed_get(self, path):
        t0 = time.monotonic()
        r = http(self.port, path=path, timeout=30)
        return r, time.monotonic() - t0

    def test_group_bandwidth_limit_slows_the_response(self):
        self.echo("--max-bandwidth", 16384, "--pad", 65536, path="/slow/", name="slow")
        self.echo("--pad", 65536, path="/fast/", name="fast")
        fast, fast_time = self.timed_get("/fast/")
        slow, slow_time = self.timed_get("/slow/")
        self.assertEqual(len(fast.json()["pad"]), 65536)
        self.assertEqual(len(slow.json()["pad"]), 65536)
        self.assertTrue(slow.complete)
        # About 66 KiB at 16 KiB/s with a first second's burst: 3 s; nothing fails.
        self.assertGreaterEqual(slow_time, 2.6, f"{slow_time:.2f} s")
        self.assertLess(slow_time, 15)
        self.assertLess(fast_time, 2.0)
        self.assertFalse([e for e in self.log_entries()])


if __name__ == "__main__":
    unittest.main(verbosity=2)
