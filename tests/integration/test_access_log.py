"""Access logs (issue 14 item 4, docs/access-logs.md): one line per request however it was
answered (the application, the response cache, 503 from a full queue, the service's own 404
and 400), in W3C extended, NCSA common and JSON lines; per URL group (httpapi-echo
--access-log) and server-wide (httpcfg set setting --key access_log_format); rollover by
size; GoAccess reads our NCSA and W3C files; and a log directory that is removed, made
read-only or full costs counted lines, never a request."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import ServiceTestCase, binary, curl, free_port, http, wait_until
from tls_support import Certs

UA = "Mozilla/5.0 (X11; test) \"quoted\""


class AccessLogCase(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.access_dir = os.path.join(self.state_dir, "logs", "access")

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def logging_state(self):
        return json.loads(self.httpcfg("show", "servicestate", "--json"))["logging"]

    def echo(self, name, *extra, url=None):
        argv = [binary("HTTPAPI_ECHO"), "--url", url or f"http://+:{self.port}/{name}/",
                "--name", name] + list(extra)
        return self.start_app(argv, name)

    def lines(self, name):
        try:
            with open(os.path.join(self.access_dir, f"{name}.log"), encoding="utf-8") as f:
                return [l for l in f.read().splitlines() if l and not l.startswith("#")]
        except FileNotFoundError:
            return []

    def wait_lines(self, name, count):
        """The log's lines once it has `count` of them (the writer runs every 100 ms)."""
        wait_until(lambda: len(self.lines(name)) >= count, 10,
                   what=f"{count} lines in {name}.log (has {self.lines(name)})")
        time.sleep(0.3)  # and no more than that
        found = self.lines(name)
        self.assertEqual(len(found), count, found)
        return found

    def w3c_rows(self, name, count):
        lines = self.wait_lines(name, count)
        with open(os.path.join(self.access_dir, f"{name}.log"), encoding="utf-8") as f:
            text = f.read()
        fields = re.findall(r"^#Fields: (.*)$", text, re.M)[-1].split(" ")
        return [dict(zip(fields, l.split(" "))) for l in lines]

    def get(self, path, **kw):
        headers = [("User-Agent", UA), ("Referer", "http://ref.test/page")]
        return http(self.port, path=path, headers=headers, **kw)

    def raw_bad_request(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /bad path HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data)

    def every_answer(self, fmt):
        """For group `fmt`: an application answer, a cache hit, a 503 from a full queue (the
        held request then answered); and, server-wide, a 404 and a 400. Returns the group
        log's name."""
        name = f"log-{fmt}"
        queue = f"pool-{fmt}"
        self.httpcfg("set", "setting", "--key", "access_log_format", "--value", fmt)
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--queue", queue,
                        "--queue-length", "1", "--url", f"http://+:{self.port}/{fmt}/",
                        "--name", name, "--access-log", fmt], "controller")
        worker_argv = [binary("HTTPAPI_ECHO"), "--open", "--queue", queue, "--cache-ttl", "60"]
        worker = self.start_app(worker_argv, "worker")
        self.assertEqual(self.get(f"/{fmt}/page?x=1").status, 200)  # app; not cacheable (query)
        self.assertEqual(self.get(f"/{fmt}/cached").status, 200)    # app, stored
        self.assertEqual(self.get(f"/{fmt}/cached").status, 200)    # cache hit
        worker.stop()
        held = []
        t = threading.Thread(target=lambda: held.append(self.get(f"/{fmt}/held", timeout=15)))
        t.start()
        time.sleep(0.5)  # /held waits in the queue, which holds 1
        self.assertEqual(self.get(f"/{fmt}/full").status, 503)
        self.start_app(worker_argv, "worker2")
        t.join(15)
        self.assertEqual(held[0].status, 200)
        self.assertEqual(self.get("/nobody/here").status, 404)
        self.raw_bad_request()
        return name


