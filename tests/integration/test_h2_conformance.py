#!/usr/bin/env python3
"""HTTP/2 conformance (RFC 9113, RFC 7541), section by section: the cases h2spec checks,
written here as raw frames (hyperframe parses what the service sends, hpack encodes and
decodes the header blocks) against one real httpapid, each asserting the exact reaction: a
GOAWAY with its error code, an RST_STREAM with its code, a frame ignored (a PING still
answered), or a normal response. Then real clients: nghttp over h2c and TLS, curl --http2.

The floods and abuse (Rapid Reset, CONTINUATION and HPACK bombs, SETTINGS/PING floods) are
in test_http2_attacks.py; the features (bodies, cache, resets, shutdown) in test_http2.py.

nghttp2 decides these reactions (but for a HEADERS on a lower stream id, which httpapid
refuses itself). Where it treats a stream error as a connection error (RFC 9113 §5.4.1 allows
that), and where it departs from the RFC (an INITIAL_WINDOW_SIZE change overflowing one
stream's window resets that stream), the test asserts what it does and says so;
docs/http2.md, "Conformance", lists them.
"""

import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServiceTestCase, binary, free_port  # noqa: E402
from tls_support import Certs  # noqa: E402

try:
    import hpack
    import hyperframe.frame as hf
except ImportError:  # Debian's python3-hpack/-hyperframe, when run under another Python 3
    sys.path.append("/usr/lib/python3/dist-packages")
    import hpack
    import hyperframe.frame as hf

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6) and flags.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Error codes (§7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, \
    STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = range(10)
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR",
               3: "FLOW_CONTROL_ERROR", 4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED",
               6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL",
               9: "COMPRESSION_ERROR"}

# SETTINGS identifiers (§6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, \
    MAX_HEADER_LIST_SIZE = range(1, 7)

MAX_WINDOW = 2 ** 31 - 1


