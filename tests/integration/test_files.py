#!/usr/bin/env python3
"""The static file server example, httpapi-files (examples/files.c, docs/files.md): byte-exact
contents, the path rules (no way out of the root, no hidden names, directories), validators
and conditional requests, ranges done by the library, HEAD, 405, and the response cache kept
right by inotify (or by a time to live, or off).

The root is a temporary directory holding files of 0 B, 13 B, 64 KiB and 3 MiB (random
bytes, compared by SHA-256), a subdirectory with an index.html, hidden names, a FIFO,
symbolic links inside and out, and beside the root a secret file no URL may reach."""

import email.utils
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, curl, free_port  # noqa: E402

SECRET = b"the secret outside the root\n"
HELLO = b"Hello, World!"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class FilesTestCase(ServiceTestCase):
    """A root, httpapi-files serving it at http://+:PORT/files/, and a keep-alive connection."""

    APP_ARGS = ()
    HOST = "+"

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.root = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(self.root, "sub"))
        os.makedirs(os.path.join(self.root, "nodir"))
        os.makedirs(os.path.join(self.root, ".git"))
        os.makedirs(os.path.join(self.root, "with space"))
        self.files = {
            "empty.txt": b"",
            "hello.txt": HELLO,
            "data64k.bin": os.urandom(64 * 1024),
            "big.bin": os.urandom(3 * 1024 * 1024 + 17),
            "style.css": b"body { color: red }\n",
            "index.html": b"<h1>root</h1>\n",
            "sub/index.html": b"<h1>sub</h1>\n",
            "sub/page.html": b"<p>page</p>\n",
            "with space/a b.txt": b"spaced\n",
            ".hidden": b"hidden\n",
            ".git/config": b"[core]\n",
            "sub/.env": b"PASSWORD=x\n",
        }
        for name, data in self.files.items():
            write(os.path.join(self.root, name), data)
        write(os.path.join(self.tmp, "secret.txt"), SECRET)
        os.symlink("../secret.txt", os.path.join(self.root, "link_out"))
        os.symlink(os.path.join(self.tmp, "secret.txt"), os.path.join(self.root, "link_abs"))
        os.symlink("..", os.path.join(self.root, "sub", "up"))
        os.symlink("hello.txt", os.path.join(self.root, "link_in"))
        os.mkfifo(os.path.join(self.root, "fifo"))
        self.prefix = f"http://{self.HOST}:{self.port}/files/"
        self.app = self.start_app([binary("HTTPAPI_FILES"), "--url", self.prefix,
                                   "--root", self.root] + list(self.APP_ARGS), "files")
        self.c = self.conn(self.port)

    def get(self, path, *headers, method="GET"):
        return self.c.request(method, path, headers=list(headers))

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def httpcfg(self, *args):
        argv = [binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def cached(self):
        """{url: hits} of the response cache."""
        state = json.loads(self.httpcfg("show", "cachestate", "--json"))
        return {e["url"]: e["hits"] for e in state["entries"]}

    def wait_body(self, path, body, status=200, timeout=3.0):
        """Polls until GET path answers status with body; returns the seconds it took."""
        start = time.monotonic()

        def matches():
            r = self.get(path)
            return r.status == status and (body is None or r.body == body)
        harness.wait_until(matches, timeout, interval=0.05,
                           what=f"GET {path} -> {status} {body!r:.40}")
        return time.monotonic() - start


class Serving(FilesTestCase):

    def test_contents_are_byte_exact(self):
        for name, data in self.files.items():
            if "/." in "/" + name:
                continue
            quoted = name.replace(" ", "%20")
            out = curl("-f", self.url("/files/" + quoted)).stdout
            self.assertEqual(hashlib.sha256(out).hexdigest(), hashlib.sha256(data).hexdigest(),
                             name)
            r = self.get("/files/" + quoted)
            self.assertEqual((r.status, r.body), (200, data), name)

    def test_parallel_downloads_of_the_big_file(self):
        expected = hashlib.sha256(self.files["big.bin"]).hexdigest()
        results = []

        def download():
            out = curl("-f", self.url("/files/big.bin")).stdout
            results.append(hashlib.sha256(out).hexdigest())
        threads = [threading.Thread(target=download) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [expected] * 6)

    def test_content_types(self):
        for name, expected in (("hello.txt", "text/plain; charset=utf-8"),
                               ("style.css", "text/css; charset=utf-8"),
                               ("index.html", "text/html; charset=utf-8"),
                               ("data64k.bin", "application/octet-stream")):
            self.assertEqual(self.get("/files/" + name).header("Content-Type"), expected, name)

    def test_directories(self):
        self.assertEqual(self.get("/files/").body, self.files["index.html"])
        self.assertEqual(self.get("/files/sub/").body, self.files["sub/index.html"])
        for path, location in (("/files/sub", "/files/sub/"), ("/files", "/files/"),
                               ("/files/sub?x=1&y", "/files/sub/?x=1&y"),
                               ("/files/with%20space", "/files/with%20space/")):
            r = self.get(path)
            self.assertEqual((r.status, r.header("Location")), (301, location), path)
        self.assertEqual(self.get("/files/nodir/").status, 404)  # no index.html, no listing
        self.assertEqual(self.get("/files/hello.txt/").status, 404)
        self.assertEqual(self.get("/files/missing.txt").status, 404)

    def test_hidden_names_and_special_files(self):
        for path in ("/files/.hidden", "/files/.git/config", "/files/.git/", "/files/sub/.env",
                     "/files/%2Ehidden", "/files/sub/%2eenv"):
            r = self.get(path)
            self.assertEqual(r.status, 404, path)
        start = time.monotonic()
        self.assertEqual(self.get("/files/fifo").status, 404)  # and does not hang in open()
        self.assertLess(time.monotonic() - start, 2)

    def test_escapes_never_return_the_secret(self):
        targets = [
            "/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E/secret.txt",
            "/files/..%2fsecret.txt", "/files/..%2Fsecret.txt", "/files/%2F..%2Fsecret.txt",
            "/files/%2F../secret.txt", "/files/.%2e/secret.txt", "/files/sub/../../secret.txt",
            "/files/sub/..%2f..%2fsecret.txt", "/files/..\\secret.txt",
            "/files/%5c..%5csecret.txt", "/files\\..\\secret.txt", "/files/link_out",
            "/files/link_abs", "/files/sub/up/link_out", "/files/sub/up/../secret.txt",
            "/files/%252e%252e/secret.txt", "/files/%252e%252e%252fsecret.txt",
            "/files//" + os.path.join(self.tmp, "secret.txt").lstrip("/"),
            "/files/" + os.path.join(self.tmp, "secret.txt").replace("/", "%2F"),
            "/files/%00../secret.txt", "/files/..%00/secret.txt", "/files/%c0%ae%c0%ae/secret.txt",
            f"http://127.0.0.1:{self.port}/files/../secret.txt",
        ]
        seen = {}
        for target in targets:
            c = harness.Conn(self.port)
            try:
                r = c.request("GET", target)
            finally:
                c.close()
            seen[target] = r.status
            self.assertNotIn(SECRET.strip(), r.body, target)
            self.assertIn(r.status, (400, 404), target)
        # The symlink inside the root works; it is the way out that fails.
        self.assertEqual(self.get("/files/link_in").body, HELLO)
        self.assertEqual(self.get("/files/sub/up/hello.txt").body, HELLO)
        sys.stderr.write("\n  escape attempts -> status: " + json.dumps(seen, indent=1) + "\n")

    def test_methods(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            r = self.c.request(method, "/files/hello.txt", body=b"x" if method != "OPTIONS" else b"")
            self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"), method)

    def test_head(self):
        r = self.get("/files/data64k.bin", method="HEAD")
        self.assertEqual((r.status, r.header("Content-Length"), r.body), (200, "65536", b""))
        self.assertEqual(r.header("Accept-Ranges"), "bytes")
        self.assertIsNotNone(r.header("ETag"))
        # Nothing stray follows on the connection: the next answer parses.
        self.assertEqual(self.get("/files/hello.txt").body, HELLO)


class Conditional(FilesTestCase):

    def setUp(self):
        super().setUp()
        path = os.path.join(self.root, "hello.txt")
        os.utime(path, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9 + 250_000_000))
        self.mtime = 1_700_000_000
        first = self.get("/files/hello.txt")  # also what a browser fetched (and maybe cached)
        self.etag = first.header("ETag")
        self.last_modified = first.header("Last-Modified")

    def assert_status(self, expected, *headers, method="GET"):
        r = self.get("/files/hello.txt", *headers, method=method)
        self.assertEqual(r.status, expected, headers)
        if expected == 304:
            self.assertEqual(r.body, b"")
            self.assertEqual(r.header("ETag"), self.etag)
            self.assertEqual(r.header("Last-Modified"), self.last_modified)
        elif expected == 200 and method == "GET":
            self.assertEqual(r.body, HELLO)
        return r

    def test_validators(self):
        st = os.stat(os.path.join(self.root, "hello.txt"))
        self.assertEqual(self.last_modified, email.utils.formatdate(self.mtime, usegmt=True))
        self.assertEqual(self.etag, f'"{st.st_ino:x}-d-{st.st_mtime_ns:x}"')

    def test_if_none_match(self):
        self.assert_status(304, ("If-None-Match", self.etag))
        self.assert_status(304, ("If-None-Match", "W/" + self.etag))  # weak comparison
        self.assert_status(304, ("If-None-Match", f'"other", {self.etag}'))
        self.assert_status(304, ("If-None-Match", "*"))
        self.assert_status(304, ("If-None-Match", self.etag), method="HEAD")
        self.assert_status(200, ("If-None-Match", '"other"'))
        self.assert_status(200, ("If-None-Match", self.etag[:-2] + '"'))
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        self.assert_status(200, ("If-None-Match", '"other"'),
                           ("If-Modified-Since", self.last_modified))

    def test_if_modified_since(self):
        self.assert_status(304, ("If-Modified-Since", self.last_modified))
        self.assert_status(304, ("If-Modified-Since", "Sun, 06 Nov 2050 08:49:37 GMT"))
        self.assert_status(304, ("If-Modified-Since", "Wednesday, 15-Nov-23 22:13:20 GMT"))
        self.assert_status(304, ("If-Modified-Since", "Wed Nov 15 22:13:20 2023"))
        self.assert_status(200, ("If-Modified-Since", email.utils.formatdate(self.mtime - 1,
                                                                             usegmt=True)))
        self.assert_status(200, ("If-Modified-Since", "not a date"))

    def test_if_match_and_if_unmodified_since(self):
        self.assert_status(412, ("If-Match", '"other"'))
        self.assert_status(412, ("If-Match", "W/" + self.etag))  # strong comparison
        self.assert_status(200, ("If-Match", self.etag))
        self.assert_status(200, ("If-Match", "*"))
        self.assert_status(412, ("If-Unmodified-Since",
                                 email.utils.formatdate(self.mtime - 1, usegmt=True)))
        self.assert_status(200, ("If-Unmodified-Since", self.last_modified))
        # If-Match wins over If-Unmodified-Since.
        self.assert_status(200, ("If-Match", self.etag),
                           ("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"))
        self.assert_status(412, ("If-Match", '"other"'), ("If-None-Match", self.etag))

    def test_a_changed_file_has_new_validators(self):
        with open(os.path.join(self.root, "hello.txt"), "ab") as f:
            f.write(b"!")
        r = self.get("/files/hello.txt", ("If-None-Match", self.etag))
        # The stale validator gives the new file at once: a request with a precondition is
        # never answered from the response cache, which may not have been flushed yet.
        self.assertEqual((r.status, r.body), (200, HELLO + b"!"))
        self.assertNotEqual(r.header("ETag"), self.etag)


class Ranges(FilesTestCase):

    def setUp(self):
        super().setUp()
        self.data = self.files["data64k.bin"]
        self.etag = self.get("/files/data64k.bin").header("ETag")

    def test_single_range(self):
        r = self.get("/files/data64k.bin", ("Range", "bytes=100-199"))
        self.assertEqual((r.status, r.body), (206, self.data[100:200]))
        self.assertEqual(r.header("Content-Range"), "bytes 100-199/65536")
        r = self.get("/files/data64k.bin", ("Range", "bytes=-10"))
        self.assertEqual((r.status, r.body), (206, self.data[-10:]))
        out = curl("-f", "-r", "65000-", self.url("/files/data64k.bin")).stdout
        self.assertEqual(out, self.data[65000:])
        big = self.files["big.bin"]
        out = curl("-f", "-r", "1000000-2000000", self.url("/files/big.bin")).stdout
        self.assertEqual(out, big[1000000:2000001])

    def test_multiple_ranges(self):
        r = self.get("/files/data64k.bin", ("Range", "bytes=0-9,1000-1009"))
        self.assertEqual(r.status, 206)
        m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.header("Content-Type"))
        self.assertIsNotNone(m, r.header("Content-Type"))
        parts = r.body.split(b"--" + m.group(1).encode())
        self.assertEqual(len(parts), 4, r.body[:300])
        for part, (first, last) in zip(parts[1:3], ((0, 9), (1000, 1009))):
            head, _, data = part.partition(b"\r\n\r\n")
            self.assertIn(b"Content-Type: application/octet-stream", head)
            self.assertIn(b"Content-Range: bytes %d-%d/65536" % (first, last), head)
            self.assertEqual(data, self.data[first:last + 1] + b"\r\n")

    def test_unsatisfiable(self):
        r = self.get("/files/data64k.bin", ("Range", "bytes=65536-"))
        self.assertEqual((r.status, r.header("Content-Range")), (416, "bytes */65536"))
        self.assertEqual(self.get("/files/hello.txt").body, HELLO)  # the connection goes on

    def test_if_range(self):
        r = self.get("/files/data64k.bin", ("Range", "bytes=0-9"), ("If-Range", self.etag))
        self.assertEqual((r.status, r.body), (206, self.data[:10]))
        r = self.get("/files/data64k.bin", ("Range", "bytes=0-9"), ("If-Range", '"old"'))
        self.assertEqual((r.status, r.body), (200, self.data))


