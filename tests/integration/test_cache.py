#!/usr/bin/env python3
"""The response cache (issue 6 item 6): responses marked cacheable are answered again by
httpapid without the application, which the tests prove by the application's own request
count (httpapi-echo's "served", response_features' "answer N"). Also: HTTP.sys's
eligibility rules, time to live, flush through the API, a routing change, scavenging,
the size limit and `httpcfg show cachestate`."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port  # noqa: E402


class CacheTestCase(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self._conn = None

    @property
    def conn(self):
        """One keep-alive connection, opened once an application listens."""
        if self._conn is None:
            self._conn = harness.Conn(self.port)
            self.conns.append(self._conn)
        return self._conn

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def echo(self, ttl, *extra):
        argv = [binary("HTTPAPI_ECHO"), "--url", self.url("/e/"), "--cache-ttl", str(ttl)]
        return self.start_app(argv + list(extra), "echo-cached")

    def served(self, path="/e/a", headers=None, method="GET", version="HTTP/1.1"):
        r = self.conn.request(method, path, headers=headers, version=version)
        self.assertEqual(r.status, 200, r.body[:200])
        return r.json()["served"]

    def httpcfg(self, *args):
        argv = [binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


class EchoCache(CacheTestCase):

    def test_repeated_get_is_answered_without_the_application(self):
        self.echo(60)
        first = self.conn.request("GET", "/e/a")
        second = self.conn.request("GET", "/e/a")
        self.assertEqual(first.json()["served"], 1)
        self.assertEqual(second.body, first.body)  # the same bytes: served == 1 again
        self.assertEqual(second.header("Content-Length"), str(len(first.body)))
        self.assertEqual(second.header("Content-Type"), "application/json")
        self.assertIsNotNone(second.header("Date"))
        self.assertIsNone(second.header("Age"))
        # The application saw one request so far: the next uncached one is its second.
        self.assertEqual(self.served("/e/other"), 2)
        # A fresh connection, and a different Host spelling of the same URL, hit too.
        self.assertEqual(harness.http(self.port, path="/e/a").json()["served"], 1)
        self.assertEqual(self.served("/e/a", headers=[("Host", f"127.0.0.1:{self.port}")]), 1)

    def test_requests_that_are_not_cacheable_reach_the_application(self):
        self.echo(60)
        self.assertEqual(self.served("/e/a"), 1)
        self.assertEqual(self.served("/e/a"), 1)  # cached
        count = 1
        for headers, path in (
                ([("Authorization", "Basic abc123")], "/e/a"),
                ([("Range", "bytes=0-10")], "/e/a"),
                ([("If-Range", '"x"')], "/e/a"),
                ([("Translate", "f")], "/e/a"),
                ([], "/e/a?x=1")):
            count += 1
            r = self.conn.request("GET", path, headers=headers)
            self.assertEqual(r.json()["served"], count, (headers, path))
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            count += 1
            r = self.conn.request(method, "/e/a", headers=[("Content-Length", "0")])
            self.assertEqual(r.json()["served"], count, method)
        count += 1
        r = self.conn.request("HEAD", "/e/a")
        self.assertEqual(r.status, 200)
        # Unsafe methods do not invalidate (HTTP.sys, conformance case A071); the entry is
        # still there. The query-string answer and the Authorization one were not stored.
        self.assertEqual(self.served("/e/a"), 1)
        self.assertEqual(self.served("/e/a?x=1"), count + 1)

    def test_time_to_live(self):
        self.echo(1)
        self.assertEqual(self.served("/e/a"), 1)
        self.assertEqual(self.served("/e/a"), 1)
        time.sleep(2.2)
        self.assertEqual(self.served("/e/a"), 2)

    def test_connection_handling_of_hits(self):
        self.echo(60)
        self.assertEqual(self.served("/e/a"), 1)
        # HTTP/1.0 with keep-alive stays open; Connection: close closes after the hit.
        r = self.conn.request("GET", "/e/a", headers=[("Connection", "keep-alive")],
                              version="HTTP/1.0")
        self.assertEqual((r.json()["served"], r.header("Connection")), (1, "keep-alive"))
        r = self.conn.request("GET", "/e/a", headers=[("Connection", "close")])
        self.assertEqual((r.json()["served"], r.header("Connection")), (1, "close"))
        self.assertTrue(self.conn.wait_closed())
        # Pipelined hits are answered in order.
        c = harness.Conn(self.port)
        self.conns.append(c)
        c.send(b"GET /e/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 3)
        for _ in range(3):
            self.assertEqual(c.read_response().json()["served"], 1)

    def test_an_unregistered_url_is_not_answered_from_the_cache(self):
        app = self.echo(60)
        self.assertEqual(self.served("/e/a"), 1)
        app.stop()
        harness.wait_until(lambda: harness.connect_result(self.port) != 0, what="port closed")
        self._conn = None
        self.echo(60)
        # The new process starts counting at 1 again: its answer is not the old cached one,
        # which went when the old process's registration did.
        r = harness.http(self.port, path="/e/b")
        self.assertEqual(r.json()["served"], 1)
        self.assertEqual(harness.http(self.port, path="/e/a").json()["served"], 2)

    def test_size_limit(self):
        self.httpcfg("set", "setting", "--key", "cache_max_response_bytes", "--value", "4096")
        self.echo(60)
        big = [("X-Padding", "p" * 5000)]
        self.assertEqual(self.served("/e/big", headers=big), 1)
        self.assertEqual(self.served("/e/big", headers=big), 2)  # over the limit: not kept
        self.assertEqual(self.served("/e/small"), 3)
        self.assertEqual(self.served("/e/small"), 3)

    def test_disabled_cache(self):
        self.httpcfg("set", "setting", "--key", "cache_enabled", "--value", "0")
        self.echo(60)
        self.assertEqual(self.served("/e/a"), 1)
        self.assertEqual(self.served("/e/a"), 2)

    def test_cachestate_and_scavenging(self):
        self.httpcfg("set", "setting", "--key", "cache_scavenger_seconds", "--value", "2")
        self.echo(60)
        self.served("/e/a")
        self.served("/e/a")
        self.served("/e/a")
        state = json.loads(self.httpcfg("show", "cachestate", "--json"))
        self.assertEqual([e["url"] for e in state["entries"]], [self.url("/e/a")])
        entry = state["entries"][0]
        self.assertEqual((entry["status"], entry["hits"]), (200, 2))
        self.assertLessEqual(entry["expires_in_seconds"], 60)
        text = self.httpcfg("show", "cachestate")
        self.assertIn(f"URL: {self.url('/e/a')}", text)
        self.assertIn("Hits: 2", text)
        # Unused for the scavenger period: gone.
        harness.wait_until(
            lambda: json.loads(self.httpcfg("show", "cachestate", "--json"))["entries"] == [],
            timeout=10, what="scavenged entry")
        self.assertEqual(self.served("/e/a"), 2)


class ApiCache(CacheTestCase):

    def setUp(self):
        super().setUp()
        self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), self.url("/r/")],
                       "response-features")

    def body(self, path):
        r = self.conn.request("GET", path)
        self.assertEqual(r.status, 200)
        return r.body.decode()

    def test_user_invalidates_until_flushed(self):
        self.assertEqual(self.body("/r/cached/a"), "answer 1")
        self.assertEqual(self.body("/r/cached/b"), "answer 2")
        self.assertEqual(self.body("/r/cached/a"), "answer 1")
        self.assertEqual(self.body("/r/flush-exact/cached/a"), "removed 1")
        self.assertEqual(self.body("/r/cached/a"), "answer 4")
        self.assertEqual(self.body("/r/cached/b"), "answer 2")
        self.assertEqual(self.body("/r/flush/cached/"), "removed 2")
        self.assertEqual(self.body("/r/cached/a"), "answer 6")
        self.assertEqual(self.body("/r/cached/b"), "answer 7")

    def test_flush_by_address_reaches_entries_under_other_host_names(self):
        # The queue's prefix names 127.0.0.1: a request naming "localhost" that arrives on that
        # address is routed by it (HTTP.sys's IP_ROUTED) and cached under "localhost".
        other = f"localhost:{self.port}"
        self.assertEqual(self.conn.request("GET", "/r/cached/a", host=other).body, b"answer 1")
        self.assertEqual(self.conn.request("GET", "/r/cached/a", host=other).body, b"answer 1")
        self.assertEqual(self.body("/r/flush-exact/cached/a"), "removed 1")
        self.assertEqual(self.conn.request("GET", "/r/cached/a", host=other).body, b"answer 3")

    def test_flush_outside_the_queues_urls_is_refused(self):
        self.assertEqual(self.body("/r/cached/a"), "answer 1")
        self.assertEqual(self.body("/r/flush-parent"), "HTTPAPI_ERROR_ACCESS_DENIED")
        self.assertEqual(self.body("/r/cached/a"), "answer 1")

    def test_no_content_type_is_not_cached(self):
        self.assertEqual(self.body("/r/untyped/a"), "answer 1")
        self.assertEqual(self.body("/r/untyped/a"), "answer 2")

    def test_case_insensitive_flush(self):
        self.assertEqual(self.body("/r/cached/MiXed"), "answer 1")
        self.assertEqual(self.body("/r/cached/MiXed"), "answer 1")
        self.assertEqual(self.body("/r/flush-exact/cached/mixed"), "removed 1")


if __name__ == "__main__":
    harness.main()
