"""The C API used the event-driven way, and the control socket under abuse: an application
that waits on its queue's file descriptor with epoll, and peers that send the service
malformed, oversized or out-of-place protocol messages (they are disconnected and logged;
the service keeps serving)."""

import os
import socket
import struct
import unittest

from harness import ServiceTestCase, binary, free_port, http, wait_until

MAGIC = 0x49504148


def frame(msg_type, tag, fixed, variable=b""):
    return struct.pack("<IHHQ", 16 + len(fixed) + len(variable), msg_type, len(fixed), tag) \
        + fixed + variable


def hello(role):
    return frame(1, 0, struct.pack("<IHHB", MAGIC, 1, 1, role))


class PollingApplicationTest(ServiceTestCase):

    def test_epoll_and_zero_timeouts(self):
        import time
        port = free_port()
        self.start_app([binary("HTTPAPI_POLL_APP"), f"http://+:{port}/p/"], "poll")
        for i in range(1, 5):
            r = http(port, path=f"/p/{i}")
            self.assertEqual(r.status, 200)  # 500 would mean the URL context was lost
            self.assertTrue(r.body.startswith(b"polled %d after " % i), r.body)
            time.sleep(0.6)
        # The application slept in epoll_wait between requests, never in the API: a
        # zero-timeout receive that blocked would have waited for the next request.
        words = r.body.split()
        self.assertGreaterEqual(int(words[3]), 1, r.body)
        self.assertLess(int(words[7]), 300000, r.body)


    def test_known_headers_are_merged(self):
        port = free_port()
        self.start_app([binary("HTTPAPI_POLL_APP"), f"http://+:{port}/p/"], "poll")
        r = http(port, path="/p/h", headers=[("Cookie", "a=1"), ("Accept", "text/html"),
                                              ("Cookie", "b=2"), ("Accept", "*/*")])
        lines = r.body.decode().splitlines()
        self.assertIn("cookie=a=1; b=2", lines)
        self.assertIn("accept=text/html, */*", lines)
        self.assertIn(f"host=127.0.0.1:{port}", lines)


class ControlSocketAbuseTest(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_echo(f"http://+:{self.port}/", name="E")

    def peer(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)  # a peer stuck inside a frame is dropped after 5 s without hello
        s.connect(self.control)
        return s

    def assert_disconnected(self, s):
        try:
            data = s.recv(65536)
            while data:
                data = s.recv(65536)
        except ConnectionResetError:
            pass
        s.close()

    def assert_serving(self):
        self.assertEqual(http(self.port, path="/still").json()["app"], "E")

    def wait_logged(self, text):
        wait_until(lambda: text in self.service.stderr(), 5, what=f"'{text}' in the log")

    def test_garbage_before_hello(self):
        s = self.peer()
        s.sendall(os.urandom(64) + b"\x00" * 64)
        self.assert_disconnected(s)
        self.wait_logged("disconnected")
        self.assert_serving()

    def test_wrong_magic(self):
        s = self.peer()
        s.sendall(frame(1, 0, struct.pack("<IHHB", 0xdeadbeef, 1, 1, 1)))
        self.assert_disconnected(s)
        self.wait_logged("not a valid hello")
        self.assert_serving()

    def test_unsupported_version_gets_an_answer_first(self):
        s = self.peer()
        s.sendall(frame(1, 0, struct.pack("<IHHB", MAGIC, 7, 9, 1)))
        ack = s.recv(64)
        magic, version, status = struct.unpack_from("<IHI", ack, 16)
        self.assertEqual(status, 12)  # HTTPAPI_ERROR_VERSION_MISMATCH
        self.assert_disconnected(s)
        self.assert_serving()

    def test_oversized_frame(self):
        s = self.peer()
        s.sendall(hello(1))
        s.recv(64)
        s.sendall(struct.pack("<IHHQ", 0x7fffffff, 12, 0, 1))
        self.assert_disconnected(s)
        self.wait_logged("oversized message")
        self.assert_serving()

    def test_reference_outside_the_frame(self):
        s = self.peer()
        s.sendall(hello(1))
        s.recv(64)
        # add_url whose prefix reference points far past the variable area
        s.sendall(frame(12, 5, struct.pack("<QQII", 1, 0, 1000, 50)))
        self.assert_disconnected(s)
        self.wait_logged("malformed add_url")
        self.assert_serving()

    def test_message_on_the_wrong_kind_of_connection(self):
        s = self.peer()
        s.sendall(hello(1))  # a session...
        s.recv(64)
        s.sendall(frame(21, 0, struct.pack("<I", 1)))  # ...asking for requests
        self.assert_disconnected(s)
        self.wait_logged("not valid on a")
        self.assert_serving()

    def file_chunk_send(self, offset=0, length=1):
        """A send_body whose body is a chunk list with one file chunk (docs/protocol.md)."""
        chunk_list = struct.pack("<QBQQ", 0, 1, offset, length)
        fixed = struct.pack("<III", 0x80000000, 0, len(chunk_list))
        return frame(24, 123, fixed, chunk_list)

    def queue_peer(self):
        s = self.peer()
        s.sendall(hello(2))
        s.recv(64)
        return s

    def test_file_chunk_without_its_descriptor(self):
        s = self.queue_peer()
        s.sendall(self.file_chunk_send())
        self.assert_disconnected(s)
        self.wait_logged("file chunks without their descriptors")
        self.assert_serving()

    def test_file_chunk_that_is_not_a_regular_file(self):
        s = self.queue_peer()
        r, w = os.pipe()
        try:
            socket.send_fds(s, [self.file_chunk_send()], [r])
        finally:
            os.close(r)
            os.close(w)
        self.assert_disconnected(s)
        self.wait_logged("file chunk: not a regular file")
        self.assert_serving()

    def test_file_chunk_past_the_end_of_its_file(self):
        s = self.queue_peer()
        with open(os.path.join(self.tmp, "small"), "wb+") as f:
            f.write(b"12345")
            f.flush()
            socket.send_fds(s, [self.file_chunk_send(3, 5)], [f.fileno()])
        self.assert_disconnected(s)
        self.wait_logged("file chunk: range past the end of the file")
        self.assert_serving()

    def test_descriptors_without_frames(self):
        s = self.queue_peer()
        fd = os.open("/dev/null", os.O_RDONLY)
        try:
            for _ in range(8):  # 8 x 253 descriptors, one byte of a frame each
                socket.send_fds(s, [b"\x00"], [fd] * 253)
        except (BrokenPipeError, ConnectionResetError):
            pass  # dropped before the last ones went
        finally:
            os.close(fd)
        self.assert_disconnected(s)
        self.wait_logged("descriptors the protocol does not allow")
        self.assert_serving()
        # None of them stayed open in httpapid.
        wait_until(lambda: len(os.listdir(f"/proc/{self.service.pid}/fd")) < 100, 5,
                   what="httpapid closed the descriptors")

    def test_peer_that_never_finishes_its_hello(self):
        s = self.peer()
        s.sendall(hello(1)[:10])  # stuck inside the first frame
        self.assert_disconnected(s)
        self.wait_logged("no valid hello")
        self.assert_serving()

    def test_many_abusers_in_parallel(self):
        sockets = []
        for i in range(50):
            s = self.peer()
            s.sendall(os.urandom(200))
            sockets.append(s)
        for s in sockets:
            self.assert_disconnected(s)
        self.assert_serving()


if __name__ == "__main__":
    unittest.main(verbosity=2)