class Cache(FilesTestCase):
    """The default: USER_INVALIDATES, kept right by inotify."""

    def test_repeated_gets_are_cache_hits(self):
        for _ in range(3):
            self.assertEqual(self.get("/files/hello.txt").body, HELLO)
        self.assertEqual(self.get("/files/sub/").body, self.files["sub/index.html"])
        self.assertEqual(self.get("/files/sub/").body, self.files["sub/index.html"])
        cached = self.cached()
        self.assertEqual(cached.get(self.url("/files/hello.txt")), 2, cached)
        self.assertEqual(cached.get(self.url("/files/sub/")), 1, cached)
        # A hit carries the validators and ranges still work (they reach the application).
        r = self.get("/files/hello.txt")
        self.assertIsNotNone(r.header("ETag"))
        self.assertEqual(self.get("/files/hello.txt", ("Range", "bytes=0-4")).body, b"Hello")

    def test_what_is_not_cached(self):
        self.get("/files/big.bin")
        self.get("/files/big.bin")  # over the 256 KiB entry limit
        self.get("/files/link_in")  # through a symlink: a change of its target is not seen
        self.get("/files/link_in")
        self.get("/files/missing")
        self.get("/files/missing")
        self.get("/files/hello.txt", method="HEAD")
        self.assertEqual(self.cached(), {})

    def test_a_modified_file_is_served_new_within_a_second(self):
        path = os.path.join(self.root, "hello.txt")
        self.get("/files/hello.txt")
        self.get("/files/hello.txt")
        self.assertIn(self.url("/files/hello.txt"), self.cached())
        write(path, b"changed in place")
        took = self.wait_body("/files/hello.txt", b"changed in place")
        self.assertLess(took, 1.0)
        sys.stderr.write(f"\n  a change was served after {took * 1000:.1f} ms\n")
        self.get("/files/hello.txt")
        # Replaced by rename, the way editors and deploy tools write.
        write(path + ".tmp", b"replaced by rename")
        os.rename(path + ".tmp", path)
        self.assertLess(self.wait_body("/files/hello.txt", b"replaced by rename"), 1.0)
        os.unlink(path)
        self.assertLess(self.wait_body("/files/hello.txt", None, status=404), 1.0)

    def test_changes_in_subdirectories_and_of_directories(self):
        self.assertEqual(self.get("/files/sub/page.html").body, self.files["sub/page.html"])
        self.assertEqual(self.get("/files/sub/").body, self.files["sub/index.html"])
        self.assertIn(self.url("/files/sub/page.html"), self.cached())
        write(os.path.join(self.root, "sub", "page.html"), b"new page")
        self.wait_body("/files/sub/page.html", b"new page")
        self.get("/files/sub/page.html")
        # The directory renamed: what was under it is gone.
        os.rename(os.path.join(self.root, "sub"), os.path.join(self.root, "sub2"))
        self.wait_body("/files/sub/page.html", None, status=404)
        self.wait_body("/files/sub/", None, status=404)
        self.assertEqual(self.get("/files/sub2/page.html").body, b"new page")
        # A directory made again under the old name gets new watches.
        os.makedirs(os.path.join(self.root, "sub"))
        write(os.path.join(self.root, "sub", "page.html"), b"v1")
        self.wait_body("/files/sub/page.html", b"v1")
        self.get("/files/sub/page.html")
        write(os.path.join(self.root, "sub", "page.html"), b"v2")
        self.wait_body("/files/sub/page.html", b"v2")

    def test_a_name_the_flush_api_cannot_spell(self):
        path = "/files/with%20space/a%20b.txt"
        self.assertEqual(self.get(path).body, b"spaced\n")
        self.get(path)
        write(os.path.join(self.root, "with space", "a b.txt"), b"respaced\n")
        self.wait_body(path, b"respaced\n")


