#!/usr/bin/env python3
"""Pipelined requests served in parallel (docs/pipelining.md): up to max_pipelined_requests
requests of one connection are admitted and sent to their queues at once, possibly to
different applications; responses still go out in request order (RFC 9112 §9.3.2), the
later ones waiting behind the earlier. A body holds back the next head until it is read; an
application that dies, a client that leaves and a pipeline far longer than the limit lose
nothing and leak nothing."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ServiceTestCase, binary, build_request, free_port,  # noqa: E402
                     sha256_hex, wait_until)


def get(path):
    return build_request("GET", path)


class PipeliningInParallel(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()

    # -- helpers

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args),
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def servicestate(self):
        return json.loads(self.httpcfg("show", "servicestate", "--json"))

    def queue(self, name, path):
        """A persistent queue for `path` whose controller receives nothing: its requests go
        to the hold_app workers a test starts."""
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue", name,
                        "--url", f"http://+:{self.port}{path}"], f"controller-{name}")

    def worker(self, queue, name, hold=0, delay_ms=0, window=0, watch=False):
        argv = [binary("HTTPAPI_HOLD_APP"), queue, name, str(window), str(hold), str(delay_ms)]
        if watch:
            argv.append("watch")
        return self.start_app(argv, name)

    @staticmethod
    def next_line(proc, timeout=20):
        return proc.read_line(timeout).decode().split()

    def httpapid_fds(self):
        return len(os.listdir(f"/proc/{self.service.popen.pid}/fd"))

    def httpapid_rss_kib(self):
        with open(f"/proc/{self.service.popen.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    # -- tests

    def test_a_later_request_is_answered_by_its_app_first_and_sent_in_order(self):
        self.queue("slow", "/slow/")
        self.queue("fast", "/fast/")
        slow = self.worker("slow", "slow", delay_ms=1500)
        fast = self.worker("fast", "fast")
        c = self.conn(self.port, timeout=20)
        c.send(get("/slow/1") + get("/fast/2") + get("/fast/3"))
        # Both fast requests reach their application and are answered while the slow one is
        # still being worked on: they were dispatched without waiting for it.
        self.assertEqual(self.next_line(fast), ["answered", "/fast/2"])
        self.assertEqual(self.next_line(fast), ["answered", "/fast/3"])
        self.assertEqual(self.next_line(slow), ["answered", "/slow/1"])
        bodies = [c.read_response().body for _ in range(3)]
        self.assertEqual(bodies, [b"slow /slow/1", b"fast /fast/2", b"fast /fast/3"])
        # the connection goes on as usual
        self.assertEqual(c.request("GET", "/fast/4").body, b"fast /fast/4")

    def test_a_cache_hit_behind_a_slow_request_waits_its_turn(self):
        self.queue("slow", "/slow/")
        self.worker("slow", "slow", delay_ms=1000)
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--cache-ttl", "60"], "echo-cached")
        warm = self.conn(self.port).request("GET", "/e/hit").json()
        c = self.conn(self.port, timeout=20)
        c.send(get("/slow/1") + get("/e/hit"))
        first = c.read_response()
        second = c.read_response()
        self.assertEqual(first.body, b"slow /slow/1")
        self.assertEqual(second.json()["served"], warm["served"], "not served from the cache")

    def test_limit_admits_n_requests_and_the_next_after_one_is_answered(self):
        self.httpcfg("set", "setting", "--key", "max_pipelined_requests", "--value", "3")
        self.queue("held", "/h/")
        held = self.worker("held", "held", hold=4, window=1)
        c = self.conn(self.port, timeout=20)
        c.send(b"".join(get(f"/h/{i}") for i in range(4)))
        self.assertEqual([self.next_line(held) for _ in range(3)],
                         [["seen", f"/h/{i}"] for i in range(3)])
        # The fourth request stays in the client's bytes: not in the queue, not with the app.
        time.sleep(1)
        self.assertEqual(self.queue_length("held"), 0)
        self.assertEqual(held.read_available(), b"")
        # N requests: all of them at once.
        self.queue("all", "/all/")
        everything = self.worker("all", "all", hold=3, window=1)
        c2 = self.conn(self.port, timeout=20)
        c2.send(b"".join(get(f"/all/{i}") for i in range(3)))
        self.assertEqual([self.next_line(everything) for _ in range(3)],
                         [["seen", f"/all/{i}"] for i in range(3)])
        # N + 1 with an application that answers: the last is admitted once the first is
        # answered, and all four come back in order.
        self.queue("answers", "/a/")
        self.worker("answers", "answers", delay_ms=300)
        c3 = self.conn(self.port, timeout=20)
        c3.send(b"".join(get(f"/a/{i}") for i in range(4)))
        self.assertEqual([c3.read_response().body for _ in range(4)],
                         [f"answers /a/{i}".encode() for i in range(4)])

    def queue_length(self, name):
        return next(q["length"] for q in self.servicestate()["queues"] if q["name"] == name)

    def test_an_app_that_dies_mid_pipeline_leaks_nothing(self):
        self.queue("dies", "/d/")
        baseline_fds = self.httpapid_fds()
        dying = self.worker("dies", "dying", hold=2, window=1)
        c = self.conn(self.port, timeout=20)
        c.send(b"".join(get(f"/d/{i}") for i in range(4)))
        self.assertEqual([self.next_line(dying) for _ in range(2)],
                         [["seen", "/d/0"], ["seen", "/d/1"]])
        wait_until(lambda: self.queue_length("dies") == 2, what="two requests waiting")
        dying.stop()
        # The first request's application died with it: 503, and the connection ends there,
        # cleanly, with the requests behind it dropped rather than answered out of order.
        r = c.read_response()
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.wait_closed(5), "connection still open after the 503")
        wait_until(lambda: self.queue_length("dies") == 0, what="dropped requests leave the queue")
        # A new worker gets new requests only, and the service is as before.
        fresh = self.worker("dies", "fresh")
        self.assertEqual(self.conn(self.port).request("GET", "/d/new").body, b"fresh /d/new")
        self.assertEqual(self.next_line(fresh), ["answered", "/d/new"])
        self.assertEqual(fresh.read_available(), b"")
        wait_until(lambda: self.httpapid_fds() <= baseline_fds + 2,
                   what=f"httpapid's descriptors back to about {baseline_fds}")

    def test_a_client_that_leaves_mid_pipeline_cancels_every_request(self):
        self.queue("w", "/w/")
        watcher = self.worker("w", "watcher", hold=3, window=1, watch=True)
        c = self.conn(self.port, timeout=20)
        c.send(b"".join(get(f"/w/{i}") for i in range(3)))
        self.assertEqual([self.next_line(watcher) for _ in range(3)],
                         [["seen", f"/w/{i}"] for i in range(3)])
        # A reset, not a FIN: a client that only half-closes may still wait for its answers.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        self.assertEqual([self.next_line(watcher) for _ in range(3)],
                         [["gone", f"/w/{i}"] for i in range(3)])
        wait_until(lambda: self.servicestate()["connections"] == [],
                   what="the connection gone from servicestate")

    def test_a_refusal_by_reset_behind_a_slow_request_keeps_the_earlier_answer(self):
        # A group of one connection whose queue refuses with a reset (503 verbosity basic).
        self.start_app([binary("HTTPAPI_VERBOSITY_APP"), f"http://+:{self.port}/v/", "v"],
                       "verbosity")
        holder = self.conn(self.port)
        self.assertEqual(holder.request("GET", "/v/basic").body, b"verbosity basic")
        self.queue("slow", "/slow/")
        self.worker("slow", "slow", delay_ms=500)
        c = self.conn(self.port, timeout=20)
        c.send(get("/slow/1") + get("/v/refused"))
        # The refusal comes first but waits its turn: the earlier answer arrives whole, and
        # the connection then ends without an answer for the refused request (a close, since
        # a reset would destroy what was sent before it).
        self.assertEqual(c.read_response().body, b"slow /slow/1")
        self.assertTrue(c.wait_closed(5), "connection still open after the refused request")
        e = self.log_for(c.local_port)
        self.assertEqual((e.cs_uri, e.s_reason, e.s_queuename), ("/v/refused", "ConnLimit", "v"))

    def test_a_body_holds_back_the_next_head_until_it_is_read(self):
        self.start_echo(f"http://+:{self.port}/a/", name="A")
        self.start_echo(f"http://+:{self.port}/b/", name="B")
        body = os.urandom(300 * 1024)
        c = self.conn(self.port, timeout=30)
        c.send(build_request("POST", "/a/upload", body=body) + get("/b/after") +
               build_request("PUT", "/b/small", body=b"tiny") + get("/a/last"))
        got = [c.read_response().json() for _ in range(4)]
        self.assertEqual([(j["app"], j["raw_url"], j["body_length"]) for j in got],
                         [("A", "/a/upload", len(body)), ("B", "/b/after", 0),
                          ("B", "/b/small", 4), ("A", "/a/last", 0)])
        self.assertEqual(got[0]["body_sha256"], sha256_hex(body))

    def test_ten_thousand_pipelined_requests_bounded_memory_all_in_order(self):
        self.queue("p", "/p/")
        steady = self.worker("p", "steady")
        # Its "answered" lines are read and dropped, or the full pipe would stop it.
        threading.Thread(target=lambda: all(iter(lambda: os.read(steady.popen.stdout.fileno(),
                                                                   65536), b"")),
                         daemon=True).start()
        count = 10000
        wire = b"".join(get(f"/p/{i}") for i in range(count))
        rss_before = self.httpapid_rss_kib()
        c = self.conn(self.port, timeout=60)
        # Written while the answers are read, as a pipelining client must: the service reads
        # the requests only as fast as the line moves, and TCP holds the rest meanwhile.
        writer = threading.Thread(target=c.sock.sendall, args=(wire,), daemon=True)
        writer.start()
        peak = rss_before
        deadline = time.monotonic() + 120
        for i in range(count):
            r = c.read_response(timeout=deadline - time.monotonic())
            self.assertEqual(r.body, f"steady /p/{i}".encode())
            if i % 500 == 0:
                peak = max(peak, self.httpapid_rss_kib())
        writer.join(5)
        growth = peak - rss_before
        print(f"\n10,000 pipelined requests: httpapid RSS {rss_before} KiB before, peak "
              f"{peak} KiB (+{growth} KiB)", file=sys.stderr)
        self.assertLess(growth, 32 * 1024, "memory grew with the pipeline's length")


if __name__ == "__main__":
    unittest.main()
