#!/usr/bin/env python3
"""Built-in URLs, the health URL and draining (issue 15 item 3, docs/operations.md): a real
httpapid with httpapi-echo applications, driven with raw sockets, curl, nghttp and httpcfg.

The health URL (`httpcfg set setting --key health_url --value URL`) is registered like an
application's prefix: it shares a port with applications, loses to a longer prefix, clashes
with an identical one, opens and closes its own port, shows in servicestate, is answered
over HTTP/1.1 and HTTP/2, and is access-logged. `httpcfg drain` turns it 503 at once; for
the grace period requests are still served, each answer ending its connection (Connection:
close, HTTP/2 GOAWAY); then the service stops listening, lets the exchanges in flight
finish (or closes them at the timeout, counted) and says drained. `httpcfg resume` undoes a
drain in its grace period."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port, http, wait_until  # noqa: E402


class BuiltinCase(ServiceTestCase):

    def set_health(self, url):
        self.httpcfg("set", "setting", "--key", "health_url", "--value", url)

    def state(self):
        return json.loads(self.httpcfg("show", "servicestate", "--json").stdout)

    def refused(self, port):
        return harness.connect_result(port) != 0


class HealthUrlTest(BuiltinCase):

    def test_shares_a_port_with_an_application_and_routes_by_longest_match(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/", name="root")
        self.set_health(f"http://+:{port}/healthz")
        c = self.conn(port)
        for path in ("/healthz", "/healthz/", "/HEALTHZ/deeper"):
            r = c.request("GET", path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.body, b"serving\n")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")
            self.assertIsNone(r.header("Connection"))  # keep-alive: the same connection goes on
        r = c.request("HEAD", "/healthz")
        self.assertEqual((r.status, r.body, r.header("Content-Length")), (200, b"", "8"))
        r = c.request("POST", "/healthz", body=b"x")
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"))
        # Everything else is the application's.
        r = c.request("GET", "/other")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["url"]["path"], "/other")
        state = self.state()
        self.assertEqual(state["builtin_urls"],
                         [{"url": f"http://+:{port}/healthz/", "setting": "health_url"}])
        self.assertIn("Built-in URLs: 1", self.httpcfg("show", "servicestate").stdout)

    def test_opens_its_own_port_and_closes_it_when_unset(self):
        port = free_port()
        self.assertTrue(self.refused(port))
        self.set_health(f"http://127.0.0.1:{port}/healthz")
        self.assertEqual(http(port, path="/healthz").status, 200)
        # The IP-literal bucket: another address of the port has nothing there.
        self.assertEqual(http(port, path="/elsewhere").status, 404)
        self.httpcfg("delete", "setting", "--key", "health_url")
        wait_until(lambda: self.refused(port), what=f"port {port} closed")
        self.assertEqual(self.state()["builtin_urls"], [])
        self.set_health(f"http://127.0.0.1:{port}/healthz")
        self.assertEqual(http(port, path="/healthz").status, 200)
        self.set_health("")  # empty: off
        wait_until(lambda: self.refused(port), what=f"port {port} closed")

    def test_kept_across_a_restart(self):
        port = free_port()
        self.set_health(f"http://+:{port}/healthz")
        self.service.send_signal(harness.signal.SIGTERM)
        self.assertEqual(self.service.wait(15), 0)
        self.service = self.start_service()
        wait_until(lambda: not self.refused(port), what="the health URL's port after a restart")
        self.assertEqual(http(port, path="/healthz").body, b"serving\n")

    def test_http2_and_the_access_log(self):
        port = free_port()
        self.httpcfg("set", "setting", "--key", "access_log_format", "--value", "json")
        self.set_health(f"http://+:{port}/healthz")
        r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-",
                            f"http://127.0.0.1:{port}/healthz"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("HTTP/2 200"), r.stdout)
        self.assertIn("cache-control: no-store", r.stdout)
        self.assertTrue(r.stdout.endswith("serving\n"), r.stdout)
        path = os.path.join(self.state_dir, "logs", "access", "httpapid.log")

        def logged():
            try:
                with open(path, encoding="utf-8") as f:
                    return [json.loads(line) for line in f if line.strip()]
            except FileNotFoundError:
                return []
        lines = wait_until(lambda: len(logged()) >= 1 and logged(), what="access log line")
        self.assertTrue(any("/healthz" in json.dumps(l) and "200" in json.dumps(l)
                            for l in lines), lines)

    def test_clashes_and_bad_values_are_refused_with_reasons(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/taken/", name="taken")
        r = self.httpcfg("set", "setting", "--key", "health_url", "--value",
                         f"http://+:{port}/taken", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already registered", r.stderr)
        self.assertEqual(self.state()["builtin_urls"], [])
        for bad, reason in (("healthz", "must be a URL"),
                            (f"http://+:{port}/a?b", "must be a URL"),
                            (f"https://+:{port}/h", "other scheme")):
            r = self.httpcfg("set", "setting", "--key", "health_url", "--value", bad, check=False)
            self.assertEqual(r.returncode, 1, bad)
            self.assertIn(reason, r.stderr, bad)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        shown = json.loads(self.httpcfg("show", "settings", "--json").stdout)
        self.assertEqual(shown["settings"]["health_url"], "")
        # The other way round: an application cannot take the built-in URL.
        self.set_health(f"http://+:{port}/healthz")
        r = self.run_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{port}/healthz/"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"built-in URL", r.stderr + r.stdout)


class DrainTest(BuiltinCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/app/", name="app")
        self.health = f"http://+:{self.port}/healthz"
        self.set_health(self.health)

    def health_status(self):
        return http(self.port, path="/healthz").status

    def drain_state(self):
        return self.state()["drain"]

    def test_grace_then_closing_then_drained(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/slow/",
                        "--name", "slow", "--delay-ms", "4000"], "echo-slow")
        before = self.conn(self.port)
        r = before.request("GET", "/app/before")
        self.assertEqual((r.status, r.header("Connection")), (200, None))
        self.assertEqual(self.drain_state()["state"], "serving")

        r = self.httpcfg("drain", "--grace", "3", "--timeout", "20")
        self.assertIn("Draining", r.stdout)
        started = time.monotonic()
        self.assertEqual(self.health_status(), 503)
        self.assertEqual(http(self.port, path="/healthz").body, b"draining\n")
        # A keep-alive connection from before: answered, then closed.
        r = before.request("GET", "/app/during")
        self.assertEqual((r.status, r.header("Connection")), (200, "close"))
        self.assertTrue(before.wait_closed())
        # A new connection is still served, and closed after its answer.
        fresh = self.conn(self.port)
        r = fresh.request("GET", "/app/fresh")
        self.assertEqual((r.status, r.header("Connection")), (200, "close"))
        self.assertTrue(fresh.wait_closed())
        if shutil.which("nghttp"):
            out = subprocess.run(["nghttp", "-nv", f"http://127.0.0.1:{self.port}/app/h2"],
                                 capture_output=True, text=True, timeout=30).stdout
            self.assertIn(":status: 200", out)
            self.assertRegex(out, r"recv GOAWAY frame <length=8, flags=0x00, stream_id=0>\s+"
                                  r"\(last_stream_id=\d+, error_code=NO_ERROR")
        state = self.drain_state()
        self.assertEqual((state["state"], state["grace_seconds"], state["timeout_seconds"]),
                         ("grace", 3, 20))
        self.assertIn("Drain: grace", self.httpcfg("show", "servicestate").stdout)

        # An exchange that starts in the grace period and ends after it.
        slow = self.conn(self.port)
        slow.send(harness.build_request("GET", "/slow/x"))
        wait_until(lambda: self.drain_state()["state"] != "grace", timeout=10,
                   what="the end of the grace period")
        self.assertGreaterEqual(time.monotonic() - started, 2.5)
        wait_until(lambda: self.refused(self.port), what="listening stopped")
        r = slow.read_response(timeout=10)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["url"]["path"], "/slow/x")
        wait_until(lambda: self.drain_state()["state"] == "drained", timeout=10,
                   what="drained")
        state = self.drain_state()
        self.assertEqual((state["closed_at_timeout"], state["connections"]), (0, 0))
        r = self.httpcfg("resume", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("restart", r.stderr)
        # The service still stops cleanly (the harness checks exit status 0).

    def test_the_timeout_closes_what_is_left_and_counts_it(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/stuck/",
                        "--name", "stuck", "--delay-ms", "30000"], "echo-stuck")
        stuck = self.conn(self.port)
        stuck.send(harness.build_request("GET", "/stuck/x"))
        wait_until(lambda: self.state()["drain"]["requests_in_flight"] == 1,
                   what="the request in flight")
        self.httpcfg("drain", "--grace", "0", "--timeout", "1")
        wait_until(lambda: self.drain_state()["state"] == "drained", timeout=10,
                   what="drained after the timeout")
        self.assertEqual(self.drain_state()["closed_at_timeout"], 1)
        self.assertRaises((harness.ConnectionClosed, ConnectionResetError),
                          stuck.read_response, timeout=5)

    def test_resume_and_bad_input(self):
        self.httpcfg("drain", "--grace", "60")
        self.assertEqual(self.health_status(), 503)
        r = self.httpcfg("drain", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already running", r.stderr)
        self.assertIn("httpcfg resume", r.stderr)
        # No upgrade while draining (docs/operations.md, "Drain and upgrade").
        r = self.httpcfg("upgrade", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("httpapid is draining; run httpcfg resume first", r.stderr)
        self.assertIn("Drain cancelled", self.httpcfg("resume").stdout)
        self.assertEqual(self.health_status(), 200)
        c = self.conn(self.port)
        for _ in range(2):  # keep-alive is back
            r = c.request("GET", "/app/again")
            self.assertEqual((r.status, r.header("Connection")), (200, None))
        r = self.httpcfg("resume", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not draining", r.stderr)
        for args, status, reason in ((("--grace", "-1"), 2, "0 or more"),
                                     (("--timeout", "-3"), 2, "0 or more"),
                                     (("--grace", "soon"), 2, "soon"),
                                     (("--timeout", "0"), 1, "--timeout 1 to"),
                                     (("--grace", "9999999"), 1, "--grace takes")):
            r = self.httpcfg("drain", *args, check=False)
            self.assertEqual(r.returncode, status, f"{args}: {r.stderr}")
            self.assertIn(reason, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(self.drain_state()["state"], "serving")
        self.assertEqual(self.health_status(), 200)

    def test_status_line_for_systemd(self):
        path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        # The service again, told where systemd listens (the health URL is in its store).
        self.service.send_signal(harness.signal.SIGTERM)
        self.assertEqual(self.service.wait(15), 0)
        self.service = self.start_service(env=dict(os.environ, NOTIFY_SOCKET=path))
        self.httpcfg("drain", "--grace", "30")
        sock.settimeout(5)
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            try:
                message = sock.recv(4096).decode()
            except socket.timeout:
                continue
            seen.append(message)
            if re.search(r"STATUS=.*draining \(grace, \d+ s left\)", message):
                break
        else:
            self.fail(f"no draining STATUS in {seen}")
        self.httpcfg("resume")


if __name__ == "__main__":
    harness.main()