def frame(kind, flags, stream, payload=b""):
    """One frame, built by hand so that invalid ones (wrong lengths, stream 0) can be sent."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def settings_frame(*pairs, flags=0, stream=0):
    return frame(SETTINGS, flags, stream, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def priority_payload(depends_on, weight=15, exclusive=False):
    return struct.pack(">IB", depends_on | (0x80000000 if exclusive else 0), weight)


def describe(f):
    if f is None:
        return "connection closed"
    name = type(f).__name__.replace("Frame", "").upper()
    if isinstance(f, (hf.GoAwayFrame, hf.RstStreamFrame)):
        return f"{name}({ERROR_NAMES.get(f.error_code, f.error_code)}, stream {f.stream_id})"
    return f"{name}(stream {f.stream_id}, flags {sorted(f.flags)})"


FIXTURE = None


def setUpModule():
    """The one httpapid every case talks to: an echo application on /e/ (cleartext) and /s/
    (TLS), and a queue on /hold/ whose requests are never received, so their streams stay
    open (half-closed (remote)) while a case needs them. A ServiceTestCase holds them (made
    here, not at module level, so that unittest does not collect it as a test)."""
    global FIXTURE

    class Fixture(ServiceTestCase):
        def runTest(self):
            pass

    fixture = Fixture()
    fixture.setUp()
    try:
        fixture.port, fixture.tls_port = free_port(), free_port()
        certs = Certs(os.path.join(fixture.tmp, "certs"))
        fixture.cert, key = certs.self_signed("server", "localhost", ["localhost"])
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", fixture.state_dir, "sslcert",
                            "add", "--ipport", f"0.0.0.0:{fixture.tls_port}",
                            "--cert", fixture.cert, "--key", key],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"httpcfg sslcert add: {r.stderr}")
        fixture.start_echo(f"http://+:{fixture.port}/e/", f"https://+:{fixture.tls_port}/s/")
        fixture.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue",
                           "hold", "--url", f"http://+:{fixture.port}/hold/"], "hold")
    except BaseException:
        fixture.doCleanups()
        raise
    FIXTURE = fixture


def tearDownModule():
    # Stops the applications and the service: it must exit 0, with no sanitizer report.
    FIXTURE.doCleanups()


class Peer:
    """A raw HTTP/2 client on one connection: sends frames as given, reads what the service
    sends one frame at a time (decoding every header block, so the HPACK state stays right)."""

    def __init__(self, port=None, tls=False, timeout=10.0):
        port = port or FIXTURE.port
        self.timeout = timeout  # generous: the suite also runs under ASan on a busy machine
        self.authority = f"127.0.0.1:{port}"
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
        self.sock = sock
        self.buffer = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.seen = []  # every frame read, for the failure messages
        self.server_settings = {}
        self.headers = {}  # stream -> decoded fields of its last complete header block
        self.block = b""   # a header block still in CONTINUATION frames

    def close(self):
        self.sock.close()

    def send(self, *data):
        self.sock.sendall(b"".join(data))

    def handshake(self, *settings):
        """The connection preface both ways: ours with `settings`, the service's SETTINGS,
        each acknowledged."""
        self.send(PREFACE, settings_frame(*settings))
        got_settings = got_ack = False
        while not (got_settings and got_ack):
            f = self.read()
            if f is None or isinstance(f, hf.GoAwayFrame):
                raise AssertionError(f"handshake failed: {self.history()}")
            if isinstance(f, hf.SettingsFrame):
                if "ACK" in f.flags:
                    got_ack = True
                else:
                    got_settings = True
                    self.server_settings.update(f.settings)
                    self.send(settings_frame(flags=ACK))
        return self

    # -- reading

    def _recv(self, n):
        while len(self.buffer) < n:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"no reaction within the timeout; {self.history()}")
            if not data:
                return None
            self.buffer += data
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read(self):
        """The next frame, or None once the service closed the connection."""
        head = self._recv(9)
        if head is None:
            self.seen.append(None)
            return None
        f, length = hf.Frame.parse_frame_header(memoryview(head))
        body = self._recv(length) if length else b""
        if body is None:
            self.seen.append(None)
            return None
        f.parse_body(memoryview(body))
        self.seen.append(f)
        if isinstance(f, (hf.HeadersFrame, hf.ContinuationFrame)):
            self.block += f.data
            if "END_HEADERS" in f.flags:
                self.headers[f.stream_id] = dict(self.decoder.decode(self.block, raw=False))
                self.block = b""
        return f

    def history(self):
        return "frames seen: " + ", ".join(describe(f) for f in self.seen)

    # -- requests

    def fields(self, path="/e/x", method="GET", extra=()):
        return [(":method", method), (":scheme", "http"), (":path", path),
                (":authority", self.authority), *extra]

    def block_of(self, fields, huffman=True):
        return self.encoder.encode(fields, huffman=huffman)

    def request(self, stream, path="/e/x", method="GET", extra=(), end_stream=True):
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        self.send(frame(HEADERS, flags, stream, self.block_of(self.fields(path, method, extra))))

    # -- expectations

    def expect_goaway(self, code):
        """A connection error: GOAWAY with `code`, then the connection closes."""
        while True:
            f = self.read()
            if f is None:
                raise AssertionError(f"expected GOAWAY({ERROR_NAMES[code]}); {self.history()}")
            if isinstance(f, hf.RstStreamFrame):
                raise AssertionError(f"expected GOAWAY({ERROR_NAMES[code]}), got a stream "
                                     f"error; {self.history()}")
            if isinstance(f, hf.GoAwayFrame):
                if f.error_code != code:
                    raise AssertionError(f"expected GOAWAY({ERROR_NAMES[code]}); "
                                         f"{self.history()}")
                break
        while self.read() is not None:  # only the end may follow (§5.4.1)
            pass
        return f

    def expect_reset(self, stream, code):
        """A stream error: RST_STREAM on `stream` with `code`; the connection goes on."""
        while True:
            f = self.read()
            if f is None or isinstance(f, hf.GoAwayFrame):
                raise AssertionError(f"expected RST_STREAM({ERROR_NAMES[code]}) on stream "
                                     f"{stream}; {self.history()}")
            if isinstance(f, hf.RstStreamFrame) and f.stream_id == stream:
                if f.error_code != code:
                    raise AssertionError(f"expected RST_STREAM({ERROR_NAMES[code]}) on "
                                         f"stream {stream}; {self.history()}")
                break
        self.expect_alive()

    def expect_response(self, stream, status="200"):
        """A complete response on `stream`; its body."""
        body = b""
        ended = False
        while not ended:
            f = self.read()
            if f is None or isinstance(f, hf.GoAwayFrame) or \
                    (isinstance(f, hf.RstStreamFrame) and f.stream_id == stream):
                raise AssertionError(f"expected a response on stream {stream}; "
                                     f"{self.history()}")
            if f.stream_id != stream:
                continue
            if isinstance(f, hf.DataFrame):
                body += f.data
                if f.flow_controlled_length:  # keep the windows open
                    self.send(window_update(0, f.flow_controlled_length),
                              window_update(stream, f.flow_controlled_length))
            ended = "END_STREAM" in f.flags
        got = self.headers.get(stream, {}).get(":status")
        if got != status:
            raise AssertionError(f"status {got} on stream {stream}, expected {status}; "
                                 f"{self.history()}")
        return body

    def expect_alive(self, payload=b"alive!!!"):
        """The connection still works: a PING is answered with its payload."""
        self.send(frame(PING, 0, 0, payload))
        while True:
            f = self.read()
            if f is None or isinstance(f, hf.GoAwayFrame):
                raise AssertionError(f"expected the connection to go on; {self.history()}")
            if isinstance(f, hf.PingFrame) and "ACK" in f.flags:
                if f.opaque_data != payload:
                    raise AssertionError(f"PING ACK with {f.opaque_data!r}, not {payload!r}")
                return

    def expect_nothing_on(self, stream, wait=0.3):
        """No frame for `stream` within `wait` seconds (it stays open), and the connection
        is alive."""
        self.sock.settimeout(wait)
        try:
            while True:
                f = self.read()
                if f is None:
                    raise AssertionError(f"connection closed; {self.history()}")
                if f.stream_id == stream:
                    raise AssertionError(f"unexpected frame on stream {stream}; "
                                         f"{self.history()}")
        except AssertionError as e:
            if "no reaction" not in str(e):
                raise
        finally:
            self.sock.settimeout(self.timeout)


class Case(unittest.TestCase):
    """A case with a fresh connection, handshake done."""

    def setUp(self):
        self.peer = None

    def tearDown(self):
        if self.peer:
            self.peer.close()

    def connect(self, *settings, handshake=True, tls=False, port=None):
        self.peer = Peer(port=port, tls=tls)
        if handshake:
            self.peer.handshake(*settings)
        return self.peer


# ---- RFC 9113 §3.4: the connection preface ---------------------------------------------

class S3_4_Preface(Case):

    def test_valid_preface_gets_the_service_settings(self):
        p = self.connect()
        self.assertEqual(p.server_settings.get(MAX_CONCURRENT_STREAMS), 100)
        self.assertEqual(p.server_settings.get(INITIAL_WINDOW_SIZE), 256 * 1024)

    def test_invalid_preface_over_tls_closes_the_connection(self):
        # On TLS the client chose h2 by ALPN: nghttp2 refuses the bad magic and the
        # connection closes without a GOAWAY, which RFC 9113 §3.4 allows ("a GOAWAY frame MAY
        # be omitted": the peer is not speaking HTTP/2). The service's own SETTINGS may
        # already be on the way.
        p = self.connect(handshake=False, tls=True, port=FIXTURE.tls_port)
        p.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", settings_frame())
        while p.read() is not None:
            pass
        kinds = {type(f) for f in p.seen if f is not None}
        self.assertLessEqual(kinds, {hf.SettingsFrame, hf.WindowUpdateFrame}, p.history())

    def test_invalid_preface_on_cleartext_is_http11(self):
        # Prior knowledge is recognised by the preface alone; anything else is HTTP/1.1
        # (docs/http2.md), which answers a request line of version 2.0 with 505.
        p = self.connect(handshake=False)
        p.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
        answer = b""
        while True:
            try:
                data = p.sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
        self.assertTrue(answer.startswith(b"HTTP/1.1 505 "), answer[:200])

    def test_first_frame_not_settings_is_a_protocol_error(self):
        p = self.connect(handshake=False)
        p.send(PREFACE, frame(PING, 0, 0, b"12345678"))
        p.expect_goaway(PROTOCOL_ERROR)


# ---- §4: frames ---------------------------------------------------------------------------

class S4_1_FrameFormat(Case):

    def test_unknown_frame_type_is_ignored(self):
        p = self.connect()
        p.send(frame(0x16, 0, 0, b"whatever"), frame(0xff, 0xff, 1, b"x" * 10))
        p.expect_alive()

    def test_undefined_flags_are_ignored(self):
        p = self.connect()
        p.send(frame(PING, 0x16, 0, b"flagged!"))
        f = p.read()
        while not isinstance(f, hf.PingFrame):
            f = p.read()
        self.assertEqual((f.opaque_data, "ACK" in f.flags), (b"flagged!", True), p.history())

    def test_reserved_bit_of_the_stream_id_is_ignored(self):
        p = self.connect()
        p.send(frame(PING, 0, 0x80000000, b"reserved"))
        while True:
            f = p.read()
            if isinstance(f, hf.PingFrame):
                break
            self.assertNotIsInstance(f, hf.GoAwayFrame, p.history())
            self.assertIsNotNone(f, p.history())
        self.assertEqual(f.opaque_data, b"reserved")


class S4_2_FrameSize(Case):

    def test_data_of_exactly_the_max_frame_size_is_accepted(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", [("content-length", "16384")], end_stream=False)
        p.send(frame(DATA, END_STREAM, 1, b"a" * 16384))
        self.assertEqual(json.loads(p.expect_response(1))["body_length"], 16384)

    def test_data_over_max_frame_size_is_a_frame_size_error(self):
        p = self.connect()
        p.request(1, "/hold/post", "POST", end_stream=False)
        p.send(frame(DATA, END_STREAM, 1, b"a" * 16385))
        p.expect_goaway(FRAME_SIZE_ERROR)

    def test_headers_over_max_frame_size_is_a_frame_size_error(self):
        p = self.connect()
        block = p.block_of(p.fields(extra=[("x-long", "v" * 17000)]), huffman=False)
        p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
        p.expect_goaway(FRAME_SIZE_ERROR)


# ---- §4.3 and RFC 7541: header compression ------------------------------------------------

class S4_3_HeaderCompression(Case):

    def headers_with(self, block):
        p = self.connect()
        p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
        p.expect_goaway(COMPRESSION_ERROR)

    def test_invalid_header_block_fragment(self):
        # A literal field whose name length runs past the end of the block.
        self.headers_with(b"\x00\x7f\x00")

    def test_index_beyond_the_tables(self):
        # The dynamic table is empty: index 70 names nothing (RFC 7541 §2.3.3).
        self.headers_with(b"\x82\x86\x84\xc6")

    def test_index_zero(self):
        self.headers_with(b"\x82\x86\x84\x80")  # RFC 7541 §6.1

    def test_huffman_string_with_eos(self):
        # A name of four bytes of ones: holds the 30-bit EOS symbol (RFC 7541 §5.2).
        self.headers_with(b"\x82\x86\x84\x00\x84\xff\xff\xff\xff\x01v")

    def test_huffman_padding_longer_than_seven_bits(self):
        # "a" (00011) then eleven bits of padding.
        self.headers_with(b"\x82\x86\x84\x00\x82\x1f\xff\x01v")

    def test_huffman_padding_not_the_eos_prefix(self):
        # "a" (00011) then padding of zeros, not ones.
        self.headers_with(b"\x82\x86\x84\x00\x81\x18\x01v")

    def test_table_size_update_above_the_setting(self):
        # 4097 > SETTINGS_HEADER_TABLE_SIZE (4096 by default; RFC 7541 §4.2).
        self.headers_with(b"\x3f\xe2\x1f\x82\x86\x84")

    def test_table_size_update_after_a_field(self):
        self.headers_with(b"\x82\x20\x86\x84")  # RFC 7541 §4.2: only at the block's start

    def test_priority_between_headers_and_continuation(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_STREAM, 1, block[:3]),
               frame(PRIORITY, 0, 1, priority_payload(0)),
               frame(CONTINUATION, END_HEADERS, 1, block[3:]))
        p.expect_goaway(PROTOCOL_ERROR)


# ---- §5.1: stream states ------------------------------------------------------------------

class S5_1_StreamStates(Case):

    def test_idle_data(self):
        p = self.connect()
        p.send(frame(DATA, 0, 1, b"data"))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_idle_rst_stream(self):
        p = self.connect()
        p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_idle_window_update(self):
        p = self.connect()
        p.send(window_update(1, 100))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_idle_continuation(self):
        p = self.connect()
        p.send(frame(CONTINUATION, END_HEADERS, 1, p.block_of(p.fields())))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_idle_priority_is_accepted(self):
        p = self.connect()
        p.send(frame(PRIORITY, 0, 3, priority_payload(0)))
        p.expect_alive()
        p.request(1)
        p.expect_response(1)

    def test_half_closed_remote_data_is_stream_closed(self):
        # nghttp2 makes it a connection error (RFC 9113 §5.1 allows either).
        p = self.connect()
        p.request(1, "/hold/1")
        p.expect_alive()
        p.send(frame(DATA, 0, 1, b"late"))
        p.expect_goaway(STREAM_CLOSED)

    def test_half_closed_remote_headers_is_stream_closed(self):
        # Also a connection error for nghttp2.
        p = self.connect()
        p.request(1, "/hold/1")
        p.expect_alive()
        p.request(1, "/hold/1")
        p.expect_goaway(STREAM_CLOSED)

    def test_half_closed_remote_continuation_is_a_protocol_error(self):
        p = self.connect()
        p.request(1, "/hold/1")
        p.expect_alive()
        p.send(frame(CONTINUATION, END_HEADERS, 1, p.block_of(p.fields())))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_half_closed_remote_window_update_priority_rst_are_accepted(self):
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(window_update(1, 1000), frame(PRIORITY, 0, 1, priority_payload(0)))
        p.expect_alive()
        p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))
        p.expect_alive()
        p.request(3)
        p.expect_response(3)

    def test_closed_data_after_the_client_reset_it(self):
        # The client reset the stream itself and still sends on it (§5.1 "closed").
        p = self.connect()
        p.request(1, "/hold/1", end_stream=False)
        p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)), frame(DATA, 0, 1, b"late"))
        p.expect_goaway(STREAM_CLOSED)

    def test_closed_headers_after_the_client_reset_it(self):
        p = self.connect()
        p.request(1, "/hold/1", end_stream=False)
        p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))
        p.request(1, "/hold/1")
        p.expect_goaway(STREAM_CLOSED)

    def test_closed_data_is_stream_closed(self):
        # The stream ended both ways; DATA on it is a connection error for nghttp2.
        p = self.connect()
        p.request(1)
        p.expect_response(1)
        p.send(frame(DATA, 0, 1, b"late"))
        p.expect_goaway(STREAM_CLOSED)

    def test_closed_headers_is_stream_closed(self):
        p = self.connect()
        p.request(1)
        p.expect_response(1)
        p.request(1)
        p.expect_goaway(STREAM_CLOSED)


class S5_1_1_StreamIdentifiers(Case):

    def test_even_stream_id_from_the_client(self):
        p = self.connect()
        p.request(2)
        p.expect_goaway(PROTOCOL_ERROR)

    def test_decreasing_stream_id(self):
        # RFC 9113 §5.1.1: a connection error PROTOCOL_ERROR. nghttp2 1.52 ignores a HEADERS
        # on a lower stream it has not seen open; httpapid refuses it itself (docs/http2.md,
        # Protections: stream ids reused).
        p = self.connect()
        p.request(5)
        p.expect_response(5)
        p.request(3)
        p.expect_goaway(PROTOCOL_ERROR)


class S5_1_2_Concurrency(Case):

    def test_more_streams_than_max_concurrent_streams(self):
        # 100 streams held open; the 101st exceeds the acknowledged limit: nghttp2 makes it
        # a connection error PROTOCOL_ERROR (RFC 9113 §5.1.2 allows it, or REFUSED_STREAM).
        p = self.connect()
        for i in range(100):
            p.request(1 + 2 * i, f"/hold/{i}")
        p.expect_alive()
        p.request(201, "/hold/last")
        p.expect_goaway(PROTOCOL_ERROR)


class S5_3_Priority(Case):

    def test_headers_depending_on_itself(self):
        # RFC 9113 §5.3.1 says stream error; nghttp2 1.52 ends the connection instead.
        p = self.connect()
        p.send(frame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1,
                     priority_payload(1) + p.block_of(p.fields())))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_priority_depending_on_itself(self):
        p = self.connect()
        p.send(frame(PRIORITY, 0, 1, priority_payload(1)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_headers_with_priority_are_served(self):
        p = self.connect()
        p.send(frame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1,
                     priority_payload(0, 200, exclusive=True) + p.block_of(p.fields())))
        p.expect_response(1)


class S5_4_ErrorHandling(Case):

    def test_connection_error_sends_goaway_naming_the_last_stream_then_closes(self):
        p = self.connect()
        p.request(1)
        p.expect_response(1)
        p.send(frame(PING, 0, 1, b"12345678"))
        goaway = p.expect_goaway(PROTOCOL_ERROR)
        self.assertEqual(goaway.last_stream_id, 1)


class S5_5_Extensions(Case):

    def test_unknown_frame_inside_a_header_block_is_a_protocol_error(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_STREAM, 1, block[:3]), frame(0x16, 0, 0, b"x"),
               frame(CONTINUATION, END_HEADERS, 1, block[3:]))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_unknown_setting_is_ignored(self):
        p = self.connect((0x99, 1))
        p.request(1)
        p.expect_response(1)


# ---- §6: each frame type ------------------------------------------------------------------

class S6_1_Data(Case):

    def test_data_on_stream_zero(self):
        p = self.connect()
        p.send(frame(DATA, 0, 0, b"data"))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_padded_data_is_accepted(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", end_stream=False)
        p.send(frame(DATA, END_STREAM | PADDED, 1, b"\x05hello" + b"\0" * 5))
        self.assertEqual(json.loads(p.expect_response(1))["body_length"], 5)

    def test_padding_longer_than_the_payload(self):
        p = self.connect()
        p.request(1, "/hold/post", "POST", end_stream=False)
        p.send(frame(DATA, END_STREAM | PADDED, 1, b"\x06hello"))
        p.expect_goaway(PROTOCOL_ERROR)


class S6_2_Headers(Case):

    def test_headers_on_stream_zero(self):
        p = self.connect()
        p.send(frame(HEADERS, END_HEADERS | END_STREAM, 0, p.block_of(p.fields())))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_padding_longer_than_the_payload(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1,
                     bytes([len(block) + 1]) + block))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_padded_headers_are_served(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, b"\x04" + block + b"\0" * 4))
        p.expect_response(1)

    def test_headers_without_end_headers_then_another_frame(self):
        p = self.connect()
        p.send(frame(HEADERS, END_STREAM, 1, p.block_of(p.fields())),
               frame(DATA, 0, 1, b"data"))
        p.expect_goaway(PROTOCOL_ERROR)


class S6_3_Priority(Case):

    def test_priority_on_stream_zero(self):
        p = self.connect()
        p.send(frame(PRIORITY, 0, 0, priority_payload(1)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_priority_of_the_wrong_length(self):
        # A stream error in RFC 9113 §6.3; nghttp2 ends the connection.
        p = self.connect()
        p.send(frame(PRIORITY, 0, 1, priority_payload(0) + b"\0"))
        p.expect_goaway(FRAME_SIZE_ERROR)


class S6_4_RstStream(Case):

    def test_rst_stream_on_stream_zero(self):
        p = self.connect()
        p.send(frame(RST_STREAM, 0, 0, struct.pack(">I", CANCEL)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_rst_stream_of_the_wrong_length(self):
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL) + b"\0"))
        p.expect_goaway(FRAME_SIZE_ERROR)


class S6_5_Settings(Case):

    def test_settings_are_acknowledged(self):
        p = self.connect()
        p.send(settings_frame((MAX_CONCURRENT_STREAMS, 10)))
        while True:
            f = p.read()
            self.assertIsNotNone(f, p.history())
            if isinstance(f, hf.SettingsFrame):
                self.assertEqual((f.flags, f.settings), ({"ACK"}, {}), p.history())
                break

    def test_ack_with_a_payload(self):
        p = self.connect()
        p.send(frame(SETTINGS, ACK, 0, struct.pack(">HI", MAX_CONCURRENT_STREAMS, 1)))
        p.expect_goaway(FRAME_SIZE_ERROR)

    def test_settings_on_a_stream(self):
        p = self.connect()
        p.send(settings_frame((MAX_CONCURRENT_STREAMS, 10), stream=1))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_length_not_a_multiple_of_six(self):
        p = self.connect()
        p.send(frame(SETTINGS, 0, 0, struct.pack(">HI", MAX_CONCURRENT_STREAMS, 1) + b"\0"))
        p.expect_goaway(FRAME_SIZE_ERROR)

    def test_enable_push_2(self):
        p = self.connect()
        p.send(settings_frame((ENABLE_PUSH, 2)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_initial_window_size_over_the_maximum(self):
        p = self.connect()
        p.send(settings_frame((INITIAL_WINDOW_SIZE, MAX_WINDOW + 1)))
        p.expect_goaway(FLOW_CONTROL_ERROR)

    def test_max_frame_size_below_the_minimum(self):
        p = self.connect()
        p.send(settings_frame((MAX_FRAME_SIZE, 16383)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_max_frame_size_over_the_maximum(self):
        p = self.connect()
        p.send(settings_frame((MAX_FRAME_SIZE, 2 ** 24)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_initial_window_size_applies_to_responses(self):
        # §6.9.2: with a window of 1 byte the response comes one byte at a time.
        p = self.connect((INITIAL_WINDOW_SIZE, 1))
        p.request(1)
        while True:
            f = p.read()
            self.assertIsNotNone(f, p.history())
            self.assertNotIsInstance(f, hf.GoAwayFrame, p.history())
            if isinstance(f, hf.DataFrame) and f.stream_id == 1:
                self.assertEqual(len(f.data), 1, p.history())
                break
        p.send(window_update(1, 100000))
        p.expect_response(1)


class S6_7_Ping(Case):

    def test_ping_is_answered_with_its_payload(self):
        self.connect().expect_alive(b"\x00\x01\x02\x03\xfc\xfd\xfe\xff")

    def test_ping_ack_is_not_answered(self):
        p = self.connect()
        p.send(frame(PING, ACK, 0, b"notmine!"))
        p.expect_alive(b"butthis!")  # the only ACK that comes is for this one

    def test_ping_on_a_stream(self):
        p = self.connect()
        p.send(frame(PING, 0, 1, b"12345678"))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_ping_of_the_wrong_length(self):
        p = self.connect()
        p.send(frame(PING, 0, 0, b"1234567"))
        p.expect_goaway(FRAME_SIZE_ERROR)


class S6_8_GoAway(Case):

    def test_goaway_on_a_stream(self):
        p = self.connect()
        p.send(frame(GOAWAY, 0, 1, struct.pack(">II", 0, NO_ERROR)))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_client_goaway_ends_the_connection_after_its_streams(self):
        p = self.connect()
        p.request(1)
        p.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, NO_ERROR)))
        p.expect_response(1)
        while p.read() is not None:
            pass


class S6_9_WindowUpdate(Case):

    def test_zero_increment_on_the_connection(self):
        p = self.connect()
        p.send(window_update(0, 0))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_zero_increment_on_a_stream(self):
        # A stream error in §6.9; nghttp2 ends the connection.
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(window_update(1, 0))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_wrong_length(self):
        p = self.connect()
        p.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1) + b"\0"))
        p.expect_goaway(FRAME_SIZE_ERROR)

    def test_connection_window_overflow(self):
        p = self.connect()
        p.send(window_update(0, MAX_WINDOW), window_update(0, MAX_WINDOW))
        p.expect_goaway(FLOW_CONTROL_ERROR)

    def test_stream_window_overflow(self):
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(window_update(1, MAX_WINDOW), window_update(1, MAX_WINDOW))
        p.expect_reset(1, FLOW_CONTROL_ERROR)

    def test_initial_window_size_change_overflowing_an_open_stream(self):
        # §6.9.2: a change that pushes an open stream's window over 2^31-1 is a connection
        # error; nghttp2 resets only the stream whose window overflowed (a deviation,
        # docs/http2.md: the other streams go on).
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(window_update(1, MAX_WINDOW - 65535))
        p.expect_alive()
        p.send(settings_frame((INITIAL_WINDOW_SIZE, 65536)))
        p.expect_reset(1, FLOW_CONTROL_ERROR)


class S6_10_Continuation(Case):

    def test_several_continuations_make_one_block(self):
        p = self.connect()
        block = p.block_of(p.fields(extra=[("x-a", "1" * 50), ("x-b", "2" * 50)]))
        p.send(frame(HEADERS, END_STREAM, 1, block[:10]),
               frame(CONTINUATION, 0, 1, block[10:40]),
               frame(CONTINUATION, END_HEADERS, 1, block[40:]))
        self.assertIn(b'"x-b"', p.expect_response(1))

    def test_continuation_after_end_headers(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_HEADERS, 1, block), frame(CONTINUATION, END_HEADERS, 1, b""))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_continuation_then_another_frame(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_STREAM, 1, block[:3]), frame(CONTINUATION, 0, 1, block[3:]),
               frame(DATA, 0, 1, b"data"))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_continuation_on_stream_zero(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_STREAM, 1, block[:3]),
               frame(CONTINUATION, END_HEADERS, 0, block[3:]))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_continuation_on_another_stream(self):
        p = self.connect()
        block = p.block_of(p.fields())
        p.send(frame(HEADERS, END_STREAM, 1, block[:3]),
               frame(CONTINUATION, END_HEADERS, 3, block[3:]))
        p.expect_goaway(PROTOCOL_ERROR)


# ---- §8: HTTP semantics ---------------------------------------------------------------------
# nghttp2 checks the request's fields (RFC 9113 §8.1.1 "malformed"): a stream error
# PROTOCOL_ERROR, before anything reaches an application; the connection goes on.

class S8_HttpMessages(Case):

    def malformed(self, fields, end_stream=True):
        p = self.connect()
        p.send(frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), 1,
                     p.block_of(fields)))
        p.expect_reset(1, PROTOCOL_ERROR)
        p.request(3)
        p.expect_response(3)

    def base(self, drop=(), extra=()):
        return [(n, v) for n, v in [(":method", "GET"), (":scheme", "http"), (":path", "/e/x"),
                                    (":authority", "127.0.0.1")] if n not in drop] + list(extra)

    def test_upper_case_field_name(self):
        self.malformed(self.base(extra=[("X-Upper", "1")]))

    def test_unknown_pseudo_header(self):
        self.malformed(self.base(extra=[(":foo", "bar")]))

    def test_response_pseudo_header_in_a_request(self):
        self.malformed(self.base(extra=[(":status", "200")]))

    def test_pseudo_header_after_a_regular_field(self):
        self.malformed([(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                        (":path", "/e/x"), (":authority", "127.0.0.1")])

    def test_duplicated_pseudo_header(self):
        self.malformed(self.base(extra=[(":path", "/e/y")]))

    def test_missing_method(self):
        self.malformed(self.base(drop=[":method"]))

    def test_missing_scheme(self):
        self.malformed(self.base(drop=[":scheme"]))

    def test_missing_path(self):
        self.malformed(self.base(drop=[":path"]))

    def test_empty_path(self):
        self.malformed([(":method", "GET"), (":scheme", "http"), (":path", ""),
                        (":authority", "127.0.0.1")])

    def test_connection_specific_field(self):
        self.malformed(self.base(extra=[("connection", "keep-alive")]))

    def test_te_other_than_trailers(self):
        self.malformed(self.base(extra=[("te", "trailers, deflate")]))

    def test_field_value_with_a_line_feed(self):
        self.malformed(self.base(extra=[("x-a", "1\nx-b: 2")]))

    def test_te_trailers_is_served(self):
        p = self.connect()
        p.request(1, extra=[("te", "trailers")])
        p.expect_response(1)

    def test_pseudo_header_in_trailers(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", end_stream=False)
        p.send(frame(DATA, 0, 1, b"body"),
               frame(HEADERS, END_HEADERS | END_STREAM, 1, p.block_of([(":path", "/x")])))
        p.expect_reset(1, PROTOCOL_ERROR)

    def test_trailers_without_end_stream(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", end_stream=False)
        p.send(frame(DATA, 0, 1, b"body"),
               frame(HEADERS, END_HEADERS, 1, p.block_of([("x-trailer", "1")])))
        p.expect_reset(1, PROTOCOL_ERROR)

    def test_content_length_more_than_the_data(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", [("content-length", "10")], end_stream=False)
        p.send(frame(DATA, END_STREAM, 1, b"short"))
        p.expect_reset(1, PROTOCOL_ERROR)

    def test_content_length_less_than_the_data(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", [("content-length", "4")], end_stream=False)
        p.send(frame(DATA, 0, 1, b"abc"), frame(DATA, END_STREAM, 1, b"def"))
        p.expect_reset(1, PROTOCOL_ERROR)

    def test_push_promise_from_the_client(self):
        p = self.connect()
        p.request(1, "/hold/1")
        p.send(frame(PUSH_PROMISE, END_HEADERS, 1,
                     struct.pack(">I", 2) + p.block_of(p.fields())))
        p.expect_goaway(PROTOCOL_ERROR)

    def test_post_with_a_body_and_trailers_is_served(self):
        p = self.connect()
        p.request(1, "/e/post", "POST", [("content-length", "4")], end_stream=False)
        p.send(frame(DATA, 0, 1, b"body"),
               frame(HEADERS, END_HEADERS | END_STREAM, 1, p.block_of([("x-trailer", "t")])))
        echoed = json.loads(p.expect_response(1))
        self.assertEqual((echoed["body_length"], echoed["trailers"]), (4, [["x-trailer", "t"]]))


# ---- real clients -------------------------------------------------------------------------

class RealClients(unittest.TestCase):

    def nghttp(self, url):
        r = subprocess.run(["nghttp", "-nv", url], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(":status: 200", r.stdout)
        # Its request went out on a stream after its PRIORITY anchors (idle streams): the
        # response arrived complete, and nothing was an error.
        self.assertRegex(r.stdout, r"recv DATA frame <length=\d+, flags=0x01, stream_id=\d+>")
        for bad in ("PROTOCOL_ERROR", "recv RST_STREAM", "COMPRESSION_ERROR",
                    "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR", "[ERROR]"):
            self.assertNotIn(bad, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"send GOAWAY frame <length=8, flags=0x00, stream_id=0>"
                                   r"\s+\(last_stream_id=0, error_code=NO_ERROR")
        return r.stdout

    def test_nghttp_over_h2c(self):
        self.nghttp(f"http://127.0.0.1:{FIXTURE.port}/e/nghttp")

    def test_nghttp_over_tls(self):
        out = self.nghttp(f"https://127.0.0.1:{FIXTURE.tls_port}/s/nghttp")
        self.assertIn("The negotiated protocol: h2", out)

    def test_curl_http2_over_tls(self):
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "20", "--http2",
                            "--cacert", FIXTURE.cert, "--resolve",
                            f"localhost:{FIXTURE.tls_port}:127.0.0.1",
                            "-w", "\n%{http_version} %{http_code}",
                            f"https://localhost:{FIXTURE.tls_port}/s/curl"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith("\n2 200"), r.stdout)
        self.assertEqual(json.loads(r.stdout.rsplit("\n", 1)[0])["version"], "HTTP/2")


if __name__ == "__main__":
    unittest.main(verbosity=2)
