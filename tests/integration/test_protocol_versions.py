#!/usr/bin/env python3
"""Today's library against an older service (docs/protocol.md, "Version exchange"): the
service chooses the version, and the library must then use nothing newer, for example no
`frame_ring` below version 5 and no `library_ring` below version 6, and still serve requests.

The older service here is a fake: a control socket that speaks version N. It answers every
call with success, hands the queue one request once the library asks for some, and records
every message type the library sent, by the socket or, from version 5, through the frame
ring it shares (read the way src/ipc/frame_ring.cpp lays it out). The application is the
real httpapi-hello."""

import mmap
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import binary, wait_until  # noqa: E402

MAGIC = 0x49504148
T_HELLO, T_HELLO_ACK, T_RESULT = 1, 2, 3
T_RECEIVE, T_SEND_RESPONSE, T_FRAME_RING, T_LIBRARY_RING, T_REQUEST = 21, 23, 38, 44, 40
# What each version added that the library sends (docs/protocol.md's message table).
ADDED_IN = {35: 2, 36: 3, 37: 4, T_FRAME_RING: 5, 39: 5, T_LIBRARY_RING: 6}
CALLS = {10, 11, 12, 13, 14, 15, 16, 20, 26, 27, 28, 30, 32, 33, 34}
ROLE_QUEUE = 2
REQUEST_ID = 77
CONTROL_PAGE, CAPACITY = 4096, 128 * 1024  # the frame ring: head at 0, tail at 64


def frame(msg_type, tag, fixed=b"", variable=b""):
    return struct.pack("<IHHQ", 16 + len(fixed) + len(variable), msg_type, len(fixed), tag) \
        + fixed + variable


def with_fields(fixed, *fields):
    """`fixed` followed by a {u32 offset, u32 length} reference per field, and the fields."""
    refs, variable = b"", b""
    for field in fields:
        refs += struct.pack("<II", len(variable), len(field))
        variable += field
    return fixed + refs, variable


def request_frame():
    fixed, variable = with_fields(
        struct.pack("<QQIHHH", 5, 1, 0, 1, 1, 80) + bytes(256),
        b"GET", b"/old", b"http://localhost:80/old", b"localhost", b"/old", b"", b"", b"", b"")
    return frame(T_REQUEST, REQUEST_ID, fixed, variable)


def split_frames(data):
    """The whole frames at the start of `data`, and what is left."""
    frames = []
    while len(data) >= 16 and len(data) >= struct.unpack_from("<I", data)[0]:
        size = struct.unpack_from("<I", data)[0]
        frames.append(data[:size])
        data = data[size:]
    return frames, data


def drain(ring):
    """The frames of every record the library published since the last drain; each record
    is {u64 stamp, u32 length, u32 0} and `length` bytes of whole frames."""
    head, tail = struct.unpack_from("<Q", ring, 0)[0], struct.unpack_from("<Q", ring, 64)[0]
    start, length = tail % CAPACITY, head - tail
    first = min(length, CAPACITY - start)
    data = ring[CONTROL_PAGE + start:CONTROL_PAGE + start + first] + \
        ring[CONTROL_PAGE:CONTROL_PAGE + length - first]
    struct.pack_into("<Q", ring, 64, head)
    frames = []
    while data:
        length = struct.unpack_from("<I", data, 8)[0]
        frames += split_frames(data[16:16 + length])[0]
        data = data[16 + length:]
    return frames


