#!/usr/bin/env python3
"""The JSON contract of httpapi-echo (issue 2 item 5): every key, with the value the service
and the library must deliver for what the client actually sent."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, curl, free_port, http, sha256_hex  # noqa: E402

KEYS = {"app", "method", "raw_url", "url", "version", "headers", "body_length", "body_sha256",
        "remote", "local", "url_context", "request_id", "connection_id"}
# Keys added after issue 2 (request trailers; issue 6's "served", the number of requests
# this process answered); allowed, and checked where they apply.
OPTIONAL_KEYS = {"trailers", "served"}
# Keys of issue 12, in every answer: "secure", and "tls" (null over plain http; over https
# {"protocol", "cipher", "sni", "alpn", "resumed", "client_cert"}, docs/tls.md).
TLS_KEYS = {"secure", "tls"}
# Keys of issue 15, in every answer: "proxied_by" (null without a PROXY header) and
# "proxy_tlvs" (null without one; docs/proxy-protocol.md, tests/integration/test_proxy_protocol.py).
PROXY_KEYS = {"proxied_by", "proxy_tlvs"}
URL_KEYS = {"full", "host", "port", "path", "query"}
EMPTY_SHA = sha256_hex(b"")


class EchoContract(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        p = self.port
        self.start_echo(f"http://+:{p}/a/", f"http://+:{p}/a/two/", name="A")
        self.start_echo(f"http://+:{p}/b/", name="B")

    def test_every_key_for_a_raw_request(self):
        p = self.port
        c = self.conn(p)
        raw_url = "/a/x%41y/%7e/%20sp?q=1&r=%20&s=%2F&t=%41"
        request = (f"GET {raw_url} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{p}\r\n"
                   "X-Dup: one\r\n"
                   "User-Agent: integration\r\n"
                   "x-dup: two\r\n"
                   "X-Empty:\r\n"
                   "X-Spaces:   padded value  \r\n"
                   "X-Dup: three\r\n"
                   "\r\n")
        c.send(request)
        r = c.read_response()
        self.assertEqual((r.version, r.status, r.reason), ("HTTP/1.1", 200, "OK"))
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        self.assertIsNotNone(r.header("Date"), "the service adds Date")
        self.assertTrue(r.header("Server", "").startswith("httpapi/"), "the service adds Server")
        j = r.json()
        self.assertEqual(set(j) - OPTIONAL_KEYS, KEYS | TLS_KEYS | PROXY_KEYS)
        self.assertIsNone(j["proxied_by"], "no PROXY header, no balancer")
        self.assertIsNone(j["proxy_tlvs"])
        self.assertIs(j["secure"], False, "plain http is not secure")
        self.assertIsNone(j["tls"], "no TLS information over plain http")
        self.assertEqual(j.get("trailers", []), [], "no trailers without a chunked body")
        self.assertEqual(set(j["url"]), URL_KEYS)
        self.assertEqual(j["app"], "A")
        self.assertEqual(j["method"], "GET")
        self.assertEqual(j["raw_url"], raw_url, "raw_url is exactly as sent")
        self.assertEqual(j["url"]["path"], "/a/xAy/~/ sp", "url.path is cooked (decoded)")
        self.assertEqual(j["url"]["query"], "q=1&r=%20&s=%2F&t=%41", "query is raw, without '?'")
        self.assertEqual(j["url"]["host"], "127.0.0.1")
        self.assertEqual(j["url"]["port"], p)
        self.assertTrue(j["url"]["full"].startswith(f"http://127.0.0.1:{p}/a/xAy/~/"),
                        j["url"]["full"])
        self.assertTrue(j["url"]["full"].endswith("?q=1&r=%20&s=%2F&t=%41"), j["url"]["full"])
        self.assertEqual(j["version"], "HTTP/1.1")
        self.assertEqual(j["headers"], [["Host", f"127.0.0.1:{p}"], ["X-Dup", "one"],
                                        ["User-Agent", "integration"], ["x-dup", "two"],
                                        ["X-Empty", ""], ["X-Spaces", "padded value"],
                                        ["X-Dup", "three"]],
                         "headers in arrival order, duplicates kept, names as sent")
        self.assertEqual(j["body_length"], 0)
        self.assertEqual(j["body_sha256"], EMPTY_SHA)
        self.assertEqual(j["remote"], f"127.0.0.1:{c.local_port}")
        self.assertEqual(j["local"], f"127.0.0.1:{p}")
        self.assertEqual(j["url_context"], 1)
        self.assertIsInstance(j["request_id"], int)
        self.assertIsInstance(j["connection_id"], int)

    def test_url_context_is_position(self):
        self.assertEqual(http(self.port, path="/a/two/x").json()["url_context"], 2)
        self.assertEqual(http(self.port, path="/a/one").json()["url_context"], 1)
        self.assertEqual(http(self.port, path="/b/").json()["url_context"], 1)

    def test_host_is_lowercased_and_absolute_form(self):
        p = self.port
        j = http(p, path="/b/x?y", host=f"Some.Example.COM:{p}").json()
        self.assertEqual(j["url"]["host"], "some.example.com")
        self.assertEqual(j["url"]["full"], f"http://some.example.com:{p}/b/x?y")
        self.assertEqual(j["headers"][0], ["Host", f"Some.Example.COM:{p}"])
        # absolute-form target: raw_url as sent, cooked URL from it
        target = f"http://Absolute.Example:{p}/b/abs%2Dpath?k=v"
        c = self.conn(p)
        r = c.request("GET", target, host=f"ignored.example:{p}")
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual(j["raw_url"], target)
        self.assertEqual(j["url"]["host"], "absolute.example")
        self.assertEqual(j["url"]["path"], "/b/abs-path")
        self.assertEqual(j["url"]["query"], "k=v")

    def test_http10_request(self):
        c = self.conn(self.port)
        c.send(b"GET /a/old HTTP/1.0\r\nX-Old: yes\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j["version"], "HTTP/1.0")
        self.assertEqual(j["headers"], [["X-Old", "yes"]])
        self.assertEqual(j["url"]["host"], "127.0.0.1", "no Host: the local address")
        self.assertEqual(j["url"]["port"], self.port)
        self.assertTrue(c.wait_closed(), "HTTP/1.0 without keep-alive is closed after the answer")

    def test_plain_http_is_never_secure(self):
        # HTTP/1.0, a body, an absolute-form target naming https: still plain http.
        c = self.conn(self.port)
        c.send(b"GET /a/old HTTP/1.0\r\n\r\n")
        answers = [c.read_response().json()]
        answers.append(http(self.port, "POST", "/b/up", body=b"x" * 1000).json())
        answers.append(self.conn(self.port).request(
            "GET", f"https://example:{self.port}/b/abs", host="example").json())
        for j in answers:
            with self.subTest(raw_url=j["raw_url"]):
                self.assertIs(j["secure"], False)
                self.assertIsNone(j["tls"])
                self.assertTrue(j["url"]["full"].startswith("http://"), j["url"]["full"])

    def test_post_body_length_and_sha(self):
        body = bytes(range(256)) * 41 + b"tail"
        r = http(self.port, "POST", "/b/upload", body=body,
                 headers=[("Content-Type", "application/octet-stream")])
        j = r.json()
        self.assertEqual(j["method"], "POST")
        self.assertEqual(j["body_length"], len(body))
        self.assertEqual(j["body_sha256"], sha256_hex(body))
        self.assertIn(["Content-Length", str(len(body))], j["headers"])

    def test_other_methods_as_sent(self):
        for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "X-CUSTOM"):
            with self.subTest(method=method):
                r = http(self.port, method, "/a/m", body=b"x" if method in ("PUT", "PATCH") else b"")
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.json()["method"], method)

    def test_head_gets_headers_only_with_length_of_json(self):
        c = self.conn(self.port)
        # HEAD then GET pipelined on the same connection: if the HEAD answer carried a body,
        # the GET's status line would not come next.
        c.send(harness.build_request("HEAD", "/a/same", host="h") +
               harness.build_request("GET", "/a/same", host="h"))
        head = c.read_response(head_request=True)
        get = c.read_response()
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("Content-Type"), "application/json")
        self.assertEqual(get.status, 200)
        jg = get.json()
        self.assertEqual(jg["method"], "GET")
        # The HEAD answer's JSON differs from the GET's only in "HEAD" vs "GET" and in the
        # request_id (the previous one on this service).
        expected = len(get.body) + 1 - len(str(jg["request_id"])) + len(str(jg["request_id"] - 1))
        self.assertEqual(int(head.header("Content-Length")), expected)
        # curl -I too
        res = curl("-I", f"http://127.0.0.1:{self.port}/b/head")
        self.assertEqual(res.returncode, 0, res.stderr)
        blocks = harness.parse_curl_head(res.stdout)
        self.assertEqual(blocks[-1][0], 200)
        self.assertGreater(int(dict(blocks[-1][1])["Content-Length"]), 100)

    def test_any_header_bytes_make_valid_json(self):
        # UTF-8 as it is, bytes that are not UTF-8 as U+FFFD, quotes, backslashes and tabs
        # escaped: the answer is JSON whatever the client sent.
        c = self.conn(self.port)
        c.send(b"GET /a/bytes HTTP/1.1\r\nHost: h\r\n"
               b"X-Text: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\r\n"
               b"X-Bad: a\xffb\xc3(c\xed\xa0\x80d\r\n"
               b"X-Escapes: \"q\" \\ tab\there\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body)
        headers = dict(r.json()["headers"])
        self.assertEqual(headers["X-Text"], "caf\u00e9 \u20ac \U0001f600")
        self.assertEqual(headers["X-Bad"], "a\ufffdb\ufffd(c\ufffd\ufffd\ufffdd")
        self.assertEqual(headers["X-Escapes"], '"q" \\ tab\there')

    def test_request_ids_unique_connection_id_per_connection(self):
        request_ids = []
        connection_ids = []
        for _ in range(4):
            c = self.conn(self.port)
            seen = set()
            for i in range(5):
                j = c.request("GET", f"/{'ab'[i % 2]}/{i}").json()
                request_ids.append(j["request_id"])
                seen.add(j["connection_id"])
            self.assertEqual(len(seen), 1, "one keep-alive connection, one connection_id")
            connection_ids.append(seen.pop())
            c.close()
        self.assertEqual(len(set(request_ids)), len(request_ids), "request_id is unique")
        self.assertEqual(len(set(connection_ids)), 4, "connections have distinct ids")


class StreamedEchoTest(ServiceTestCase):
    """httpapi-echo --stream N: the answer in N calls without Content-Length, so the service
    chunks it for HTTP/1.1 and delimits it by closing for HTTP/1.0; "served" counts."""

    def test_streamed_answer_is_chunked_and_counts(self):
        port = free_port()
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{port}/", "--stream", "4"],
                       "stream")
        c = self.conn(port)
        c.send(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.header("Content-Length"))
        self.assertGreaterEqual(len(r.chunks), 4)
        self.assertEqual(r.json()["served"], 1)
        c.send(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")  # same connection, still in sync
        self.assertEqual(c.read_response().json()["served"], 2)
        old = self.conn(port)
        old.send(b"GET /three HTTP/1.0\r\n\r\n")
        r = old.read_response()
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.json()["raw_url"], "/three")
        self.assertTrue(old.wait_closed(5))


class CpuBoundEchoTest(ServiceTestCase):
    """httpapi-echo --cpu-us N computes for N µs of CPU time before each answer (the CPU-bound
    handler of bench/workers.sh)."""

    def test_each_answer_costs_the_cpu_time_asked_for(self):
        port = free_port()
        echo = self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{port}/",
                               "--cpu-us", "100000"], "cpu")

        def cpu_seconds():
            with open(f"/proc/{echo.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu_seconds()
        for i in range(5):
            self.assertEqual(http(port, path=f"/{i}").json()["raw_url"], f"/{i}")
        used = cpu_seconds() - before
        # 5 x 100 ms of computing; the rest of the work per request is well under 10 ms.
        self.assertGreaterEqual(used, 0.48)
        self.assertLess(used, 1.0)


if __name__ == "__main__":
    harness.main()
