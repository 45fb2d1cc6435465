#!/usr/bin/env python3
"""Routing by URL prefix (DESIGN.md §4, issue 2 item 7): two echo apps on one port, explicit
hosts, strong and weak wildcards, longest path, 404 and 400 answers written by the service.
Run with one I/O thread and again with two (RoutingTwoIoThreads)."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, ServiceTestCase, curl, free_port, http, wait_until  # noqa: E402

NOT_FOUND_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    b'<HTML><HEAD><TITLE>Not Found</TITLE>\r\n'
    b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    b'<BODY><h2>Not Found</h2>\r\n'
    b'<hr><p>HTTP Error 404. The requested resource is not found.</p>\r\n'
    b'</BODY></HTML>\r\n')


class Routing(ServiceTestCase):
    IO_THREADS = 1

    def setUp(self):
        super().setUp()
        self.port = free_port()
        p = self.port
        self.app_a = self.start_echo(f"http://+:{p}/a/", f"http://+:{p}/a/deep/", name="A")
        self.app_b = self.start_echo(f"http://+:{p}/b/", name="B")

    def get(self, path, host=None, port=None):
        port = port or self.port
        return http(port, "GET", path, host=host or f"127.0.0.1:{port}")

    def test_each_prefix_reaches_its_app(self):
        for path, app, ctx in [("/a/", "A", 1), ("/a/x/y", "A", 1), ("/b/", "B", 1),
                               ("/b/zz?q=1", "B", 1), ("/A/upper", "A", 1), ("/B/", "B", 1),
                               ("/a/deep/", "A", 2), ("/a/deep/er/x", "A", 2),
                               ("/a/deeper", "A", 1)]:
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.header("Content-Type"), "application/json")
                j = r.json()
                self.assertEqual(j["app"], app)
                self.assertEqual(j["raw_url"], path)
                self.assertEqual(j["url_context"], ctx, "url_context is the --url position")

    def test_curl_reaches_both_apps(self):
        for path, app in [("/a/curl", "A"), ("/b/curl", "B")]:
            res = curl("-i", f"http://127.0.0.1:{self.port}{path}")
            self.assertEqual(res.returncode, 0, res.stderr)
            head, _, body = res.stdout.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), head)
            self.assertEqual(harness.json.loads(body)["app"], app)

    def test_path_without_slash_reaches_prefix(self):
        r = self.get("/a")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "A")
        self.assertEqual(r.json()["url_context"], 1)
        r = self.get("/a/deep")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["url_context"], 2, "/a/deep reaches /a/deep/, the longer one")
        r = self.get("/b?x=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "B")

    def test_unregistered_path_is_404_with_httpsys_page(self):
        c = self.conn(self.port)
        r = c.request("GET", "/c/", host=f"127.0.0.1:{self.port}")
        self.assertEqual((r.status, r.reason), (404, "Not Found"))
        self.assertEqual(r.header("Content-Type"), "text/html; charset=us-ascii")
        self.assertEqual(r.body, NOT_FOUND_PAGE)
        self.assertEqual(int(r.header("Content-Length")), len(NOT_FOUND_PAGE))
        self.assertIsNotNone(r.header("Date"))
        self.assertTrue(r.header("Server", "").startswith("httpapi/"))
        for path in ("/", "/ab", "/bb/", "/x/a/"):
            with self.subTest(path=path):
                self.assertEqual(self.get(path).status, 404)
        e = self.log_for(c.local_port)
        self.assertEqual((e.sc_status, e.s_reason), ("404", "NotFound"))
        self.assertEqual((e.cs_method, e.cs_uri, e.cs_version), ("GET", "/c/", "HTTP/1.1"))
        self.assertEqual((e.c_ip, e.s_ip, e.s_port), ("127.0.0.1", "127.0.0.1", str(self.port)))

    def test_longest_path_wins_and_url_context_is_position(self):
        for path, ctx in [("/a/deep/1", 2), ("/a/dee", 1), ("/a/deep/deeper/", 2), ("/A/DEEP/x", 2)]:
            with self.subTest(path=path):
                j = self.get(path).json()
                self.assertEqual((j["app"], j["url_context"]), ("A", ctx))

    def test_routing_uses_cooked_path(self):
        # %61 is 'a', '..' segments are resolved, '\' and '//' are canonicalised.
        for raw, app in [("/%61/x", "A"), ("/b/../a/x", "A"), ("/a/../b/x", "B"),
                         ("/a/%64eep/x", "A")]:
            with self.subTest(raw=raw):
                r = self.get(raw)
                self.assertEqual(r.status, 200, r.body)
                j = r.json()
                self.assertEqual(j["app"], app)
                self.assertEqual(j["raw_url"], raw)
        self.assertEqual(self.get("/a/%64eep/x").json()["url_context"], 2)

    def test_explicit_host_strong_and_weak_wildcards(self):
        q = free_port()
        host_app = self.start_echo(f"http://onlyhost:{q}/x/", name="H")

        def route(host, path):
            r = http(q, "GET", path, host=host)
            return r.status, (r.json()["app"] if r.status == 200 else r.body)

        # Only an explicit-host prefix on this port.
        self.assertEqual(route(f"onlyhost:{q}", "/x/1")[0:2], (200, "H"))
        self.assertEqual(route(f"OnlyHost:{q}", "/x/1"), (200, "H"), "host is case-insensitive")
        self.assertEqual(route("onlyhost", "/x/1"), (200, "H"))
        j = http(q, "GET", "/x/1", host=f"ONLYHOST:{q}").json()
        self.assertEqual(j["url"]["host"], "onlyhost")
        self.assertEqual(j["url"]["full"], f"http://onlyhost:{q}/x/1")

        # The host matches, no path does: 404.
        status, body = route(f"onlyhost:{q}", "/y/")
        self.assertEqual(status, 404)

        # No host matches on this port: 400 Invalid Hostname, logged as Hostname.
        c = self.conn(q)
        r = c.request("GET", "/x/1", host=f"otherhost:{q}")
        self.assertEqual(r.status, 400)
        self.assertIn(b"Invalid Hostname", r.body)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed(), "the connection is closed after 400")
        e = self.log_for(c.local_port)
        self.assertEqual((e.sc_status, e.s_reason), ("400", "Hostname"))
        # An IP literal as Host does not equal a name either.
        self.assertEqual(http(q, "GET", "/x/1", host=f"127.0.0.1:{q}").status, 400)

        # Add a strong wildcard with the same path: + is searched first and wins.
        strong = self.start_echo(f"http://+:{q}/x/", name="S")
        self.assertEqual(route(f"onlyhost:{q}", "/x/1"), (200, "S"))
        self.assertEqual(route(f"otherhost:{q}", "/x/1"), (200, "S"))
        # + has no /y/: onlyhost's bucket has none either; with a non-empty + bucket every
        # host "matches", so this is 404, not 400.
        self.assertEqual(route(f"otherhost:{q}", "/y/")[0], 404)
        self.assertEqual(route(f"onlyhost:{q}", "/y/")[0], 404)

        # Add a weak wildcard: catches what + and the explicit host leave.
        weak = self.start_echo(f"http://*:{q}/", name="W")
        self.assertEqual(route(f"otherhost:{q}", "/y/"), (200, "W"))
        self.assertEqual(route(f"onlyhost:{q}", "/y/"), (200, "W"),
                         "an explicit host without a matching path does not hide *")
        self.assertEqual(route(f"onlyhost:{q}", "/x/1"), (200, "S"))

        # The strong wildcard goes: onlyhost gets /x/ again, every other host falls to *.
        strong.stop(signal.SIGTERM)
        wait_until(lambda: route(f"onlyhost:{q}", "/x/1") == (200, "H"), 3,
                   what="onlyhost /x/ back on H after S exits")
        self.assertEqual(route(f"otherhost:{q}", "/x/1"), (200, "W"))
        self.assertEqual(route(f"127.0.0.1:{q}", "/x/1"), (200, "W"))
        # And the weak one goes: back to 400 for unknown hosts.
        weak.stop(signal.SIGTERM)
        wait_until(lambda: route(f"otherhost:{q}", "/x/1")[0] == 400, 3,
                   what="400 for an unknown host after W exits")
        self.assertEqual(route(f"onlyhost:{q}", "/x/1"), (200, "H"))
        self.assertTrue(host_app.alive())

    def test_weak_wildcard_under_strong_on_shared_port(self):
        # On the main port, * catches what + (A, B) does not match.
        weak = self.start_echo(f"http://*:{self.port}/", name="W")
        self.assertEqual(self.get("/c/").json()["app"], "W")
        self.assertEqual(self.get("/a/1").json()["app"], "A")
        self.assertEqual(self.get("/b/1", host="some.name").json()["app"], "B")
        self.assertEqual(self.get("/zzz", host="some.name").json()["app"], "W")
        weak.stop(signal.SIGTERM)

    def test_hello_app_shares_the_port(self):
        self.start_hello(f"http://+:{self.port}/hello/")
        r = self.get("/hello/world")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"Hello, World!")
        self.assertEqual(r.header("Content-Length"), "13")
        self.assertEqual(self.get("/a/").json()["app"], "A")

    def test_many_connections_route_correctly(self):
        # Many short connections: with several I/O threads they land on different loops.
        ids = set()
        for i in range(40):
            app = "A" if i % 2 == 0 else "B"
            j = self.get(f"/{app.lower()}/n{i}").json()
            self.assertEqual(j["app"], app)
            self.assertEqual(j["raw_url"], f"/{app.lower()}/n{i}")
            ids.add(j["connection_id"])
        self.assertEqual(len(ids), 40, "every connection has its own connection_id")


class RoutingTwoIoThreads(Routing):
    IO_THREADS = 2


if __name__ == "__main__":
    harness.main()
