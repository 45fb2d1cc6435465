#!/usr/bin/env python3
"""Today's library against an older service (docs/protocol.md, "Version exchange"): the
service chooses the version, and the library must then use nothing newer, for example no
`frame_ring` below version 5 and no `library_ring` below version 6, and still serve requests.

The older service here is a fake: a control socket that speaks version N. It answers every
call with success, hands the queue one request once the library asks for some, and records
every message type the library sent. The application is the real httpapi-hello."""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
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
        buffered, role, requested = b"", None, False
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(conn, 65536, 16)
            except OSError:
                return
            for fd in fds:
                os.close(fd)
            if not data:
                return
            buffered += data
            while len(buffered) >= 16 and len(buffered) >= struct.unpack_from("<I", buffered)[0]:
                size, msg_type, fixed_len, tag = struct.unpack_from("<IHHQ", buffered)
                f, buffered = buffered[:size], buffered[size:]
                with self.lock:
                    self.sent_types.add(msg_type)
                if msg_type == T_HELLO:
                    _, low, high, role = struct.unpack_from("<IHHB", f, 16)
                    chosen = min(high, self.version)
                    conn.sendall(frame(T_HELLO_ACK, 0, struct.pack("<IHIQ", MAGIC, chosen, 0, 1)))
                elif msg_type in CALLS:
                    with self.lock:
                        self.next_id += 1
                        value = self.next_id
                    conn.sendall(frame(T_RESULT, tag, *with_fields(struct.pack("<IQ", 0, value), b"")))
                elif msg_type == T_RECEIVE and role == ROLE_QUEUE and not requested:
                    requested = True
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
        for version in (1, 2, 4):
            with self.subTest(version=version):
                service = self.start(version)
                wait_until(lambda: service.response, 10, what=f"the answer via version {version}")
                self.assertEqual(service.response, (200, b"Hello, World!"))
                newer = {t for t in service.sent_types if ADDED_IN.get(t, 1) > version}
                self.assertEqual(newer, set(), f"sent to a version {version} service")

    def test_the_library_ring_is_shared_only_from_version_6(self):
        # From version 5 the library's frames travel in its frame ring, which the fake does
        # not read, so what is checked is what it sends by the socket: both rings are shared
        # in the queue's connect, before the application's session adds its URL (type 12).
        for version, expected in ((5, {T_FRAME_RING}), (6, {T_FRAME_RING, T_LIBRARY_RING})):
            with self.subTest(version=version):
                service = self.start(version)
                wait_until(lambda: {12} | expected <= service.sent_types, 10,
                           what=f"the URL added after the queue's rings, version {version}")
                time.sleep(0.3)  # the queue connection's last bytes are read by now
                shared = service.sent_types & {T_FRAME_RING, T_LIBRARY_RING}
                self.assertEqual(shared, expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
