#!/usr/bin/env python3
"""HTTP/2 attacks and bad input (issue 13, docs/http2.md "Protections"), each driven with raw
frames (Python's hyperframe and hpack) over a real socket against a real httpapid. A flood
is answered with GOAWAY (ENHANCE_YOUR_CALM; PROTOCOL_ERROR where the client broke the
protocol) within the first 2,000 abusive frames, the connection closes, the error log names
the attack, the service's memory and CPU stay bounded, and a fresh connection is served
right after. Bad input gets the right RST_STREAM or GOAWAY, a log line, and never reaches
the application (httpapi-echo's `served` counts what it took)."""

import json
import os
import select
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServiceTestCase, binary, free_port  # noqa: E402

try:
    import hpack
    from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame,
                                  HeadersFrame, PingFrame, PriorityFrame, RstStreamFrame,
                                  SettingsFrame, WindowUpdateFrame)
except ImportError:  # Debian's python3-hyperframe, when the tests run under another Python 3
    sys.path.append("/usr/lib/python3/dist-packages")
    import hpack
    from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame,
                                  HeadersFrame, PingFrame, PriorityFrame, RstStreamFrame,
                                  SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, ENHANCE_YOUR_CALM = 0x1, 0x3, 0x5, 0xb
FRAME_BUDGET = 2000          # abusive frames of one kind before the GOAWAY must have come
MAX_STREAMS = 20             # http2_max_concurrent_streams in these tests
RSS_GROWTH_KIB = 32 * 1024   # an unbounded attack grows by hundreds of MiB
CPU_SECONDS = 20             # generous: a loaded machine, a sanitizer build


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawH2:
    """An HTTP/2 client writing frames by hand, as no well-behaved library would, and
    reading what the service answers until it closes the connection."""

    def __init__(self, port, settings=None):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.inbuf = b""
        self.goaway = None    # the service's GoAwayFrame
        self.resets = {}      # stream id -> RST_STREAM error code from the service
        self.statuses = {}    # stream id -> :status of its response
        self.bodies = {}      # stream id -> response body
        self.ended = set()    # streams whose response ended
        self.closed = False
        self.settled = False  # the service's SETTINGS arrived (and were acknowledged)
        first = SettingsFrame(0)
        first.settings.update(settings or {})
        self.send(PREFACE + first.serialize())

    # -- frames out

    def send(self, data):
        """False once the service has closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            return False

    def block(self, path, method="GET", fields=(), pseudo=None):
        headers = pseudo if pseudo is not None else [
            (":method", method), (":path", path), (":scheme", "http"),
            (":authority", f"127.0.0.1:{self.port}")]
        return self.encoder.encode(list(headers) + list(fields))

    def headers(self, stream, path="/e/", end_stream=True, end_headers=True, **kw):
        """A HEADERS frame, followed by CONTINUATION frames if the block is over 16 KiB."""
        block = kw.pop("block", None) or self.block(path, **kw)
        pieces = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        frames = [HeadersFrame(stream, data=pieces[0],
                               flags=["END_STREAM"] if end_stream else [])]
        frames += [ContinuationFrame(stream, data=p) for p in pieces[1:]]
        if end_headers:
            frames[-1].flags.add("END_HEADERS")
        return b"".join(f.serialize() for f in frames)

    def flood(self, frames, per_write=40):
        """Sends `frames` (bytes each) a few at a time, reading between writes; stops at the
        service's GOAWAY or close. How many were sent."""
        sent = 0
        for i in range(0, len(frames), per_write):
            if self.goaway or self.closed:
                break
            chunk = frames[i:i + per_write]
            if not self.send(b"".join(chunk)):
                break
            sent += len(chunk)
            self.poll(0)
        return sent

    # -- frames in

    def poll(self, wait):
        """Reads what arrives within `wait` seconds. False at the connection's end."""
        if self.closed:
            return False
        if not select.select([self.sock], [], [], wait)[0]:
            return True
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.inbuf += data
        while len(self.inbuf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self.inbuf[:9]))
            if len(self.inbuf) < 9 + length:
                break
            frame.parse_body(memoryview(self.inbuf[9:9 + length]))
            self.inbuf = self.inbuf[9 + length:]
            self.on_frame(frame)
        return True

    def on_frame(self, frame):
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            self.send(SettingsFrame(0, flags=["ACK"]).serialize())
            self.settled = True
        elif isinstance(frame, HeadersFrame):
            fields = dict(self.decoder.decode(frame.data))
            if ":status" in fields:
                self.statuses[frame.stream_id] = int(fields[":status"])
        elif isinstance(frame, DataFrame):
            self.bodies[frame.stream_id] = self.bodies.get(frame.stream_id, b"") + frame.data
        elif isinstance(frame, RstStreamFrame):
            self.resets[frame.stream_id] = frame.error_code
        elif isinstance(frame, GoAwayFrame):
            self.goaway = frame
        if "END_STREAM" in getattr(frame, "flags", ()):
            self.ended.add(frame.stream_id)

    def wait_for(self, predicate, timeout=15, what="frames"):
        deadline = time.monotonic() + timeout
        while not predicate():
            if not self.poll(max(0.0, deadline - time.monotonic())):
                break
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        return predicate()

    def read_until_closed(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.poll(0.2):
            if time.monotonic() >= deadline:
                raise AssertionError(f"the service kept the connection open {timeout} s "
                                     f"(GOAWAY: {self.goaway})")

    def close(self):
        self.sock.close()


class Http2AttackCase(ServiceTestCase):
    """One service with httpapi-echo on /e/ and http2_max_concurrent_streams = MAX_STREAMS."""

    SETTINGS = {}

    def setUp(self):
        super().setUp()
        self.port = free_port()
        settings = {"http2_max_concurrent_streams": MAX_STREAMS, **self.SETTINGS}
        for key, value in settings.items():
            self.httpcfg("set", "setting", "--key", key, "--value", str(value))
        self.start_echo(f"http://+:{self.port}/e/")
        self.assertEqual(self.fresh_get()["served"], 1)
        self.rss_before = rss_kib(self.service.pid)
        self.cpu_before = cpu_seconds(self.service.pid)

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def client(self, settings=None):
        c = RawH2(self.port, settings)
        self.addCleanup(c.close)
        return c

    def fresh_get(self):
        """A normal request on a new connection (curl, prior knowledge): echo's answer."""
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "20",
                            "--http2-prior-knowledge", f"http://127.0.0.1:{self.port}/e/fresh"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual(body["version"], "HTTP/2")
        return body

    def assert_cut_off(self, client, code, reason):
        """The service answered with GOAWAY `code`, closed, logged `reason`, stayed within
        its bounds and serves a new connection. Returns echo's `served` count of that new
        request. No test sends more than FRAME_BUDGET abusive frames of one kind, so the
        GOAWAY shows the service acted within them (else the connection would stay open)."""
        client.read_until_closed()
        self.assertIsNotNone(client.goaway, "no GOAWAY before the connection closed")
        self.assertEqual(client.goaway.error_code, code, client.goaway)
        self.wait_log(lambda e: e.s_reason == reason, what=f"{reason} log line")
        pid = self.service.pid
        growth = rss_kib(pid) - self.rss_before
        self.assertLess(growth, RSS_GROWTH_KIB, f"httpapid grew by {growth} KiB")
        cpu = cpu_seconds(pid) - self.cpu_before
        self.assertLess(cpu, CPU_SECONDS, f"httpapid used {cpu:.1f} s of CPU")
        return self.fresh_get()["served"]


class Floods(Http2AttackCase):

    def test_rapid_reset_reaches_the_application_at_most_max_streams_times(self):
        # Ten streams opened, a moment for the application to take their requests, the ten
        # reset: a reset that came at once would cancel most requests before any application
        # saw them, and one after a fast answer would reset nothing. This echo takes 100 ms
        # a request, and counts every request it took, answered or not.
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/slow/",
                        "--delay-ms", "100", "--name", "slow"], "echo-slow")
        c = self.client()
        for batch in range(FRAME_BUDGET // 20):
            streams = [2 * (10 * batch + i) + 1 for i in range(10)]
            if not c.send(b"".join(c.headers(s, f"/slow/rr{s}") for s in streams)):
                break
            c.poll(0.05)
            if c.goaway or not c.send(b"".join(RstStreamFrame(s, error_code=8).serialize()
                                               for s in streams)):
                break
            c.poll(0.05)
            if c.goaway:
                break
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "HTTP2_Rapid_Reset")
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "50",
                            "--http2-prior-knowledge", f"http://127.0.0.1:{self.port}/slow/x"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        reached = json.loads(r.stdout)["served"] - 1  # this request was the last
        self.assertLessEqual(reached, MAX_STREAMS)

    def test_made_you_reset_reaches_the_application_at_most_max_streams_times(self):
        # A WINDOW_UPDATE taking a stream's window past 2^31-1 is a stream error: nghttp2
        # resets the stream the echo application was given (CVE-2025-8671).
        c = self.client()
        frames = []
        for i in range(FRAME_BUDGET // 2):
            stream = 2 * i + 1
            frames += [c.headers(stream, f"/e/myr{i}"),
                       WindowUpdateFrame(stream, window_increment=2 ** 31 - 1).serialize()]
        # The first alone, to see the reset (once the GOAWAY is queued, nothing else is sent).
        c.send(b"".join(frames[:2]))
        c.wait_for(lambda: 1 in c.resets, what="the first stream's reset")
        self.assertEqual(c.resets[1], FLOW_CONTROL_ERROR)
        c.flood(frames[2:])
        served = self.assert_cut_off(c, ENHANCE_YOUR_CALM, "HTTP2_MadeYouReset")
        self.assertLessEqual(served - 2, MAX_STREAMS)

    def flood_of(self, make, reason):
        c = self.client()
        c.flood([make(i) for i in range(FRAME_BUDGET)])
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, reason)

    def test_ping_flood(self):
        self.flood_of(lambda i: PingFrame(0, opaque_data=i.to_bytes(8, "big")).serialize(),
                      "HTTP2_PING_Flood")

    def test_settings_flood(self):
        self.flood_of(lambda i: SettingsFrame(0).serialize(), "HTTP2_SETTINGS_Flood")

    def test_priority_flood(self):
        self.flood_of(lambda i: PriorityFrame(2 * i + 1, depends_on=0,
                                              stream_weight=15).serialize(),
                      "HTTP2_PRIORITY_Flood")

    def test_empty_data_flood(self):
        c = self.client()
        c.send(c.headers(1, "/e/upload", method="POST", end_stream=False))
        c.flood([DataFrame(1, data=b"").serialize() for _ in range(FRAME_BUDGET)])
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "HTTP2_Empty_DATA_Flood")

    def test_continuation_flood(self):
        c = self.client()
        block = c.block("/e/cont")
        frames = [c.headers(1, block=block, end_headers=False)]
        frames += [ContinuationFrame(1, data=c.encoder.encode([(f"x-c{i}", "v" * 16)])).serialize()
                   for i in range(FRAME_BUDGET)]
        c.flood(frames)
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "HTTP2_CONTINUATION_Flood")

    def test_hpack_bomb_is_refused_per_stream_then_ends_the_connection(self):
        # One 4,000-byte field goes into the dynamic table, then each header block refers to
        # it 16,000 times: 16 KiB on the wire decoding to 64 MB. The head limit (16 KiB) is
        # passed at once; each stream gets HTTP/1.1's answer, and the copies are never made.
        c = self.client()
        c.send(c.headers(1, "/e/seed", fields=[("x-bomb", "a" * 4000)]))
        c.wait_for(lambda: 1 in c.ended, what="the seed request's answer")
        self.assertEqual(c.statuses[1], 200)
        # The entry is the newest in the table (index 62), :authority the one before (63):
        # 0x80 | 62 is one byte per 4 KB. The other pseudo-headers come from the static
        # table (GET, http, /), adding nothing.
        bomb = bytes([0x82, 0x86, 0x84, 0x80 | 63]) + bytes([0x80 | 62]) * 16000
        frames = [c.headers(2 * i + 3, block=bomb) for i in range(FRAME_BUDGET)]
        c.send(frames[0])  # the first alone, to see its answer
        c.wait_for(lambda: 3 in c.ended or c.goaway or 3 in c.resets,
                   what="the first bomb's answer")
        self.assertIn(3, c.statuses, f"goaway {c.goaway}, resets {c.resets}")
        self.assertEqual(c.statuses[3], 400)
        self.assertIn(b"Request Too Long", c.bodies[3])
        self.wait_log(lambda e: e.s_reason == "RequestLength")
        c.flood(frames[1:], per_write=1)
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "HTTP2_Header_Bomb")
        self.assertEqual(self.fresh_get()["served"], 4)  # set-up, seed, the two fresh ones


