#!/usr/bin/env python3
"""Requests taken ahead of receive calls (docs/queues.md): the default receive window grows
while requests wait and keeps their order, and a worker killed while it holds requests it
took ahead gives back the ones application code never saw (the next worker answers them)
while the ones it saw get 503; no request reaches two workers."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServiceTestCase, binary, free_port, wait_until  # noqa: E402

QUEUE = "prefetch"


class Prefetch(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        # A persistent queue whose controller receives nothing: requests wait for workers.
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue",
                        QUEUE, "--url", f"http://+:{self.port}/"], "controller")

    def hold_worker(self, name, window, hold, delay_ms=0, without_memfd=False):
        argv = [binary("HTTPAPI_HOLD_APP"), QUEUE, name, str(window), str(hold), str(delay_ms)]
        if without_memfd:
            argv.insert(0, binary("HTTPAPI_NO_MEMFD"))
        return self.start_app(argv, name)

    def queue_length(self):
        argv = [binary("HTTPCFG"), "--state-dir", self.state_dir, "show", "servicestate",
                "--json"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        queues = json.loads(r.stdout)["queues"]
        return next(q["length"] for q in queues if q["name"] == QUEUE)

    def send_in_order(self, paths):
        """One connection per request, each request written after the previous one had time
        to reach the queue, so the queue holds them in this order."""
        connections = []
        for path in paths:
            c = self.conn(self.port, timeout=30)
            c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            connections.append(c)
            time.sleep(0.03)
        return connections

    @staticmethod
    def lines(proc, count, timeout=20):
        return [proc.read_line(timeout).decode().split() for _ in range(count)]

    def test_killed_worker_gives_back_what_it_never_saw(self):
        self.check_killed_worker(without_memfd=False)

    def test_killed_worker_gives_back_what_it_never_saw_reported_by_seen_frames(self):
        # Where memfd_create fails the library cannot share its seen counter: each request
        # its application code takes is reported by a `seen` frame, with the same promise.
        self.check_killed_worker(without_memfd=True)

    def check_killed_worker(self, without_memfd):
        paths = [f"/k/{i}" for i in range(8)]
        first = self.hold_worker("first", window=8, hold=2, without_memfd=without_memfd)
        connections = self.send_in_order(paths)
        # The first worker saw two requests and holds them; the other six were handed to it
        # ahead of any receive: nothing is left in the service's queue.
        seen = self.lines(first, 2)
        self.assertEqual(seen, [["seen", "/k/0"], ["seen", "/k/1"]])
        wait_until(lambda: self.queue_length() == 0, 10, what="every request handed over")
        second = self.hold_worker("second", window=0, hold=0)
        self.assertEqual(second.read_available(), b"",
                         "the second worker got requests the first one held")

        first.stop(sig=signal.SIGKILL)
        answers = [c.read_response(timeout=20) for c in connections]
        statuses = {path: r.status for path, r in zip(paths, answers)}
        self.assertEqual(statuses, {p: 503 if p in ("/k/0", "/k/1") else 200 for p in paths})
        for path, r in zip(paths[2:], answers[2:]):
            self.assertEqual(r.body.decode(), f"second {path}")
        # The second worker received exactly the six unseen requests, each once, in order.
        self.assertEqual(self.lines(second, 6), [["answered", p] for p in paths[2:]])
        self.assertEqual(second.read_available(), b"")
        for path in ("/k/0", "/k/1"):
            self.wait_log(lambda e, path=path: e.cs_uri == path and
                          e.s_reason == "Connection_Abandoned_By_ReqQueue")
        abandoned = [e.cs_uri for e in self.log_entries()
                     if e.s_reason == "Connection_Abandoned_By_ReqQueue"]
        self.assertEqual(sorted(abandoned), ["/k/0", "/k/1"])

    def test_default_window_grows_under_load_and_keeps_order(self):
        paths = [f"/o/{i}" for i in range(30)]
        connections = self.send_in_order(paths)
        wait_until(lambda: self.queue_length() == 30, 10, what="30 requests waiting")
        # Default window, 200 ms per request: with HTTP.sys's window of 1 the worker would
        # hold one request at a time and the queue would shrink by one per answer.
        worker = self.hold_worker("worker", window=0, hold=0, delay_ms=200)
        self.assertEqual(self.lines(worker, 5), [["answered", p] for p in paths[:5]])
        length = self.queue_length()
        self.assertLessEqual(length, 30 - 5 - 8,
                             "the worker took no requests ahead although 25 were waiting")
        answered = self.lines(worker, 25, timeout=30)
        self.assertEqual(answered, [["answered", p] for p in paths[5:]])
        for path, c in zip(paths, connections):
            r = c.read_response(timeout=20)
            self.assertEqual((r.status, r.body.decode()), (200, f"worker {path}"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
