#!/usr/bin/env python3
"""The API over HTTP/2 (issue 13, docs/http2.md) with real clients against a real httpapid:
trailers (httpapi-echo --trailer, on HTTP/2 and HTTP/1.1 alike), 103 Early Hints, file
chunks, HTTPAPI_REQUEST_FLAG_HTTP2, OPAQUE refused with an error the application sees, a
zero-window client pausing the application, httpapi_cancel and a client's RST_STREAM ending
one stream only, HTTPAPI_SEND_FLAG_GOAWAY, the entity-body, drain and request-queue timers
per stream, and the connection limit counting connections.

The frames are read with a small client of its own (RawH2, HPACK from Python's hpack):
Python's h2 stops at the first GOAWAY and cannot hold a window at zero, which these tests
need."""

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServiceTestCase, binary, free_port, sha256_hex, wait_until  # noqa: E402

try:
    import hpack
except ImportError:  # Debian's python3-hpack, when the tests run under another Python 3
    sys.path.append("/usr/lib/python3/dist-packages")
    import hpack

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = \
    0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, CANCEL = 0, 8
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def curl(*args, timeout=60):
    """Runs curl (never through a proxy); stdout and stderr as text."""
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout - 5),
                           *args], capture_output=True, text=True, timeout=timeout)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Stream:
    def __init__(self):
        self.heads = []      # each HEADERS block before the body: [(name, value), ...]
        self.trailers = None
        self.body = bytearray()  # appended in place: megabytes arrive frame by frame
        self.ended = False
        self.reset = None    # the RST_STREAM error code


