#!/usr/bin/env python3
"""httpapi-websocket-echo (issue 6 item 5) driven by a real WebSocket client, Debian's
python3-websockets: text, binary, fragmented and large messages, ping, the closing handshake,
several connections at once; plus protocol errors sent over a raw socket."""

import asyncio
import base64
import hashlib
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Debian's package, also when the tests run under another Python 3 of the machine.
sys.path.append("/usr/lib/python3/dist-packages")
import websockets  # noqa: E402

import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port  # noqa: E402


class WebSocketEcho(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.start_app([binary("HTTPAPI_WEBSOCKET_ECHO"), f"http://127.0.0.1:{self.port}/ws/"],
                       "websocket-echo")
        self.uri = f"ws://127.0.0.1:{self.port}/ws/chat"

    def run_client(self, scenario):
        return asyncio.run(asyncio.wait_for(scenario(), 30))

    def test_text_binary_and_large_messages(self):
        async def scenario():
            async with websockets.connect(self.uri, max_size=None) as ws:
                await ws.send("héllo, wörld")
                self.assertEqual(await ws.recv(), "héllo, wörld")
                await ws.send(b"\x00\x01\xfe\xff")
                self.assertEqual(await ws.recv(), b"\x00\x01\xfe\xff")
                big = os.urandom(1024 * 1024)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
        self.run_client(scenario)

    def test_fragmented_messages(self):
        async def scenario():
            async with websockets.connect(self.uri) as ws:
                await ws.send(["frag", "mented ", "text"])  # three frames, one message
                self.assertEqual(await ws.recv(), "fragmented text")
                await ws.send([b"\x01", b"\x02\x03"])
                self.assertEqual(await ws.recv(), b"\x01\x02\x03")
        self.run_client(scenario)

    def test_closing_handshake_echoes_the_code(self):
        async def scenario():
            ws = await websockets.connect(self.uri)
            await ws.send("last words")
            self.assertEqual(await ws.recv(), "last words")
            await ws.close(code=4001, reason="done")
            return ws.close_code
        self.assertEqual(self.run_client(scenario), 4001)

    def test_many_connections_at_once(self):
        async def one(i):
            async with websockets.connect(self.uri) as ws:
                for k in range(20):
                    await ws.send(f"{i}:{k}")
                    self.assertEqual(await ws.recv(), f"{i}:{k}")

        async def scenario():
            await asyncio.gather(*(one(i) for i in range(20)))
        self.run_client(scenario)

    def test_plain_http_gets_426(self):
        r = harness.http(self.port, path="/ws/chat")
        self.assertEqual(r.status, 426)
        self.assertEqual(r.header("Sec-WebSocket-Version"), "13")

    # -- raw sockets: what a broken client gets

    def handshake(self):
        conn = harness.Conn(self.port)
        self.conns.append(conn)
        key = base64.b64encode(os.urandom(16)).decode()
        conn.send((f"GET /ws/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        _, status, _, headers, _ = conn.read_head()
        self.assertEqual(status, 101)
        expected = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.assertIn(("Sec-WebSocket-Accept", expected), headers)
        return conn

    def close_code(self, conn):
        data = conn.read_to_close(time.monotonic() + 10)
        self.assertGreaterEqual(len(data), 4, data)
        self.assertEqual(data[0], 0x88)  # FIN + close
        return struct.unpack("!H", data[2:4])[0]

    def test_unmasked_frame_is_a_protocol_error(self):
        conn = self.handshake()
        conn.send(b"\x81\x02hi")  # a text frame without a mask
        self.assertEqual(self.close_code(conn), 1002)

    def test_invalid_utf8_text_is_1007(self):
        conn = self.handshake()
        payload = b"\xff\xfe"
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        conn.send(b"\x81\x82" + mask + masked)
        self.assertEqual(self.close_code(conn), 1007)


if __name__ == "__main__":
    harness.main()
