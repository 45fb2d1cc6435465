#!/usr/bin/env python3
"""Keep-alive and pipelining across two applications on one port (issue 2 items 2 and 8):
one connection going /a/ -> /b/ -> /a/, pipelined requests to both apps answered in order,
a pipeline of 50 alternating requests. Run with one and with two I/O threads."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, build_request, free_port, sha256_hex  # noqa: E402


class KeepAlivePipelining(ServiceTestCase):
    IO_THREADS = 1

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.start_echo(f"http://+:{self.port}/b/", name="B")

    def test_keepalive_a_b_a(self):
        c = self.conn(self.port)
        results = []
        for path in ("/a/1", "/b/2", "/a/3"):
            r = c.request("GET", path)
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("Connection"), "HTTP/1.1 keep-alive needs no Connection")
            results.append(r.json())
        self.assertEqual([j["app"] for j in results], ["A", "B", "A"])
        self.assertEqual([j["raw_url"] for j in results], ["/a/1", "/b/2", "/a/3"])
        self.assertEqual(len({j["connection_id"] for j in results}), 1,
                         "same connection_id on one keep-alive connection")
        ids = [j["request_id"] for j in results]
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(ids, sorted(ids), "request ids grow on one connection")
        self.assertEqual({j["remote"] for j in results}, {f"127.0.0.1:{c.local_port}"})

    def test_keepalive_http10_with_keep_alive_header(self):
        c = self.conn(self.port)
        apps = []
        for path in ("/a/x", "/b/y"):
            r = c.request("GET", path, headers=[("Connection", "keep-alive")], version="HTTP/1.0")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Connection", "").lower(), "keep-alive")
            apps.append(r.json()["app"])
        self.assertEqual(apps, ["A", "B"])

    def test_connection_close_request_is_honoured(self):
        c = self.conn(self.port)
        r = c.request("GET", "/b/", headers=[("Connection", "close")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed())

    def test_client_half_close_after_request(self):
        # The client sends a whole request and shuts down its sending side (FIN). It gets its
        # answer, and since nothing more can arrive, the service closes the connection
        # instead of keeping it for the idle timeout.
        for path in ("/a/half-close", "/b/half-close"):
            with self.subTest(path=path):
                c = self.conn(self.port)
                c.send(build_request("GET", path))
                c.sock.shutdown(harness.socket.SHUT_WR)
                r = c.read_response()
                self.assertEqual(r.json()["raw_url"], path)
                self.assertTrue(c.wait_closed(3), "connection still open 3 s after the answer "
                                "although the client had half-closed it")

    def test_pipelined_to_both_apps_in_one_write(self):
        c = self.conn(self.port)
        paths = ["/a/p1", "/b/p2", "/a/p3", "/b/p4?x=1"]
        c.send(b"".join(build_request("GET", p) for p in paths))
        got = [c.read_response().json() for _ in paths]
        self.assertEqual([j["raw_url"] for j in got], paths, "answered in request order")
        self.assertEqual([j["app"] for j in got], ["A", "B", "A", "B"])
        self.assertEqual(len({j["connection_id"] for j in got}), 1)

    def test_pipeline_of_50_alternating_with_bodies(self):
        c = self.conn(self.port, timeout=30)
        wire = b""
        expected = []
        for i in range(50):
            app = "A" if i % 2 == 0 else "B"
            path = f"/{app.lower()}/n{i}"
            body = (f"body-{i}-" * (i * 7)).encode() if i % 3 == 0 else b""
            method = "POST" if body else "GET"
            wire += build_request(method, path, body=body)
            expected.append((app, path, method, len(body), sha256_hex(body)))
        c.send(wire)
        got = []
        deadline = time.monotonic() + 30
        for _ in expected:
            got.append(c.read_response(timeout=deadline - time.monotonic()).json())
        self.assertEqual([(j["app"], j["raw_url"], j["method"], j["body_length"], j["body_sha256"])
                          for j in got], expected)
        self.assertEqual(len({j["connection_id"] for j in got}), 1)
        # still usable afterwards
        self.assertEqual(c.request("GET", "/a/after").json()["raw_url"], "/a/after")

    def test_pipeline_split_across_writes(self):
        # A pipeline delivered in odd pieces (a request split mid-header) still parses.
        c = self.conn(self.port)
        wire = b"".join(build_request("GET", f"/{'ab'[i % 2]}/s{i}") for i in range(10))
        for i in range(0, len(wire), 37):
            c.send(wire[i:i + 37])
            time.sleep(0.002)
        got = [c.read_response().json()["raw_url"] for _ in range(10)]
        self.assertEqual(got, [f"/{'ab'[i % 2]}/s{i}" for i in range(10)])

    def test_pipeline_with_head_and_404_in_the_middle(self):
        c = self.conn(self.port)
        c.send(build_request("GET", "/a/1") + build_request("HEAD", "/b/2") +
               build_request("GET", "/b/3"))
        r1 = c.read_response()
        r2 = c.read_response(head_request=True)
        r3 = c.read_response()
        self.assertEqual([r1.json()["raw_url"], r2.status, r3.json()["raw_url"]],
                         ["/a/1", 200, "/b/3"])
        # a 404 ends the pipeline here: the service answers it with Connection: close
        c2 = self.conn(self.port)
        c2.send(build_request("GET", "/a/x") + build_request("GET", "/nothing/") +
                build_request("GET", "/b/never"))
        self.assertEqual(c2.read_response().json()["raw_url"], "/a/x")
        r = c2.read_response()
        self.assertEqual(r.status, 404)

    def test_many_keepalive_connections_interleaved(self):
        conns = [self.conn(self.port) for _ in range(8)]
        for round_ in range(3):
            for i, c in enumerate(conns):
                c.send(build_request("GET", f"/{'ab'[(i + round_) % 2]}/c{i}r{round_}"))
            for i, c in enumerate(conns):
                j = c.read_response().json()
                self.assertEqual(j["raw_url"], f"/{'ab'[(i + round_) % 2]}/c{i}r{round_}")
                self.assertEqual(j["remote"], f"127.0.0.1:{c.local_port}")
        self.assertEqual(len({c.request("GET", "/a/").json()["connection_id"] for c in conns}), 8)

    def test_concurrent_clients_get_their_own_answers(self):
        # 8 clients at once, each on its own keep-alive connection, pipelining in bursts of
        # 5 to both apps: every answer must be the one for that client's request (no answer
        # crosses connections, whichever I/O thread or app handled it).
        errors = []
        request_ids = []
        lock = threading.Lock()

        def client(k):
            try:
                c = harness.Conn(self.port, timeout=20)
                port = c.local_port
                for burst in range(10):
                    wire, expected = b"", []
                    for i in range(5):
                        app = "ab"[(k + burst + i) % 2]
                        path = f"/{app}/k{k}b{burst}i{i}"
                        body = f"{k}:{burst}:{i}".encode() * (1 + i)
                        wire += build_request("POST", path, body=body)
                        expected.append((app.upper(), path, sha256_hex(body),
                                         f"127.0.0.1:{port}"))
                    c.send(wire)
                    for exp in expected:
                        j = c.read_response().json()
                        got = (j["app"], j["raw_url"], j["body_sha256"], j["remote"])
                        if got != exp:
                            raise AssertionError(f"client {k}: expected {exp}, got {got}")
                        with lock:
                            request_ids.append(j["request_id"])
                c.close()
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"client {k}: {e!r}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(errors, [])
        self.assertEqual(len(request_ids), 400)
        self.assertEqual(len(set(request_ids)), 400, "request_id unique across threads")


class KeepAlivePipeliningTwoIoThreads(KeepAlivePipelining):
    IO_THREADS = 2


if __name__ == "__main__":
    harness.main()
