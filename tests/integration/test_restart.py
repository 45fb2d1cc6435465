"""The service restarts, applications do not (issue 5 item 4): libhttpapi reconnects with
backoff and makes its queues, URL groups, URLs and bindings again by itself; applications
see only their in-flight requests fail."""

import threading
import time
import unittest

from harness import ServiceTestCase, binary, free_port, http, wait_until


class RestartTest(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()

    def restart_service(self):
        self.assertEqual(self.service.stop(), 0)
        self.service = self.start_service()

    def answers(self, path, app):
        def ok():
            try:
                r = http(self.port, path=path, timeout=2)
                return r.status == 200 and r.json()["app"] == app
            except OSError:
                return False
        wait_until(ok, 15, interval=0.1, what=f"{path} answered by {app} after the restart")

    def test_two_apps_come_back_without_restarting(self):
        a = self.start_echo(f"http://+:{self.port}/a/", name="A")
        b = self.start_echo(f"http://+:{self.port}/b/", name="B")
        self.assertEqual(http(self.port, path="/a/").json()["app"], "A")
        self.restart_service()
        self.answers("/a/x", "A")
        self.answers("/b/y", "B")
        self.assertTrue(a.alive() and b.alive(), "an application had to be restarted")
        # and once more: reconnection is not a one-off
        self.restart_service()
        self.answers("/a/again", "A")
        self.answers("/b/again", "B")

    def test_in_flight_request_fails_then_the_app_serves_again(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/slow/",
                        "--name", "S", "--delay-ms", "1500"], "slow")
        results = []

        def slow_request():
            try:
                results.append(http(self.port, path="/slow/1", timeout=10))
            except Exception as e:
                results.append(e)
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.5)
        self.assertEqual(self.service.stop(), 0)
        t.join(15)
        self.assertEqual(len(results), 1)
        self.service = self.start_service()
        self.answers("/slow/2", "S")

    def test_worker_pool_with_a_persistent_queue_comes_back(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue",
                        "pool", "--url", f"http://+:{self.port}/"], "controller")
        self.start_app([binary("HTTPAPI_ECHO"), "--open", "--queue", "pool", "--name", "W"],
                       "worker")
        self.assertEqual(http(self.port, path="/").json()["app"], "W")
        self.restart_service()
        self.answers("/after", "W")

    def test_event_driven_app_comes_back(self):
        self.start_app([binary("HTTPAPI_POLL_APP"), f"http://+:{self.port}/p/"], "poll")
        self.assertEqual(http(self.port, path="/p/1").status, 200)
        self.restart_service()

        def ok():
            try:
                return http(self.port, path="/p/2", timeout=2).status == 200
            except OSError:
                return False
        wait_until(ok, 15, interval=0.1, what="the epoll application after the restart")


if __name__ == "__main__":
    unittest.main(verbosity=2)
