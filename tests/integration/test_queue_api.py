"""The queue API of issue 5: shutting a queue down (HttpShutdownRequestQueue), many threads
receiving from one handle (one arrival wakes one of them), learning that a client left
(HttpWaitForDisconnect), and receiving into the application's buffer, with the buffer that
is too small (ERROR_MORE_DATA). Real httpapid, real C applications, raw sockets."""

import os
import signal
import socket
import struct
import threading
import time
import unittest

import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port, http


class QueueShutdownTest(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.owner = self.start_app([binary("HTTPAPI_SHUTDOWN_APP"), f"http://+:{self.port}/",
                                     "shop"], "owner")

    def worker(self, name, *extra):
        return self.start_app([binary("HTTPAPI_ECHO"), "--open", "--queue", "shop", "--name",
                               name] + list(extra), name)

    def shut_down(self):
        self.owner.send_signal(signal.SIGUSR1)
        lines = {}
        while True:
            line = self.owner.read_line(10).decode().split()
            if line == ["done"]:
                return lines
            lines[line[0]] = line[1]

    def test_blocked_workers_wake_and_the_queue_is_gone(self):
        workers = [self.worker("W1"), self.worker("W2")]
        # Both serve the queue (on a loaded machine one may reach its first receive late).
        apps = set()
        harness.wait_until(lambda: apps.add(http(self.port, path="/").json()["app"]) or
                           apps == {"W1", "W2"}, what="both workers answering")
        started = time.monotonic()
        lines = self.shut_down()
        self.assertEqual(lines, {"worker-shutdown": "HTTPAPI_ERROR_ACCESS_DENIED",
                                 "shutdown": "HTTPAPI_OK", "again": "HTTPAPI_OK",
                                 "property": "HTTPAPI_ERROR_SHUTDOWN",
                                 "receive": "HTTPAPI_ERROR_SHUTDOWN",
                                 "bind": "HTTPAPI_ERROR_SHUTDOWN",
                                 "recreate": "HTTPAPI_OK"})
        # Both workers sat in httpapi_receive in other processes: they return SHUTDOWN and
        # httpapi-echo exits 0 on it.
        for w in workers:
            self.assertEqual(w.wait(5), 0, w.stderr())
            self.assertIn("the queue was shut down", w.stderr())
        self.assertLess(time.monotonic() - started, 5)
        # The URL group is bound to no queue now (its owner still runs): 503, logged N/A.
        c = self.conn(self.port)
        c.send(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 503)
        self.wait_log(lambda e: e.cs_uri == "/after" and e.s_reason == "N/A")
        # The persistent queue is gone: nobody can join it any more.
        joining = self.run_app([binary("HTTPAPI_ECHO"), "--open", "--queue", "shop"])
        self.assertEqual(joining.returncode, 2)
        self.assertIn(b"HTTPAPI_ERROR_NOT_FOUND", joining.stderr)

    def test_inactive_queue_refuses_new_requests_until_active_again(self):
        self.worker("W1")
        self.assertEqual(http(self.port, path="/before").status, 200)
        self.owner.send_signal(signal.SIGUSR2)
        self.assertEqual(self.owner.read_line(5), b"inactive HTTPAPI_OK\n")
        self.assertEqual(http(self.port, path="/while-inactive").status, 503)
        self.wait_log(lambda e: e.cs_uri == "/while-inactive" and e.s_reason == "Disabled")
        self.owner.send_signal(signal.SIGUSR2)
        self.assertEqual(self.owner.read_line(5), b"active HTTPAPI_OK\n")
        self.assertEqual(http(self.port, path="/again").json()["app"], "W1")

    def test_waiting_requests_get_503_and_received_ones_finish(self):
        self.worker("slow", "--delay-ms", "1500")
        results = {}

        def get(path):
            results[path] = http(self.port, path=path, timeout=15)

        threads = [threading.Thread(target=get, args=("/in-hand",))]
        threads[0].start()
        time.sleep(0.4)  # the worker has it and sleeps
        threads += [threading.Thread(target=get, args=(p,)) for p in ("/waiting1", "/waiting2")]
        for t in threads[1:]:
            t.start()
        time.sleep(0.4)  # both wait in the queue: the only worker is busy
        self.assertEqual(self.shut_down()["shutdown"], "HTTPAPI_OK")
        for t in threads:
            t.join(15)
        for path in ("/waiting1", "/waiting2"):
            self.assertEqual(results[path].status, 503)
            self.assertIn(b"shut down its request queue", results[path].body)  # verbosity full
            entry = self.wait_log(lambda e, p=path: e.cs_uri == p)
            self.assertEqual((entry.s_reason, entry.s_queuename), ("AppShutdown", "shop"))
        self.assertEqual(results["/in-hand"].status, 200)
        self.assertEqual(results["/in-hand"].json()["raw_url"], "/in-hand")
        self.assertEqual(self.procs[-1].wait(5), 0)


class ManyReceivingThreadsTest(ServiceTestCase):
    THREADS = 8

    @staticmethod
    def voluntary_switches(pid):
        """Times the process's threads gave up the CPU to wait (/proc, summed over threads)."""
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        return total

    def test_every_request_answered_exactly_once_and_shutdown_wakes_all(self):
        port = free_port()
        app = self.start_app([binary("HTTPAPI_HERD_APP"), f"http://+:{port}/h/",
                              str(self.THREADS)], "herd")
        answers = []
        lock = threading.Lock()

        def client(k):
            c = self.conn(port)
            for i in range(25):
                r = c.request("GET", f"/h/{k}/{i}", host="x")
                with lock:
                    answers.append((f"/h/{k}/{i}", r))

        clients = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(60)
        self.assertEqual(len(answers), 16 * 25)
        ids, threads_used = set(), set()
        for url, r in answers:
            self.assertEqual(r.status, 200, r.body)  # 500: a request was handed out twice
            fields = dict(f.split("=", 1) for f in r.body.decode().split())
            self.assertEqual(fields["url"], url)
            ids.add(fields["id"])
            threads_used.add(fields["thread"])
        self.assertEqual(len(ids), len(answers))
        self.assertGreater(len(threads_used), 1)
        # One request at a time: an arrival wakes the thread that reads it and the one that
        # takes over reading (about 3.5 switches a request here), not all eight threads
        # (about 23 when every arrival woke every waiter).
        before = self.voluntary_switches(app.pid)
        c = self.conn(port)
        for i in range(200):
            self.assertEqual(c.request("GET", f"/h/seq/{i}", host="x").status, 200)
        per_request = (self.voluntary_switches(app.pid) - before) / 200
        self.assertLess(per_request, self.THREADS, f"{per_request} switches a request")
        # One thread shuts the queue down; every other one is blocked in receive and wakes.
        self.assertEqual(http(port, path="/h/shutdown").status, 200)
        self.assertEqual(app.read_line(5), f"ended {self.THREADS} with SHUTDOWN\n".encode())
        self.assertEqual(app.wait(5), 0)


class WaitForDisconnectTest(ServiceTestCase):

    def start(self, mode):
        self.port = free_port()
        self.app = self.start_app([binary("HTTPAPI_DISCONNECT_APP"), f"http://+:{self.port}/d/",
                                   mode], mode)

    def result(self, timeout=10):
        """(error name, milliseconds) of the application's next `result` line."""
        words = self.app.read_line(timeout).decode().split()
        self.assertEqual(words[0], "result", words)
        return words[1], int(words[2])

    def stream_then_leave(self):
        c = self.conn(self.port)
        c.send(b"GET /d/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        c.read_head()
        c.read_exact(8 * 1024, time.monotonic() + 10)  # the stream flows
        c.close()
        return time.monotonic()

    def assert_learned_within_a_second(self, left, expected):
        name, _ = self.result()
        self.assertEqual(name, expected)
        self.assertLess(time.monotonic() - left, 1.0)

    def test_streaming_send_fails_once_the_client_left(self):
        self.start("send")
        self.assert_learned_within_a_second(self.stream_then_leave(),
                                            "HTTPAPI_ERROR_CONNECTION_GONE")

    def test_blocked_waiter_thread_learns_while_another_streams(self):
        self.start("thread")
        self.assert_learned_within_a_second(self.stream_then_leave(), "HTTPAPI_OK")

    def test_event_loop_learns_through_the_queue_descriptor(self):
        self.start("poll")
        c = self.conn(self.port)
        c.send(b"GET /d/poll HTTP/1.1\r\nHost: x\r\n\r\n")
        c.read_head()
        time.sleep(0.3)  # the application now waits in epoll, sending nothing
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # a reset: the service learns at once, without writing
        self.assert_learned_within_a_second(time.monotonic(), "HTTPAPI_OK")

    def test_half_close_is_not_a_disconnect_but_a_reset_is(self):
        self.start("idle")
        c = self.conn(self.port)
        c.send(b"GET /d/idle HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        c.sock.shutdown(socket.SHUT_WR)  # still waiting for the answer (B053)
        name, ms = self.result()
        self.assertEqual(name, "HTTPAPI_ERROR_TIMEOUT")
        self.assertGreaterEqual(ms, 1400)
        time.sleep(0.3)  # the application waits with no timeout now
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        self.assert_learned_within_a_second(time.monotonic(), "HTTPAPI_OK")
        self.assertEqual(self.app.read_line(5).split()[:2], [b"send",
                                                              b"HTTPAPI_ERROR_CONNECTION_GONE"])

    def test_waiting_after_the_response_is_refused_at_once(self):
        self.start("finished")
        r = http(self.port, path="/d/done")
        self.assertEqual(r.body, b"done\n")
        name, ms = self.result()
        self.assertEqual(name, "HTTPAPI_ERROR_INVALID_STATE")
        self.assertLess(ms, 1000)

    def test_completing_the_response_ends_a_wait_in_another_thread(self):
        self.start("watched")
        r = http(self.port, path="/d/watched")
        self.assertEqual(r.body, b"done\n")
        name, ms = self.result()
        self.assertEqual(name, "HTTPAPI_ERROR_INVALID_STATE")
        self.assertLess(ms, 1000)

    def test_cancel_closes_the_connection_and_ends_a_wait(self):
        self.start("cancelled")
        c = self.conn(self.port)
        c.send(b"GET /d/cancel HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(c.wait_closed(5))
        self.assertEqual(c.buf, b"")  # closed without a response, as HttpCancelHttpRequest
        name, ms = self.result()
        self.assertEqual(name, "HTTPAPI_OK")
        self.assertLess(ms, 1000)
        self.wait_log(lambda e: e.cs_uri == "/d/cancel" and e.s_reason == "Request_Cancelled")


class ReceiveIntoTest(ServiceTestCase):

    def test_buffer_too_small_keeps_the_request_for_this_handle(self):
        port = free_port()
        app = self.start_app([binary("HTTPAPI_RECEIVE_INTO_APP"), f"http://+:{port}/r/", "ri"],
                             "receive-into")

        def step():
            words = app.read_line(10).decode().split()
            return words[0], words[1], int(words[2])

        big = "v" * 3000
        a = self.conn(port)
        a.send(f"GET /r/a HTTP/1.1\r\nHost: x\r\nX-Test: {big}\r\n\r\n".encode())
        name, error, needed = step()
        self.assertEqual((name, error), ("probe", "HTTPAPI_ERROR_MORE_DATA"))
        self.assertGreater(needed, 3000)
        self.assertEqual(step(), ("short", "HTTPAPI_ERROR_MORE_DATA", needed))
        self.assertEqual(step()[:2], ("misaligned", "HTTPAPI_ERROR_INVALID_PARAMETER"))
        # Meanwhile the other handle gets the next request, never the held one.
        r = http(port, path="/r/b")
        self.assertEqual(r.body, b"second /r/b")
        self.assertEqual(step()[:2], ("second", "HTTPAPI_OK"))
        self.assertEqual(step(), ("exact", "HTTPAPI_OK", needed))
        self.assertEqual(a.read_response().body.decode(),
                         f"first /r/a X-Test={big} used={needed} inside=1")
        # After MORE_DATA a plain receive on the handle takes the same request too.
        c = self.conn(port)
        c.send(b"GET /r/c HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(step()[:2], ("probe2", "HTTPAPI_ERROR_MORE_DATA"))
        self.assertEqual(step()[:2], ("plain", "HTTPAPI_OK"))
        self.assertEqual(c.read_response().body, b"plain /r/c")
        self.assertEqual(app.wait(5), 0)


class NewMessagesFromRawPeersTest(ServiceTestCase):
    """shutdown_queue (28) and decline (29) from peers that misuse them: a specific answer or
    nothing, never a crash."""

    def peer(self, role):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.control)
        s.sendall(frame(1, 0, struct.pack("<IHHB", 0x49504148, 1, 1, role)))
        s.recv(64)  # hello_ack
        return s

    def test_misused_queue_messages(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/", name="E")
        s = self.peer(2)  # a queue connection that never made a queue
        s.sendall(frame(29, 12345, b""))  # declines a request it was never given: ignored
        s.sendall(frame(28, 7, b""))
        reply = s.recv(256)
        _, msg_type, _, tag = struct.unpack_from("<IHHQ", reply, 0)
        status = struct.unpack_from("<I", reply, 16)[0]
        self.assertEqual((msg_type, tag, status), (3, 7, 1))  # result: INVALID_PARAMETER
        s.close()
        session = self.peer(1)  # a session may not shut queues down
        session.sendall(frame(28, 8, b""))
        self.assertEqual(session.recv(256), b"")  # disconnected
        session.close()
        self.assertEqual(http(port, path="/still").json()["app"], "E")


def frame(msg_type, tag, fixed, variable=b""):
    return struct.pack("<IHHQ", 16 + len(fixed) + len(variable), msg_type, len(fixed), tag) \
        + fixed + variable


if __name__ == "__main__":
    unittest.main(verbosity=2)