class OldService:
    """A control socket that speaks protocol `version` at most."""

    def __init__(self, path, version):
        self.version = version
        self.sent_types = set()  # every message type the library sent
        self.response = None     # (status, body) of the send_response for REQUEST_ID
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.next_id = 100
        self.connections = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        """Frames from the socket and from the connection's frame ring, polled every 10 ms
        (the fake never asks for a wake-up), each handled as it comes."""
        state = {"role": None, "requested": False, "ring": None, "fds": []}
        buffered = b""
        conn.settimeout(0.01)
        try:
            while True:
                try:
                    data, fds, _, _ = socket.recv_fds(conn, 65536, 16)
                    if not data:
                        return
                except socket.timeout:
                    data, fds = b"", []
                except OSError:
                    return
                state["fds"] += fds
                frames, buffered = split_frames(buffered + data)
                if state["ring"] is not None:
                    frames += drain(state["ring"])
                for f in frames:
                    self.handle(conn, state, f)
        finally:
            for fd in state["fds"]:
                os.close(fd)

    def handle(self, conn, state, f):
        size, msg_type, fixed_len, tag = struct.unpack_from("<IHHQ", f)
        with self.lock:
            self.sent_types.add(msg_type)
        if msg_type in (T_FRAME_RING, T_LIBRARY_RING):
            # The rings come in that order; other descriptors (the seen counter's page) are
            # told apart by their size.
            fd = next(fd for fd in state["fds"] if os.fstat(fd).st_size == CONTROL_PAGE + CAPACITY)
            state["fds"].remove(fd)
            if msg_type == T_FRAME_RING:
                state["ring"] = mmap.mmap(fd, CONTROL_PAGE + CAPACITY)
            os.close(fd)
        elif msg_type == T_HELLO:
            _, low, high, state["role"] = struct.unpack_from("<IHHB", f, 16)
            chosen = min(high, self.version)
            conn.sendall(frame(T_HELLO_ACK, 0, struct.pack("<IHIQ", MAGIC, chosen, 0, 1)))
        elif msg_type in CALLS:
            with self.lock:
                self.next_id += 1
                value = self.next_id
            conn.sendall(frame(T_RESULT, tag, *with_fields(struct.pack("<IQ", 0, value), b"")))
        elif msg_type == T_RECEIVE and state["role"] == ROLE_QUEUE and not state["requested"]:
            state["requested"] = True
            conn.sendall(request_frame())
        elif msg_type == T_SEND_RESPONSE and tag == REQUEST_ID:
            status = struct.unpack_from("<H", f, 20)[0]
            at = 16 + fixed_len
            body_at, body_len = struct.unpack_from("<II", f, 16 + 12 + 16)
            with self.lock:
                self.response = (status, f[at + body_at:at + body_at + body_len])

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


class OlderServiceTest(unittest.TestCase):

    def start(self, version):
        """A fake service of `version` and httpapi-hello registered with it."""
        directory = tempfile.mkdtemp(prefix="httpapi-old-service-")
        path = os.path.join(directory, "control.sock")
        service = OldService(path, version)
        self.addCleanup(service.close)
        app = subprocess.Popen([binary("HTTPAPI_HELLO"), "http://+:8080/old/"],
                               env=dict(os.environ, HTTPAPI_CONTROL=path),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (app.kill(), app.wait()))
        return service

    def test_a_request_is_served_with_nothing_newer_than_the_service_chose(self):
        for version in (1, 2, 4, 5, 6):
            with self.subTest(version=version):
                service = self.start(version)
                wait_until(lambda: service.response, 10, what=f"the answer via version {version}")
                self.assertEqual(service.response, (200, b"Hello, World!"))
                newer = {t for t in service.sent_types if ADDED_IN.get(t, 1) > version}
                self.assertEqual(newer, set(), f"sent to a version {version} service")

    def test_the_library_ring_is_shared_only_from_version_6(self):
        # Both rings are shared in the queue's connect, before its first receive.
        for version, expected in ((4, set()), (5, {T_FRAME_RING}),
                                  (6, {T_FRAME_RING, T_LIBRARY_RING})):
            with self.subTest(version=version):
                service = self.start(version)
                wait_until(lambda: service.response, 10, what=f"the answer via version {version}")
                shared = service.sent_types & {T_FRAME_RING, T_LIBRARY_RING}
                self.assertEqual(shared, expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