class RawH2:
    """One HTTP/2 connection driven frame by frame. `window` is the stream window the client
    grants (SETTINGS_INITIAL_WINDOW_SIZE); with `auto_window` False it never sends
    WINDOW_UPDATE, so the service can send no more than the windows allow."""

    def __init__(self, port, window=65535, auto_window=True, timeout=20):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.encoder, self.decoder = hpack.Encoder(), hpack.Decoder()
        self.auto_window = auto_window
        self.streams = {}
        self.next_id = 1
        self.goaway = None      # (error code, last stream id)
        self.eof = False
        self.buf = bytearray()
        self.pos = 0            # bytes of buf already taken
        self._block = None      # (stream id, flags, fragments) of a header block in progress
        self.sock.sendall(PREFACE + self.frame(SETTINGS, 0, 0, struct.pack(">HI", 4, window)))

    @staticmethod
    def frame(kind, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
            struct.pack(">I", stream) + payload

    def send(self, kind, flags, stream, payload=b""):
        self.sock.sendall(self.frame(kind, flags, stream, payload))

    def request(self, path, method="GET", end_stream=True, fields=()):
        stream = self.next_id
        self.next_id += 2
        block = self.encoder.encode([(":method", method), (":path", path), (":scheme", "http"),
                                     (":authority", f"127.0.0.1:{self.port}"), *fields])
        self.streams[stream] = Stream()
        self.send(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream, block)
        return stream

    def data(self, stream, payload, end_stream=False):
        self.send(DATA, END_STREAM if end_stream else 0, stream, payload)

    def reset(self, stream, code=CANCEL):
        self.send(RST_STREAM, 0, stream, struct.pack(">I", code))

    def open_window(self, stream, increment):
        self.send(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))

    def _read(self, n, deadline):
        while len(self.buf) - self.pos < n:
            if self.pos:
                del self.buf[:self.pos]
                self.pos = 0
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def pump(self, timeout=20):
        """Reads and handles one frame; False at the end of the connection."""
        if self.eof:
            return False
        deadline = time.monotonic() + timeout
        try:
            head = self._read(9, deadline)
            length = struct.unpack(">I", b"\0" + head[:3])[0]
            kind, flags, sid = head[3], head[4], struct.unpack(">I", head[5:])[0] & 0x7fffffff
            payload = self._read(length, deadline)
        except (EOFError, ConnectionResetError):
            self.eof = True
            return False
        self.handle(kind, flags, sid, payload)
        return True

    def handle(self, kind, flags, sid, payload):
        s = self.streams.get(sid)
        if kind in (HEADERS, CONTINUATION):
            if kind == HEADERS:
                pad = payload[0] if flags & 0x8 else 0
                start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                self._block = (sid, flags, [payload[start:len(payload) - pad]])
            else:
                self._block[2].append(payload)
            if flags & END_HEADERS:
                first_flags = self._block[1]
                fields = [(n.decode() if isinstance(n, bytes) else n,
                           v.decode() if isinstance(v, bytes) else v)
                          for n, v in self.decoder.decode(b"".join(self._block[2]))]
                self._block = None
                if s is not None:
                    if s.heads and not s.heads[-1][0][1].startswith("1"):
                        s.trailers = fields
                    else:
                        s.heads.append(fields)
                    if first_flags & END_STREAM:
                        s.ended = True
        elif kind == DATA:
            if s is not None:
                s.body += payload
                if flags & END_STREAM:
                    s.ended = True
            if self.auto_window and payload:
                self.open_window(0, len(payload))
                if not flags & END_STREAM:
                    self.open_window(sid, len(payload))
        elif kind == RST_STREAM and s is not None:
            s.reset = struct.unpack(">I", payload)[0]
        elif kind == SETTINGS and not flags & ACK:
            self.send(SETTINGS, ACK, 0)
        elif kind == PING and not flags & ACK:
            self.send(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (code, last & 0x7fffffff)

    def wait(self, stream, timeout=20):
        s = self.streams[stream]
        deadline = time.monotonic() + timeout
        while not (s.ended or s.reset is not None):
            if time.monotonic() > deadline or not self.pump(deadline - time.monotonic()):
                raise AssertionError(f"stream {stream} did not end (eof {self.eof})")
        return s

    def pump_until(self, predicate, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline or not self.pump(deadline - time.monotonic()):
                raise AssertionError(f"no {what} (eof {self.eof})")

    def close(self):
        self.sock.close()


def status(stream):
    return int(dict(stream.heads[-1])[":status"])


class Http2Api(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def client(self, **kwargs):
        c = RawH2(self.port, **kwargs)
        self.clients.append(c)
        return c

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def start_stream_app(self, prefix="/s/", *args):
        return self.start_app([binary("HTTPAPI_STREAM_API_APP"),
                               f"http://+:{self.port}{prefix}", *map(str, args)], "stream-api")

    # ---- responses -------------------------------------------------------------------

    def test_echo_trailers_end_the_stream_as_a_last_headers_frame_and_a_chunked_trailer(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--trailer", "grpc-status:0", "--trailer", "X-Sum: abc",
                        "--stream", "3"], "echo-trailers")
        c = self.client()
        s = c.wait(c.request("/e/grpc"))
        self.assertEqual(status(s), 200)
        self.assertNotIn("content-length", dict(s.heads[-1]))
        self.assertEqual(json.loads(s.body)["version"], "HTTP/2")
        self.assertEqual(s.trailers, [("grpc-status", "0"), ("x-sum", "abc")])
        # HTTP/1.1: a chunked body whose trailer section carries the same fields.
        raw = curl("--raw", "-i", self.url("/e/one")).stdout
        self.assertIn("Transfer-Encoding: chunked", raw)
        self.assertRegex(raw, r"\n0\r?\ngrpc-status: 0\r?\nX-Sum: abc\r?\n\r?\n$")
        # curl over HTTP/2 reads it whole.
        r = curl("--http2-prior-knowledge", self.url("/e/curl"))
        self.assertEqual(json.loads(r.stdout)["version"], "HTTP/2")

    def test_early_hints_come_as_an_interim_headers_frame(self):
        self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), f"http://+:{self.port}/r/"],
                       "features")
        c = self.client()
        s = c.wait(c.request("/r/hints"))
        self.assertEqual([h[0] for h in s.heads], [(":status", "103"), (":status", "200")])
        self.assertIn(("link", "</style.css>; rel=preload; as=style"), s.heads[0])
        self.assertEqual(s.body, b"final")
        out = curl("--http2-prior-knowledge", "-i", self.url("/r/hints")).stdout
        self.assertTrue(out.startswith("HTTP/2 103"), out[:200])
        self.assertIn("HTTP/2 200", out)
        # The library's own trailers test app over HTTP/2 too.
        s = c.wait(c.request("/r/trailers"))
        self.assertEqual((s.body, s.trailers), (b"alpha,beta,gamma",
                                                [("x-checksum", "alpha,beta,gamma"),
                                                 ("x-pieces", "3")]))

    def test_file_chunks_over_http2(self):
        small = os.path.join(self.tmp, "small.txt")
        with open(small, "wb") as f:
            f.write(bytes(ord("A") + i % 26 for i in range(200)))
        big = os.path.join(self.tmp, "big.bin")
        data = os.urandom(3 * 1024 * 1024 + 5)  # many frames, past the first windows
        with open(big, "wb") as f:
            f.write(data)
        self.start_app([binary("HTTPAPI_CHUNKS_APP"), f"http://+:{self.port}/c/", small, big],
                       "chunks")
        c = self.client()
        whole = c.wait(c.request("/c/file"))
        self.assertEqual((status(whole), dict(whole.heads[-1])["content-length"]), (200, "200"))
        with open(small, "rb") as f:
            small_bytes = f.read()
        self.assertEqual(whole.body, small_bytes)
        streamed = c.wait(c.request("/c/stream"))
        self.assertEqual(streamed.body, small_bytes[:15] + b"end")
        # A fragment from the fragment cache between file ranges.
        self.assertEqual(c.wait(c.request("/c/add/a")).body, b"HTTPAPI_OK")
        mixed = c.wait(c.request("/c/mixed"))
        self.assertEqual(bytes(mixed.body), b"<" + small_bytes[:10] + b"|fragment a v1>")
        large = c.wait(c.request("/c/big"), timeout=60)
        self.assertEqual(hashlib.sha256(large.body).hexdigest(), sha256_hex(data))
        # httpapi-files (sendfile on HTTP/1.1) serves the same bytes over HTTP/2.
        self.start_app([binary("HTTPAPI_FILES"), "--url", f"http://+:{self.port}/f/",
                        "--root", self.tmp], "files")
        out = os.path.join(self.tmp, "got.bin")
        r = curl("--http2-prior-knowledge", "-o", out, "-w", "%{http_version} %{http_code}",
                 self.url("/f/big.bin"))
        self.assertEqual(r.stdout, "2 200", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(sha256_hex(f.read()), sha256_hex(data))
        r = curl("--http2-prior-knowledge", "-r", "10-19", self.url("/f/small.txt"))
        self.assertEqual(r.stdout, "KLMNOPQRST")

    def test_the_application_sees_the_http2_flag_and_version(self):
        self.start_stream_app()
        r = curl("--http2-prior-knowledge", self.url("/s/flags"))
        self.assertEqual(r.stdout, "flags=0x8 version=2.0")
        r = curl("--http1.1", self.url("/s/flags"))
        self.assertEqual(r.stdout, "flags=0x0 version=1.1")

    def test_opaque_is_refused_with_invalid_state_and_a_reason(self):
        self.start_stream_app()
        c = self.client()
        s = c.wait(c.request("/s/opaque"))
        self.assertEqual(status(s), 400)
        self.assertTrue(s.body.startswith(b"HTTPAPI_ERROR_INVALID_STATE HTTP/2 has no protocol"),
                        s.body)
        # The same call over HTTP/1.1 switches protocols.
        conn = self.conn(self.port)
        conn.send(b"GET /s/opaque HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertEqual(conn.read_head()[1], 101)

    def test_expect_100_continue_is_answered_when_the_application_reads_the_body(self):
        self.start_echo(f"http://+:{self.port}/e/")
        self.start_hello(f"http://+:{self.port}/h/")
        c = self.client()
        expect = [("expect", "100-continue"), ("content-length", "5")]
        s = c.request("/e/up", method="POST", end_stream=False, fields=expect)
        # The client holds its body back until it is told to send it (RFC 9110 §10.1.1).
        c.pump_until(lambda: c.streams[s].heads, what="100 Continue")
        self.assertEqual(c.streams[s].heads, [[(":status", "100")]])
        self.assertFalse(c.streams[s].ended)
        c.data(s, b"hello", end_stream=True)
        done = c.wait(s)
        self.assertEqual(status(done), 200)
        self.assertEqual(json.loads(done.body)["body_sha256"], hashlib.sha256(b"hello").hexdigest())
        # An application that answers without reading the body costs the client no upload:
        # no 100, the final answer at once.
        refused = c.wait(c.request("/h/up", method="POST", end_stream=False, fields=expect))
        self.assertEqual([h[0] for h in refused.heads], [(":status", "200")])

    # ---- flow control ----------------------------------------------------------------

    def test_a_zero_window_client_pauses_the_application_until_it_reads(self):
        app = self.start_stream_app()
        total_mib = 24
        c = self.client(window=0, auto_window=False)
        before = rss_kib(self.service.pid)
        s = c.request(f"/s/stream/{total_mib}")
        c.pump_until(lambda: c.streams[s].heads, what="response head")
        # The application streams until the service stops taking its pieces: then no line
        # comes for seconds.
        sent = 0
        while True:
            try:
                line = app.read_line(3)
            except AssertionError:
                break
            self.assertTrue(line.startswith(b"sent "), line)
            sent = int(line.split()[1])
        self.assertLess(sent, total_mib // 2, "the application was never paused")
        grown = rss_kib(self.service.pid) - before
        self.assertLess(grown, 24 * 1024, f"httpapid grew by {grown} KiB for a closed window")
        self.assertEqual(bytes(c.streams[s].body), b"")
        # The client opens its windows: everything arrives, and the application finishes.
        c.auto_window = True
        c.open_window(s, 1 << 30)
        c.open_window(0, 1 << 30)
        got = c.wait(s, timeout=120)
        self.assertEqual(len(got.body), total_mib << 20)
        self.assertEqual(got.body.count(b"x"), total_mib << 20)
        lines = []
        wait_until(lambda: lines.append(app.read_line(1)) or lines[-1].startswith(b"done"),
                   30, what="the application's end")
        self.assertEqual(lines[-1], b"done HTTPAPI_OK\n")

    # ---- lifecycle -------------------------------------------------------------------

    def test_cancel_resets_only_its_stream(self):
        self.start_stream_app()
        self.start_echo(f"http://+:{self.port}/e/")
        c = self.client()
        slow = c.request("/s/slow/1500")
        cancelled = c.request("/s/cancel")
        echo = c.request("/e/beside")
        self.assertEqual(c.wait(cancelled).reset, CANCEL)
        self.assertEqual(status(c.wait(echo)), 200)
        self.assertEqual(c.wait(slow).body, b"slow 1500")
        self.assertIsNone(c.goaway)
        self.assertEqual(status(c.wait(c.request("/e/after"))), 200)
        self.wait_log(lambda e: e.s_reason == "Request_Cancelled", what="Request_Cancelled")

    def test_pieces_and_cancel_taken_at_once_reach_the_client_before_the_reset(self):
        # As test_app_failure's HTTP/1.1 case: httpapid is stopped while the application
        # sends two pieces and cancels, so it takes all three in one turn. The pieces go out,
        # then RST_STREAM CANCEL tells the client the response was cut short.
        app = self.start_half_response(f"http://+:{self.port}/half/", "cancel-on-usr1")
        c = self.client()
        stream = c.request("/half/x")
        self.assertEqual(app.read_line(10), b"received\n")
        self.cancel_while_service_stopped(app)
        s = c.wait(stream)
        self.assertEqual(status(s), 200)
        self.assertEqual(bytes(s.body), b"first part;second part;")
        self.assertEqual(s.reset, CANCEL)
        self.assertFalse(s.ended)

    def test_a_client_rst_stream_ends_the_applications_wait_for_disconnect(self):
        app = self.start_stream_app()
        c = self.client()
        watched = c.request("/s/watch")
        self.assertEqual(app.read_line(10), b"watching /s/watch\n")
        c.reset(watched)
        self.assertEqual(app.read_line(10), b"gone /s/watch HTTPAPI_OK\n")
        self.assertEqual(c.wait(c.request("/s/flags")).body, b"flags=0x8 version=2.0")

    def test_send_flag_goaway_lets_streams_in_flight_finish_and_takes_no_new_one(self):
        app = self.start_stream_app()
        c = self.client(auto_window=False)  # sends nothing after its requests
        slow = c.request("/s/slow/2500")
        self.assertEqual(app.read_line(10), b"sleeping /s/slow/2500\n")
        goaway = c.request("/s/goaway")
        self.assertEqual(c.wait(goaway).body, b"goaway")
        c.pump_until(lambda: c.goaway is not None, what="GOAWAY")
        self.assertEqual(c.goaway, (NO_ERROR, goaway))
        self.assertEqual(app.read_line(10), b"goaway HTTPAPI_OK\n")
        late = c.request("/s/flags")  # after the GOAWAY: not taken
        self.assertEqual(c.wait(slow).body, b"slow 2500")
        try:
            while c.pump(10):  # the connection closes once the stream in flight is done
                pass
        except TimeoutError:
            self.fail("the connection stayed open after its last stream")
        self.assertEqual((c.streams[late].heads, bytes(c.streams[late].body)), ([], b""))
        # HTTP/1.1: the response says Connection: close and the connection closes.
        conn = self.conn(self.port)
        r = conn.request("GET", "/s/goaway")
        self.assertEqual((r.status, r.header("Connection")), (200, "close"))
        self.assertTrue(conn.wait_closed())

    def test_service_shutdown_lets_the_streams_in_flight_finish_then_closes(self):
        app = self.start_stream_app()
        c = self.client(auto_window=False)
        slow = c.request("/s/slow/1500")
        self.assertEqual(app.read_line(10), b"sleeping /s/slow/1500\n")
        self.service.send_signal(signal.SIGTERM)
        c.pump_until(lambda: c.goaway is not None, what="GOAWAY")
        self.assertEqual(c.goaway, (NO_ERROR, slow))
        self.assertEqual(c.wait(slow).body, b"slow 1500")
        try:
            while c.pump(10):
                pass
        except TimeoutError:
            self.fail("the connection stayed open after its last stream")
        self.assertEqual(self.service.wait(20), 0)

    def test_entity_body_timer_resets_the_silent_stream_and_its_sibling_is_served(self):
        app = self.start_stream_app("/s/", 2)
        c = self.client()
        silent = c.request("/s/read", method="POST", end_stream=False)
        c.data(silent, b"abc")
        sibling = c.request("/s/slow/4000")
        self.assertEqual(app.read_line(10), b"sleeping /s/slow/4000\n")
        started = time.monotonic()
        self.assertEqual(c.wait(silent).reset, CANCEL)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertEqual(app.read_line(10), b"read HTTPAPI_ERROR_CONNECTION_GONE 3\n")
        self.assertEqual(c.wait(sibling).body, b"slow 4000")
        self.assertFalse(c.eof)
        self.wait_log(lambda e: e.s_reason == "Timer_EntityBody" and e.cs_uri.endswith("/s/read"),
                      what="Timer_EntityBody")
        # A body that keeps coming, slower than the timer but never silent for its length,
        # is read whole.
        steady = c.request("/s/read", method="POST", end_stream=False)
        for _ in range(3):
            c.data(steady, b"12345")
            time.sleep(1)
        c.data(steady, b"", end_stream=True)
        self.assertEqual(c.wait(steady).body, b"read 15")

    def test_drain_timer_resets_a_body_still_arriving_after_the_response(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--ignore-body", "--drain-timeout", "2"], "echo-drain")
        # A closed window keeps the response from ending the stream, so the body drains.
        c = self.client(window=0, auto_window=False)
        s = c.request("/e/upload", method="POST", end_stream=False)
        c.data(s, b"x" * 1000)
        self.assertEqual(c.wait(s).reset, CANCEL)
        self.wait_log(lambda e: e.s_reason == "Timer_EntityBody", what="drain Timer_EntityBody")

    def test_request_queue_timer_answers_503_on_the_stream(self):
        self.start_stream_app("/q/", 0, 2)  # receives nothing: requests wait in the queue
        self.start_echo(f"http://+:{self.port}/e/")
        c = self.client()
        queued = c.request("/q/flags")
        beside = c.request("/e/beside")
        self.assertEqual(status(c.wait(beside)), 200)
        self.assertEqual(status(c.wait(queued)), 503)
        self.assertEqual(status(c.wait(c.request("/e/after"))), 200)
        self.wait_log(lambda e: e.s_reason == "Timer_ReqQueue", what="Timer_ReqQueue")

    def test_an_idle_connection_gets_goaway_and_closes_after_the_groups_idle_timer(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--idle-timeout", "2"], "echo-idle")
        c = self.client()
        s = c.request("/e/once")
        self.assertEqual(status(c.wait(s)), 200)
        started = time.monotonic()
        while c.pump(15):
            pass
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertEqual(c.goaway, (NO_ERROR, s))
        self.wait_log(lambda e: e.s_reason == "Timer_ConnectionIdle",
                      what="Timer_ConnectionIdle")

    def test_a_connection_whose_socket_refuses_bytes_is_cut_off_by_the_send_rate(self):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                            "--key", "min_send_rate", "--value", "65536"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.start_stream_app()
        # Windows wide open, and then the client reads nothing: the socket fills up.
        c = self.client(window=(1 << 31) - 1, auto_window=False)
        c.open_window(0, 1 << 30)
        c.request("/s/stream/64")
        port = c.sock.getsockname()[1]
        e = self.log_for(port, timeout=30)
        self.assertEqual((e.s_reason, e.cs_uri), ("Timer_MinBytesPerSecond", "/s/stream/64"))
        c.sock.settimeout(10)
        try:
            while c.sock.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass

    def test_the_connection_limit_counts_connections_not_streams(self):
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/e/",
                        "--max-connections", "1"], "echo-limited")
        c = self.client()
        streams = [c.request(f"/e/{i}") for i in range(6)]
        self.assertEqual([status(c.wait(s)) for s in streams], [200] * 6)
        r = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                 self.url("/e/second"))
        self.assertEqual(r.stdout, "503")
        self.wait_log(lambda e: e.s_reason == "ConnLimit", what="ConnLimit")
        c.close()
        wait_until(lambda: curl("--http2-prior-knowledge", "-o", "/dev/null", "-w",
                                "%{http_code}", self.url("/e/third")).stdout == "200",
                   10, what="a connection once the first closed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