class Formats(AccessLogCase):

    def test_w3c(self):
        name = self.every_answer("w3c")
        rows = self.w3c_rows(name, 5)
        by_uri = {r["cs-uri-stem"]: r for r in rows}
        self.assertEqual(set(by_uri), {"/w3c/page", "/w3c/cached", "/w3c/full", "/w3c/held"})
        self.assertEqual(list(rows[0]), [
            "date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port",
            "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus",
            "sc-win32-status", "time-taken"])
        page = by_uri["/w3c/page"]
        self.assertEqual(page["cs-uri-query"], "x=1")
        self.assertEqual(page["cs(User-Agent)"], 'Mozilla/5.0+(X11;+test)+"quoted"')
        self.assertEqual(page["cs(Referer)"], "http://ref.test/page")
        self.assertEqual(page["s-port"], str(self.port))
        self.assertEqual(page["c-ip"], "127.0.0.1")
        self.assertEqual(by_uri["/w3c/full"]["sc-status"], "503")
        self.assertEqual([r["sc-status"] for r in rows if r["cs-uri-stem"] == "/w3c/cached"],
                         ["200", "200"])
        for r in rows:
            self.assertEqual(r["sc-win32-status"], "0")
            self.assertRegex(r["date"], r"^\d{4}-\d\d-\d\d$")
        server = self.w3c_rows("httpapid", 2)
        self.assertEqual(sorted((r["sc-status"], r["cs-uri-stem"]) for r in server),
                         [("400", "/bad+path"), ("404", "/nobody/here")])
        self.assertEqual(self.goaccess(name, "W3C"), 5)

    def test_ncsa(self):
        name = self.every_answer("ncsa")
        lines = self.wait_lines(name, 5)
        pattern = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                             r'"GET (\S+) HTTP/1\.1" (\d{3}) (\d+)$')
        seen = sorted((m.group(1), m.group(2)) for m in map(pattern.match, lines))
        self.assertEqual(seen, [("/ncsa/cached", "200"), ("/ncsa/cached", "200"),
                                ("/ncsa/full", "503"), ("/ncsa/held", "200"),
                                ("/ncsa/page?x=1", "200")])
        server = self.wait_lines("httpapid", 2)
        self.assertTrue(any('"GET /nobody/here HTTP/1.1" 404' in l for l in server), server)
        self.assertTrue(any('"GET /bad path HTTP/1.1" 400' in l for l in server), server)
        self.assertEqual(self.goaccess(name, "COMMON"), 5)

    def test_json(self):
        name = self.every_answer("json")
        rows = [json.loads(l) for l in self.wait_lines(name, 5)]
        for r in rows:
            for key in ("time", "client", "method", "uri", "query", "host", "protocol", "status",
                        "substatus", "bytes_in", "bytes_out", "time_taken_ms", "queue", "cache",
                        "user_agent", "referer"):
                self.assertIn(key, r)
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(r["protocol"], "HTTP/1.1")
            self.assertEqual(r["user_agent"], UA)
            self.assertEqual(r["host"], f"127.0.0.1:{self.port}")
            self.assertGreater(r["bytes_in"], 0)
            self.assertGreater(r["bytes_out"], 0)
            self.assertEqual(r["queue"], "pool-json")
        by = {(r["uri"], r["cache"], r["status"]) for r in rows}
        self.assertEqual(by, {("/json/page", "none", 200), ("/json/cached", "miss", 200),
                              ("/json/cached", "hit", 200), ("/json/full", "miss", 503),
                              ("/json/held", "miss", 200)})
        full = next(r for r in rows if r["uri"] == "/json/full")
        self.assertEqual(full["reason"], "QueueFull")
        self.assertEqual(next(r for r in rows if r["uri"] == "/json/page")["query"], "x=1")
        server = {(r["status"], r["reason"]) for r in map(json.loads, self.wait_lines("httpapid", 2))}
        self.assertEqual(server, {(404, "NotFound"), (400, "BadRequest")})
        self.assertEqual(self.logging_state()["access_log_lines_dropped"], 0)

    def goaccess(self, name, log_format):
        """GoAccess's count of the requests in the log (it parses every line or fails)."""
        r = subprocess.run(["goaccess", os.path.join(self.access_dir, f"{name}.log"),
                            f"--log-format={log_format}", "--no-global-config", "-o", "json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        general = json.loads(r.stdout)["general"]
        self.assertEqual(general["failed_requests"], 0, general)
        return general["valid_requests"]


class Protocols(AccessLogCase):

    def test_http2_and_tls_versions(self):
        certs = Certs(os.path.join(self.tmp, "certs"))
        cert, key = certs.self_signed("server", "localhost", ["localhost"])
        tls_port = free_port()
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{tls_port}", "--cert", cert,
                     "--key", key)
        self.echo("plain", "--access-log", "json")
        self.echo("secure", "--access-log", "json", url=f"https://+:{tls_port}/secure/")
        r = curl("--http2-prior-knowledge", f"http://127.0.0.1:{self.port}/plain/h2c")
        self.assertEqual(r.returncode, 0, r.stderr)
        common = ["--resolve", f"localhost:{tls_port}:127.0.0.1", "--cacert", cert]
        for flag in ("--http2", "--http1.1"):
            r = curl(flag, *common, f"https://localhost:{tls_port}/secure/x")
            self.assertEqual(r.returncode, 0, r.stderr)
        plain = json.loads(self.wait_lines("plain", 1)[0])
        self.assertEqual((plain["protocol"], plain["tls"], plain["status"]), ("HTTP/2", None, 200))
        secure = [json.loads(l) for l in self.wait_lines("secure", 2)]
        self.assertEqual(sorted(r["protocol"] for r in secure), ["HTTP/1.1", "HTTP/2"])
        for r in secure:
            self.assertRegex(r["tls"], r"^TLSv1\.[23]$")
            self.assertGreater(r["bytes_out"], 0)


class ApplicationFields(AccessLogCase):
    """httpapi_request_set_log_data: the sub-status and user name only the application
    knows reach every format, over HTTP/1.1 and HTTP/2; a later call replaces an earlier one,
    a username with a space is refused, and a call after the response ended is too."""

    def serve_log_data(self, fmt):
        self.httpcfg("set", "setting", "--key", "access_log_format", "--value", fmt)
        app = self.start_app([binary("HTTPAPI_RESPONSE_FEATURES"), f"http://+:{self.port}/r/"],
                             "features")
        r = self.get("/r/logdata")
        self.assertEqual((r.status, r.body), (200, b"HTTPAPI_ERROR_INVALID_PARAMETER HTTPAPI_OK"))
        h2 = curl("--http2-prior-knowledge", f"http://127.0.0.1:{self.port}/r/logdata")
        self.assertEqual((h2.returncode, h2.stdout), (0, b"HTTPAPI_ERROR_INVALID_PARAMETER HTTPAPI_OK"), h2.stderr)
        self.assertEqual(self.get("/r/nothing-set").status, 404)
        wait_until(lambda: app.stderr().count("log data after the end: HTTPAPI_ERROR_INVALID_STATE") == 2,
                   10, what="the late calls refused")

    def test_w3c(self):
        self.serve_log_data("w3c")
        rows = self.w3c_rows("httpapid", 3)
        self.assertEqual([(r["cs-username"], r["sc-substatus"]) for r in rows],
                         [("alice@example", "7")] * 2 + [("-", "0")])

    def test_ncsa(self):
        self.serve_log_data("ncsa")
        users = [l.split(" ")[2] for l in self.wait_lines("httpapid", 3)]
        self.assertEqual(users, ["alice@example", "alice@example", "-"])

    def test_json(self):
        self.serve_log_data("json")
        rows = [json.loads(l) for l in self.wait_lines("httpapid", 3)]
        self.assertEqual([(r["protocol"], r["username"], r["substatus"]) for r in rows],
                         [("HTTP/1.1", "alice@example", 7), ("HTTP/2", "alice@example", 7),
                          ("HTTP/1.1", None, 0)])


class Rollover(AccessLogCase):

    def test_size_rollover_keeps_every_line(self):
        self.echo("big", "--access-log", "json", "--access-log-rollover", "size",
                  "--access-log-size", "65536")
        self.check_size_rollover("big", "/big/")

    def test_server_wide_log_rolls_over_as_its_settings_say(self):
        for key, value in (("access_log_format", "json"), ("access_log_rollover", "size"),
                           ("access_log_rollover_bytes", "65536")):
            self.httpcfg("set", "setting", "--key", key, "--value", value)
        self.echo("plain")  # logs nothing itself: its requests go to the server-wide log
        self.check_size_rollover("httpapid", "/plain/")
        settings = self.httpcfg("show", "settings")
        self.assertRegex(settings, r"access_log_rollover\s+: size\n")
        # A value it does not know changes nothing and says what it takes.
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                            "--key", "access_log_rollover", "--value", "weekly"],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("access_log_rollover is daily, hourly or size, not 'weekly'", r.stderr)
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "set", "setting",
                            "--key", "access_log_rollover_bytes", "--value", "1000"],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("access_log_rollover_bytes must be between 65536 and", r.stderr)

    def check_size_rollover(self, name, path):
        """150 lines of about 1.4 KB each, logged as `name`, go to files of at most 64 KiB
        (`name`.log and `name`-<time>.log), none lost."""
        conn = self.conn(self.port)
        count = 150
        for i in range(count):  # about 1.4 KB a line: 45 lines a file
            r = conn.request("GET", f"{path}{i}", headers=[("User-Agent", "u" * 1000)])
            self.assertEqual(r.status, 200)

        def all_files():  # none until the writer's first batch makes the directory
            if not os.path.isdir(self.access_dir):
                return []
            return sorted(f for f in os.listdir(self.access_dir) if f.startswith(name))
        def total():
            count = 0
            for f in all_files():
                with open(os.path.join(self.access_dir, f)) as text:
                    count += len(text.read().splitlines())
            return count
        wait_until(lambda: total() >= count, 10, what="every line written")
        files = all_files()
        self.assertGreaterEqual(len(files), 3, files)
        self.assertIn(f"{name}.log", files)
        for f in files:
            self.assertLessEqual(os.path.getsize(os.path.join(self.access_dir, f)), 65536, f)
            self.assertRegex(f, rf"^{name}(-\d{{8}}-\d{{6}}(-\d+)?)?\.log$")
        self.assertEqual(total(), count)


