"""Request queues and the process model: a controller with a persistent named queue, worker
processes joining it, bounded length with 503 QueueFull, the request-queue timer, 503
verbosity, requests waiting for the next worker, and receive windows."""

import threading
import time
import unittest

from harness import ServiceTestCase, binary, free_port, http


class QueueTest(ServiceTestCase):
    SERVICE_ARGS = ()

    def setUp(self):
        super().setUp()
        self.port = free_port()

    def controller(self, *extra, queue="pool"):
        argv = [binary("HTTPAPI_ECHO"), "--controller", "--queue", queue,
                "--url", f"http://+:{self.port}/"] + list(extra)
        return self.start_app(argv, "controller")

    def worker(self, name, *extra, queue="pool"):
        argv = [binary("HTTPAPI_ECHO"), "--open", "--queue", queue, "--name", name] + list(extra)
        return self.start_app(argv, name)

    def get_in_background(self, path, results, timeout=15):
        def run():
            try:
                results.append(http(self.port, path=path, timeout=timeout))
            except Exception as e:  # recorded, asserted by the test
                results.append(e)
        t = threading.Thread(target=run)
        t.start()
        return t

    def test_workers_share_a_named_queue(self):
        self.controller()
        self.worker("W1")
        self.worker("W2")
        apps = {http(self.port, path=f"/{i}").json()["app"] for i in range(20)}
        self.assertEqual(apps, {"W1", "W2"})

    def test_persistent_queue_keeps_requests_for_the_next_worker(self):
        self.controller("--persistent")
        first = self.worker("W1")
        self.assertEqual(http(self.port, path="/").json()["app"], "W1")
        first.stop()
        results = []
        t = self.get_in_background("/waiting", results)
        time.sleep(0.5)  # the request is queued while no worker is attached
        self.assertEqual(results, [])
        self.worker("W2")
        t.join(15)
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0].status, 200)
        self.assertEqual(results[0].json()["app"], "W2")
        self.assertEqual(results[0].json()["raw_url"], "/waiting")

    def test_full_queue_answers_503_queuefull(self):
        self.controller("--queue-length", "2")
        results = []
        threads = [self.get_in_background(f"/wait{i}", results) for i in range(2)]
        time.sleep(0.5)
        r = http(self.port, path="/third")
        self.assertEqual(r.status, 503)
        e = self.wait_log(lambda e: e.s_reason == "QueueFull")
        self.assertEqual(e.s_queuename, "pool")
        self.worker("W1")
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(r.status for r in results), [200, 200])

    def test_request_queue_timer(self):
        self.start_service_setting("request_queue_seconds", "1")
        self.controller()
        r = http(self.port, path="/nobody-takes-me", timeout=10)
        self.assertEqual(r.status, 503)
        self.wait_log(lambda e: e.s_reason == "Timer_ReqQueue" and e.cs_uri == "/nobody-takes-me")

    def start_service_setting(self, key, value):
        import subprocess
        subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                        "--key", key, "--value", value], check=True, capture_output=True,
                       timeout=20)

    def test_503_verbosity(self):
        self.controller("--queue-length", "1", "--503-verbosity", "full")
        results = []
        t = self.get_in_background("/hold", results)
        time.sleep(0.5)
        r = http(self.port, path="/refused")
        self.assertEqual(r.status, 503)
        self.assertIn(b"request queue is full", r.body)
        self.worker("W1")
        t.join(15)

    def test_503_verbosity_basic_resets(self):
        self.controller("--queue-length", "1", "--503-verbosity", "basic")
        results = []
        t = self.get_in_background("/hold", results)
        time.sleep(0.5)
        c = self.conn(self.port)
        c.send(b"GET /refused HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises(Exception):
            c.read_response()
        self.wait_log(lambda e: e.s_reason == "QueueFull")
        self.worker("W1")
        t.join(15)

    def test_worker_killed_with_a_request_gets_503_and_others_continue(self):
        self.controller("--persistent")
        slow = self.worker("slow", "--delay-ms", "3000")
        results = []
        t = self.get_in_background("/in-flight", results)
        time.sleep(0.5)
        slow.stop(sig=9)
        t.join(15)
        self.assertEqual(results[0].status, 503)
        self.wait_log(lambda e: e.s_reason == "Connection_Abandoned_By_ReqQueue")
        self.worker("fast")
        self.assertEqual(http(self.port, path="/after").json()["app"], "fast")

    def test_receive_window_still_answers_everything(self):
        self.start_echo(f"http://+:{self.port}/w/", name="windowed")
        self.procs[-1].stop()
        argv = [binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/w/", "--name", "batch",
                "--receive-window", "16"]
        self.start_app(argv, "batch")
        c = self.conn(self.port)
        c.send(b"".join(b"GET /w/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(40)))
        for i in range(40):
            r = c.read_response()
            self.assertEqual(r.json()["raw_url"], f"/w/{i}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