class IpAddressPrefix(FilesTestCase):
    """A prefix with an IP address also routes requests naming the host otherwise; their
    answers are cached under that name, and the prefix's flushes reach them by the address
    they arrived on."""
    HOST = "127.0.0.1"

    def test_answers_under_another_host_name_are_flushed_too(self):
        other = f"localhost:{self.port}"
        for _ in range(2):
            self.assertEqual(self.c.request("GET", "/files/hello.txt", host=other).body, HELLO)
        self.assertIn(f"http://{other}/files/hello.txt", self.cached())
        write(os.path.join(self.root, "hello.txt"), b"changed")
        harness.wait_until(
            lambda: self.c.request("GET", "/files/hello.txt", host=other).body == b"changed",
            timeout=3, what="the new file under Host: localhost")


class TimeToLive(FilesTestCase):
    APP_ARGS = ("--cache-ttl", "60")

    def test_answers_are_kept_for_the_time_to_live(self):
        self.get("/files/hello.txt")
        self.assertIn(self.url("/files/hello.txt"), self.cached())
        write(os.path.join(self.root, "hello.txt"), b"changed")
        time.sleep(0.5)
        self.assertEqual(self.get("/files/hello.txt").body, HELLO)  # the documented trade-off
        self.assertEqual(self.get("/files/hello.txt", method="HEAD").header("Content-Length"),
                         "7")  # HEAD is never cached


class NoCache(FilesTestCase):
    APP_ARGS = ("--no-cache",)

    def test_nothing_is_cached(self):
        self.get("/files/hello.txt")
        self.get("/files/hello.txt")
        self.assertEqual(self.cached(), {})
        write(os.path.join(self.root, "hello.txt"), b"changed")
        self.assertEqual(self.get("/files/hello.txt").body, b"changed")


if __name__ == "__main__":
    harness.main()
