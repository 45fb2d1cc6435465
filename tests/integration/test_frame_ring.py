#!/usr/bin/env python3
"""The frame rings (docs/protocol.md "The frame ring", "The library's ring"): the library's
frames reach the service through shared memory (protocol 5), and the service's reach the
library through a second ring (protocol 6), in the order they were written relative to the
socket; a response survives the application's death right after it was sent, and a peer
that abuses a ring is disconnected, or only served through the socket, while everything
else keeps working.

The raw peers here build the ring the way src/ipc/frame_ring.cpp does: a sealed memfd, a
control page (head at 0, tail at 64, wake word at 128) and a 128 KiB buffer of records
{u64 stamp, u32 length, u32 0, frames}."""

import fcntl
import json
import mmap
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServiceTestCase, build_request, free_port, http, wait_until  # noqa: E402

CONTROL_PAGE = 4096
CAPACITY = 128 * 1024
MAGIC = 0x49504148
T_HELLO, T_RESULT, T_CREATE_QUEUE, T_QUEUE_PROPERTY = 1, 3, 20, 27
T_FRAME_RING, T_WAKE, T_LIBRARY_RING = 38, 39, 44


def frame(msg_type, tag, fixed=b"", variable=b""):
    return struct.pack("<IHHQ", 16 + len(fixed) + len(variable), msg_type, len(fixed), tag) \
        + fixed + variable


def create_queue(call):
    return frame(T_CREATE_QUEUE, call, struct.pack("<III", 0, 0, 0))


def queue_length(call, length):
    return frame(T_QUEUE_PROPERTY, call, struct.pack("<IQ", 1, length))