class SlowClients(Http2AttackCase):
    SETTINGS = {"header_wait_seconds": 2, "min_send_rate": 200000}

    def test_a_header_block_never_finished(self):
        c = self.client()
        c.wait_for(lambda: c.settled, what="the service's SETTINGS")  # its ACK goes first
        c.send(c.headers(1, "/e/never", end_headers=False))
        started = time.monotonic()
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "Timer_HeaderWait")
        self.assertGreaterEqual(time.monotonic() - started, 1.5)

    def test_zero_window_slow_read(self):
        self.start_app([binary("HTTPAPI_BIG_RESPONSE"), f"http://+:{self.port}/big/", "16"],
                       "big")
        c = self.client({SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        c.send(c.headers(1, "/big/"))
        c.wait_for(lambda: 1 in c.statuses, what="the response head")
        self.assertEqual(c.statuses[1], 200)
        self.assert_cut_off(c, ENHANCE_YOUR_CALM, "Timer_MinBytesPerSecond")
        self.assertNotIn(1, c.bodies)


class BadInput(Http2AttackCase):

    def refused_stream(self, frames, code=PROTOCOL_ERROR):
        """Sends one stream's frames on a new connection: the service resets that stream
        with `code`, logs it, and the connection goes on."""
        c = self.client()
        c.send(b"".join(frames))
        c.wait_for(lambda: 1 in c.resets or 1 in c.ended or c.goaway, what="the stream's end")
        self.assertEqual(c.resets.get(1), code, f"statuses {c.statuses}, goaway {c.goaway}")
        c.send(c.headers(3, "/e/after"))
        c.wait_for(lambda: 3 in c.ended, what="the next stream's answer")
        self.assertEqual(c.statuses[3], 200)
        return c

    def assert_app_saw_only(self, count):
        self.assertEqual(self.fresh_get()["served"], count + 1)

    def http2_log_lines(self):
        return [e for e in self.log_entries() if e.s_reason.startswith("HTTP/2:")]

    def test_malformed_heads_are_reset_and_never_reach_the_application(self):
        port = f"127.0.0.1:{free_port()}"
        cases = {
            "missing :path": dict(pseudo=[(":method", "GET"), (":scheme", "http"),
                                          (":authority", port)]),
            "upper-case name": dict(fields=[("X-Upper", "1")]),
            "connection": dict(fields=[("connection", "keep-alive")]),
            "transfer-encoding": dict(fields=[("transfer-encoding", "chunked")]),
            "te other than trailers": dict(fields=[("te", "gzip")]),
            "pseudo-header after a field": dict(fields=[("x-a", "1"), (":path", "/e/x")]),
            "unknown pseudo-header": dict(fields=[(":protocol2", "x")]),
        }
        for what, kw in cases.items():
            with self.subTest(what):
                c = RawH2(self.port)
                self.addCleanup(c.close)
                self.refused_stream([c.headers(1, "/e/bad", **kw)])
        # Each reached the log, none the application: the "after" streams are all it saw.
        self.assertGreaterEqual(len(self.http2_log_lines()), len(cases))
        self.assert_app_saw_only(1 + len(cases))

    def test_te_trailers_is_allowed(self):
        c = self.client()
        c.send(c.headers(1, "/e/te", fields=[("te", "trailers")]))
        c.wait_for(lambda: 1 in c.ended, what="the answer")
        self.assertEqual(c.statuses[1], 200)

    def test_content_length_disagreeing_with_data_is_a_stream_error(self):
        for what, data in (("fewer bytes", b"12345"), ("more bytes", b"x" * 20)):
            with self.subTest(what):
                c = RawH2(self.port)
                self.addCleanup(c.close)
                self.refused_stream([c.headers(1, "/e/cl", method="POST", end_stream=False,
                                               fields=[("content-length", "10")]),
                                     DataFrame(1, data=data, flags=["END_STREAM"]).serialize()])
        # The application never got a body of a length other than its Content-Length.
        self.assert_app_saw_only(1 + 2)
        self.assertGreaterEqual(len(self.http2_log_lines()), 2)

    def test_too_many_headers_get_http11s_answer(self):
        c = self.client()
        c.send(c.headers(1, "/e/many", fields=[(f"x-h{i:04}", "v" * 10) for i in range(1000)]))
        c.wait_for(lambda: 1 in c.ended, what="the answer")
        self.assertEqual(c.statuses[1], 400)
        self.assertIn(b"Request Too Long", c.bodies[1])
        self.wait_log(lambda e: e.s_reason == "RequestLength")
        self.assert_app_saw_only(1)

    def test_headers_on_a_closed_stream_end_the_connection(self):
        c = self.client()
        c.send(c.headers(1, "/e/one"))
        c.wait_for(lambda: 1 in c.ended, what="the answer")
        c.send(c.headers(1, "/e/again"))
        c.read_until_closed()
        self.assertIsNotNone(c.goaway)
        self.assertIn(c.goaway.error_code, (PROTOCOL_ERROR, STREAM_CLOSED))
        self.wait_log(lambda e: e.s_reason.startswith("HTTP/2:"))
        self.assert_app_saw_only(2)

    def test_data_on_a_closed_stream(self):
        c = self.client()
        c.send(c.headers(1, "/e/one"))
        c.wait_for(lambda: 1 in c.ended, what="the answer")
        c.send(DataFrame(1, data=b"late", flags=["END_STREAM"]).serialize())
        c.read_until_closed()
        self.assertIsNotNone(c.goaway)
        self.assertEqual(c.goaway.error_code, STREAM_CLOSED)
        self.wait_log(lambda e: e.s_reason.startswith("HTTP/2:"))
        self.assert_app_saw_only(2)

    def test_stream_id_exhaustion(self):
        # The last stream id a client has serves normally; there is no next one, and going
        # back to a lower id is a connection error.
        c = self.client()
        last = 2 ** 31 - 1
        c.send(c.headers(last, "/e/last"))
        c.wait_for(lambda: last in c.ended, what="the answer")
        self.assertEqual(c.statuses[last], 200)
        c.send(c.headers(1, "/e/again"))
        c.read_until_closed()
        self.assertEqual(c.goaway.error_code, PROTOCOL_ERROR)
        self.assertEqual(c.goaway.last_stream_id, last)
        self.wait_log(lambda e: e.s_reason.startswith("HTTP/2:"))
        self.assert_app_saw_only(2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