class Reopen(AccessLogCase):

    def test_sighup_reopens_a_log_moved_away(self):
        """What logrotate does: rename the file, SIGHUP; new lines go to a new file."""
        self.echo("app", "--access-log", "ncsa")
        self.assertEqual(self.get("/app/before").status, 200)
        self.wait_lines("app", 1)
        path = os.path.join(self.access_dir, "app.log")
        os.rename(path, path + ".1")
        self.assertEqual(self.get("/app/moved").status, 200)
        wait_until(lambda: any("/app/moved" in l for l in open(path + ".1")), 10,
                   what="the line written to the moved file before the SIGHUP")
        self.service.send_signal(signal.SIGHUP)
        wait_until(lambda: self.service_log_has("SIGHUP"), 10, what="the SIGHUP handled")
        self.assertEqual(self.get("/app/after").status, 200)
        self.assertIn("/app/after", self.wait_lines("app", 1)[0])
        with open(path + ".1", encoding="utf-8") as f:
            self.assertNotIn("/app/after", f.read())

    def service_log_has(self, text):
        return text in self.service.stderr()


class BadDirectories(AccessLogCase):
    """The log directory goes away, turns read-only or fills up: requests are all answered,
    the lines that could not be written are counted, and writing resumes after."""

    def start_logging(self):
        self.echo("app", "--access-log", "w3c")
        self.assertEqual(self.get("/app/first").status, 200)
        self.wait_lines("app", 1)

    def mount(self, *options):
        """A small tmpfs over the log directory (unmounted at the end)."""
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        os.makedirs(self.access_dir, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs",
                        self.access_dir], check=True, timeout=20)
        self.addCleanup(subprocess.run, ["umount", "-l", self.access_dir], timeout=20)

    def test_removed_directory_is_made_again(self):
        self.start_logging()
        shutil.rmtree(self.access_dir)
        for i in range(5):
            self.assertEqual(self.get(f"/app/after/{i}").status, 200)
        wait_until(lambda: len(self.lines("app")) + self.logging_state()["access_log_lines_lost"]
                   >= 5, 10, what="lines written again or counted")
        time.sleep(1.2)  # a failed open is retried after a second
        self.assertEqual(self.get("/app/later").status, 200)
        wait_until(lambda: any("/app/later" in l for l in self.lines("app")), 10,
                   what="the directory made again")
        state = self.logging_state()
        self.assertEqual(len(self.lines("app")) + state["access_log_lines_lost"], 6)

    def test_read_only_directory_loses_counted_lines(self):
        self.start_logging()
        # logrotate-like: the file goes, and the directory is read-only when the writer
        # opens it again (for root, who writes through any mode, a read-only mount).
        os.unlink(os.path.join(self.access_dir, "app.log"))
        if os.geteuid() == 0:
            self.mount("ro", "size=64k")
        else:
            os.chmod(self.access_dir, 0o555)
            self.addCleanup(os.chmod, self.access_dir, 0o755)
        for i in range(10):
            self.assertEqual(self.get(f"/app/ro/{i}").status, 200)
        wait_until(lambda: self.logging_state()["access_log_lines_lost"] == 10, 10,
                   what="10 lines counted lost")
        self.assertTrue(self.service.alive())
        self.assertRegex(self.httpcfg("show", "servicestate"),
                         r"Access log lines: 1 written, 0 dropped \(writer behind\), 10 lost")

    def test_full_disk_loses_counted_lines_and_no_request(self):
        self.mount("size=64k")
        self.start_logging()
        answered = 0
        headers = [("User-Agent", "f" * 4000)]
        for i in range(60):  # 240 KB of lines into 64 KB
            answered += http(self.port, path=f"/app/full/{i}", headers=headers).status == 200
        self.assertEqual(answered, 60)
        wait_until(lambda: self.logging_state()["access_log_lines_lost"] > 0, 10,
                   what="lines counted lost on the full disk")
        time.sleep(0.5)
        state = self.logging_state()
        self.assertEqual(state["access_log_lines_written"] + state["access_log_lines_lost"], 61)
        self.assertGreaterEqual(len(self.lines("app")), state["access_log_lines_written"])
        self.assertTrue(self.service.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