class RawPeer:
    """A queue connection that speaks version `version` and keeps count of its socket bytes
    (the stamps of its ring records)."""

    def __init__(self, control, version=5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(control)
        self.sent = 0
        self.socket_taken = 0  # the service's socket bytes taken: what its stamps count
        self.ring = None
        self.buffered = b""
        self.send(frame(T_HELLO, 0, struct.pack("<IHHB", MAGIC, 1, version, 2)))
        ack = self.read_frame()
        self.version = struct.unpack_from("<H", ack, 20)[0]

    def send(self, data, fds=()):
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        self.sent += len(data)

    def read_frame(self):
        while len(self.buffered) < 4 or len(self.buffered) < struct.unpack_from("<I", self.buffered)[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the service")
            self.buffered += chunk
        size = struct.unpack_from("<I", self.buffered)[0]
        out, self.buffered = self.buffered[:size], self.buffered[size:]
        self.socket_taken += size
        return out

    def result(self):
        f = self.read_frame()
        msg_type, tag = struct.unpack_from("<H", f, 4)[0], struct.unpack_from("<Q", f, 8)[0]
        assert msg_type == T_RESULT, msg_type
        return tag, struct.unpack_from("<I", f, 16)[0]

    def closed_by_service(self):
        """True once the service closed the connection (reset: it had unread bytes)."""
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            return False
        return True

    def share_ring(self, seals=fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW, size=CONTROL_PAGE + CAPACITY):
        fd = os.memfd_create("raw-ring", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        if seals:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        self.ring = mmap.mmap(fd, size)
        self.send(frame(T_FRAME_RING, 0), fds=[fd])
        os.close(fd)

    def push(self, frames, stamp=None, wake=True):
        """One record, as the library writes it; wakes the service when it asked (and `wake`)."""
        head = struct.unpack_from("<Q", self.ring, 0)[0]
        record = struct.pack("<QII", self.sent if stamp is None else stamp, len(frames), 0) + frames
        for i, byte in enumerate(record):
            self.ring[CONTROL_PAGE + (head + i) % CAPACITY] = byte
        struct.pack_into("<Q", self.ring, 0, head + len(record))
        if wake and struct.unpack_from("<I", self.ring, 128)[0]:
            struct.pack_into("<I", self.ring, 128, 0)
            self.send(frame(T_WAKE, 0))

    def share_library_ring(self):
        """Protocol 6: the ring the service writes to; read back with next_merged()."""
        fd = os.memfd_create("raw-library-ring", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, CONTROL_PAGE + CAPACITY)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
        self.library_ring = mmap.mmap(fd, CONTROL_PAGE + CAPACITY)
        self.send(frame(T_LIBRARY_RING, 0), fds=[fd])
        os.close(fd)
        self.records = []  # [stamp, [frames]] drained from the library ring, not yet taken
        self.by_ring = self.by_socket = 0

    def drain_library_ring(self):
        ring = self.library_ring
        head, tail = struct.unpack_from("<Q", ring, 0)[0], struct.unpack_from("<Q", ring, 64)[0]
        data = b"".join(ring[CONTROL_PAGE + start:CONTROL_PAGE + end]
                        for start, end in self.spans(tail % CAPACITY, head - tail))
        struct.pack_into("<Q", ring, 64, head)
        while data:
            stamp, length = struct.unpack_from("<QI", data)
            frames, data = data[16:16 + length], data[16 + length:]
            split = []
            while frames:
                size = struct.unpack_from("<I", frames)[0]
                split.append(frames[:size])
                frames = frames[size:]
            self.records.append([stamp, split])

    @staticmethod
    def spans(start, length):
        first = min(length, CAPACITY - start)
        return [(start, start + first), (0, length - first)] if first < length else [(start, start + length)]

    def next_merged(self):
        """The next frame the service wrote, from socket or ring, in the order written: socket
        frames up to a record's stamp go first. The socket is read before the ring is drained,
        as the library does."""
        self.sock.settimeout(0.05)
        try:
            for _ in range(200):
                self.drain_library_ring()
                while self.records and not self.records[0][1]:
                    self.records.pop(0)
                if self.records and self.records[0][0] == self.socket_taken:
                    self.by_ring += 1
                    return self.records[0][1].pop(0)
                have = len(self.buffered) >= 4 and len(self.buffered) >= struct.unpack_from("<I", self.buffered)[0]
                if have:
                    size = struct.unpack_from("<I", self.buffered)[0]
                    assert not self.records or self.socket_taken + size <= self.records[0][0], \
                        "a record stamped inside a frame"
                    out, self.buffered = self.buffered[:size], self.buffered[size:]
                    self.socket_taken += size
                    self.by_socket += 1
                    return out
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    raise ConnectionError("closed by the service")
                self.buffered += chunk
            raise TimeoutError("nothing from the service for 10 s")
        finally:
            self.sock.settimeout(10)

    def merged_result(self):
        while True:
            f = self.next_merged()
            msg_type = struct.unpack_from("<H", f, 4)[0]
            if msg_type == T_WAKE:
                continue
            assert msg_type == T_RESULT, msg_type
            return struct.unpack_from("<Q", f, 8)[0], struct.unpack_from("<I", f, 16)[0]

    def close(self):
        self.sock.close()
        if self.ring is not None:
            self.ring.close()
        if getattr(self, "library_ring", None) is not None:
            self.library_ring.close()


class FrameRingTest(ServiceTestCase):

    def peer(self, version=5):
        p = RawPeer(self.control, version)
        self.addCleanup(p.close)
        return p

    @staticmethod
    def peek(sock):
        try:
            return sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return b""

    def channels(self):
        out = self.httpcfg("show", "servicestate", "--json").stdout
        return json.loads(out)["channels"]

    def assert_service_serves(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/", name="still")
        self.assertEqual(http(port, path="/after").json()["app"], "still")

    def test_responses_of_a_pipeline_travel_through_the_ring(self):
        port = free_port()
        app = self.start_echo(f"http://+:{port}/", name="ringed")
        c = self.conn(port)
        c.send(b"".join(build_request("GET", f"/p/{i}") for i in range(200)))
        for i in range(200):
            self.assertEqual(c.read_response().json()["url"]["path"], f"/p/{i}")
        queue = [ch for ch in self.channels() if ch["pid"] == app.pid and ch["role"] == "queue"]
        self.assertEqual(len(queue), 1, self.channels())
        self.assertEqual(queue[0]["protocol"], 6)
        # Every response is a frame of its own; wake-ups and credits share the socket.
        self.assertGreaterEqual(queue[0]["frames_by_ring"], 200, queue[0])
        # And the requests came through the library's ring (protocol 6); the socket carried
        # the answers to the queue's calls and the wake-ups, 16 bytes each.
        self.assertGreater(queue[0]["bytes_to_ring"], 200 * 300, queue[0])
        self.assertLess(queue[0]["bytes_to_socket"], queue[0]["bytes_to_ring"] / 4, queue[0])

    def test_a_response_sent_just_before_the_process_died_arrives(self):
        port = free_port()
        for attempt in range(5):
            self.start_half_response(f"http://+:{port}/w{attempt}/", "whole-exit")
            r = http(port, path=f"/w{attempt}/x")
            self.assertEqual((r.status, r.body), (200, b"whole response;"), attempt)

    def test_records_and_socket_frames_are_taken_in_the_order_written(self):
        p = self.peer()
        self.assertEqual(p.version, 5)
        p.share_ring()
        p.push(create_queue(1))
        self.assertEqual(p.result(), (1, 0))
        # A record written before a socket frame is taken before it, though the service
        # reads the socket first.
        p.push(queue_length(10, 50), wake=False)
        p.send(queue_length(11, 60))
        self.assertEqual([p.result(), p.result()], [(10, 0), (11, 0)])
        # And a socket frame written before a record goes first.
        p.send(queue_length(12, 70))
        p.push(queue_length(13, 80))
        self.assertEqual([p.result(), p.result()], [(12, 0), (13, 0)])
        # Several frames in one record, and records around the end of the buffer.
        for round_ in range(40):
            calls = [100 + 3 * round_ + i for i in range(3)]
            p.push(b"".join(queue_length(c, 90) for c in calls) + frame(T_WAKE, 0) * 400)
            self.assertEqual([p.result() for _ in calls], [(c, 0) for c in calls])
        mine = [ch for ch in self.channels() if ch["frames_by_ring"] > 0]
        self.assertEqual(len(mine), 1)

    def test_the_services_frames_reach_the_library_in_the_order_written(self):
        p = self.peer(version=6)
        self.assertEqual(p.version, 6)
        p.share_library_ring()
        p.send(create_queue(1))
        self.assertEqual(p.merged_result(), (1, 0))
        self.assertEqual((p.by_ring, p.by_socket), (1, 0))
        # 6000 answers fill the ring the peer does not read meanwhile: the rest go through
        # the socket, and the stamps put every one back in its place.
        p.send(b"".join(queue_length(10 + i, 50) for i in range(6000)))
        # Nothing is read until the ring is full and the socket holds 100 answers at least.
        wait_until(lambda: len(self.peek(p.sock)) >= 100 * 36, 10, what="answers on the socket")
        self.assertEqual([p.merged_result() for _ in range(6000)], [(10 + i, 0) for i in range(6000)])
        self.assertGreater(p.by_ring, 1000)
        self.assertGreater(p.by_socket, 100)
        # A library about to sleep asks for a wake-up: the record comes with a wake frame.
        struct.pack_into("<I", p.library_ring, 128, 1)
        p.send(queue_length(7000, 50))
        self.assertEqual(p.merged_result(), (7000, 0))
        self.assertEqual(p.next_merged()[4:6], struct.pack("<H", T_WAKE))
        self.assertEqual(struct.unpack_from("<I", p.library_ring, 128)[0], 0)
        [mine] = [ch for ch in self.channels() if ch["protocol"] == 6 and ch["role"] == "queue"]
        self.assertGreater(mine["bytes_to_ring"], 1000 * 36, mine)
        self.assertGreater(mine["bytes_to_socket"], 100 * 36, mine)

    def test_a_library_that_spoils_its_ring_is_served_through_the_socket(self):
        p = self.peer(version=6)
        p.share_library_ring()
        p.send(create_queue(1))
        self.assertEqual(p.merged_result(), (1, 0))
        struct.pack_into("<Q", p.library_ring, 0, 2**63 + 5)  # a head the service never wrote
        struct.pack_into("<Q", p.library_ring, 64, 3)
        p.send(queue_length(2, 50))
        self.assertEqual(p.result(), (2, 0))  # by the socket
        self.assert_service_serves()
        for name, abuse in {"a second library ring": lambda p: p.share_library_ring(),
                            "a library ring without its descriptor":
                                lambda p: p.send(frame(T_LIBRARY_RING, 0))}.items():
            with self.subTest(name):
                p = self.peer(version=6)
                p.share_library_ring() if name.startswith("a second") else None
                abuse(p)
                self.assertTrue(p.closed_by_service(), name)
        with self.subTest("a library ring on a version 5 connection"):
            p = self.peer(version=5)
            p.share_library_ring()
            self.assertTrue(p.closed_by_service())
        wait_until(lambda: "library ring" in self.service.stderr(), 5, what="the log line")

    def test_abuse_of_the_ring_disconnects_only_that_peer(self):
        cases = {
            "stamped before frames already taken": lambda p: (p.send(queue_length(2, 5)),
                                                               p.push(queue_length(3, 5), stamp=0)),
            "stamped inside a frame": lambda p: (p.push(queue_length(2, 5), stamp=p.sent + 3,
                                                        wake=False),
                                                 p.send(queue_length(3, 5))),
            "not whole frames": lambda p: p.push(queue_length(2, 5)[:20]),
            "impossible indexes": lambda p: (struct.pack_into("<Q", p.ring, 0, CAPACITY * 3),
                                             p.send(frame(T_WAKE, 0))),
            "a second ring": lambda p: p.share_ring(),
        }
        for name, abuse in cases.items():
            with self.subTest(name):
                p = self.peer()
                p.share_ring()
                p.push(create_queue(1))
                self.assertEqual(p.result(), (1, 0))
                abuse(p)
                self.assertTrue(p.closed_by_service(), name)
        with self.subTest("a ring that is not sealed"):
            p = self.peer()
            p.share_ring(seals=0)
            self.assertTrue(p.closed_by_service())
        with self.subTest("a ring of the wrong size"):
            p = self.peer()
            p.share_ring(size=CONTROL_PAGE + 4096)
            self.assertTrue(p.closed_by_service())
        with self.subTest("a ring on a version 4 connection"):
            p = self.peer(version=4)
            self.assertEqual(p.version, 4)
            p.share_ring()
            self.assertTrue(p.closed_by_service())
        with self.subTest("a ring without its descriptor"):
            p = self.peer()
            p.send(frame(T_FRAME_RING, 0))
            self.assertTrue(p.closed_by_service())
        wait_until(lambda: "frame ring" in self.service.stderr(), 5, what="the log line")
        self.assert_service_serves()


if __name__ == "__main__":
    unittest.main(verbosity=2)
