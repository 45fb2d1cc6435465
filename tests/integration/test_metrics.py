"""Prometheus metrics (issue 14 item 5, docs/metrics.md): the metrics URL set with httpcfg
and served by httpapid itself; the counters move as real requests go through (an
application's answers, a cache hit, a 404, a 503 from a full queue, HTTP/2, a header-wait
timer); `promtool check metrics` accepts a real scrape; a real Prometheus server scrapes the
service and gives one counter back through its HTTP API; and a client that asks for the
metrics and never reads costs the others nothing."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

from harness import ServiceTestCase, binary, curl, free_port, http, wait_until

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_exposition(text):
    """{(name, ((label, value), ...)): float} from the text format; labels sorted."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a sample line: {line!r}")
        labels = []
        if m.group(3):
            pos = 0
            while pos < len(m.group(3)):
                lm = LABEL.match(m.group(3), pos)
                if not lm:
                    raise AssertionError(f"bad labels in {line!r}")
                value = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1),
                               lm.group(2))
                labels.append((lm.group(1), value))
                pos = lm.end()
        out[(m.group(1), tuple(sorted(labels)))] = float(m.group(4))
    return out


class Scrape:
    """One scrape's values: s["httpapi_requests_total", queue="x", code="2xx"] (0 if absent)."""

    def __init__(self, text):
        self.text = text
        self.values = parse_exposition(text)

    def get(self, name, **labels):
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name, **labels):
        """The sum over every series of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, l), v in self.values.items() if n == name and want <= set(l))


class MetricsCase(ServiceTestCase):
    IO_THREADS = 2  # the counters of both threads are summed

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.mport = free_port()
        while self.mport == self.port:
            self.mport = free_port()
        self.httpcfg("set", "setting", "--key", "metrics_url",
                     "--value", f"http://127.0.0.1:{self.mport}/metrics")

    def httpcfg(self, *args):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def scrape(self):
        r = http(self.mport, path="/metrics")
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return Scrape(r.body.decode("utf-8"))

    def wait_metric(self, name, wanted, what=None, **labels):
        """Scrapes until `name{labels}` satisfies `wanted(value)` (sampled gauges lag up to a
        second); returns the scrape."""
        found = []

        def check():
            s = self.scrape()
            found[:] = [s.get(name, **labels)]
            return s if wanted(found[0]) else None
        try:
            return wait_until(check, 10, interval=0.2, what=what or f"{name}{labels}")
        except AssertionError as e:
            raise AssertionError(f"{e}; last value {found}") from None


class Counters(MetricsCase):

    def test_requests_move_the_counters(self):
        queue = "pool"
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--queue", queue,
                        "--queue-length", "1", "--url", f"http://+:{self.port}/m/",
                        "--name", "m"], "controller")
        worker_argv = [binary("HTTPAPI_ECHO"), "--open", "--queue", queue, "--cache-ttl", "60"]
        worker = self.start_app(worker_argv, "worker")
        before = self.scrape()

        self.assertEqual(http(self.port, path="/m/page?x=1").status, 200)  # app
        self.assertEqual(http(self.port, path="/m/cached").status, 200)    # app, stored
        self.assertEqual(http(self.port, path="/m/cached").status, 200)    # cache hit
        r = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                 f"http://127.0.0.1:{self.port}/m/h2?y=2")
        self.assertEqual(r.stdout, b"200 2", r.stderr)
        self.assertEqual(http(self.port, path="/nobody/here").status, 404)

        # A full queue: /held waits in it (length 1), /full gets the service's 503.
        worker.stop()
        held = []
        t = threading.Thread(target=lambda: held.append(http(self.port, path="/m/held",
                                                              timeout=20)))
        t.start()
        self.wait_metric("httpapi_queue_length", lambda v: v == 1, queue=queue)
        self.assertEqual(http(self.port, path="/m/full").status, 503)
        self.start_app(worker_argv, "worker2")
        t.join(20)
        self.assertEqual(held[0].status, 200)
        self.wait_metric("httpapi_queue_length", lambda v: v == 0, queue=queue)
        after = self.wait_metric("httpapi_queue_workers", lambda v: v == 1, queue=queue)

        def delta(name, **labels):
            return after.get(name, **labels) - before.get(name, **labels)

        # page, cached, cached (hit), held; h2; full; the 404 before any queue.
        self.assertEqual(delta("httpapi_requests_total", queue=queue, code="2xx",
                               protocol="HTTP/1.1"), 4)
        self.assertEqual(delta("httpapi_requests_total", queue=queue, code="2xx",
                               protocol="HTTP/2"), 1)
        self.assertEqual(delta("httpapi_requests_total", queue=queue, code="5xx",
                               protocol="HTTP/1.1"), 1)
        self.assertEqual(delta("httpapi_requests_total", queue="", code="4xx",
                               protocol="HTTP/1.1"), 1)
        self.assertEqual(delta("httpapi_service_unavailable_total", reason="QueueFull"), 1)
        self.assertEqual(delta("httpapi_cache_hits_total"), 1)
        self.assertGreaterEqual(delta("httpapi_cache_misses_total"), 1)
        self.assertGreater(delta("httpapi_cache_hit_bytes_total"), 0)
        self.assertGreaterEqual(after.get("httpapi_cache_entries"), 1)  # cached, held
        self.assertGreater(after.get("httpapi_cache_bytes"), 0)
        # Every answered request is one observation; buckets are cumulative up to +Inf.
        count = delta("httpapi_request_duration_seconds_count", queue=queue)
        self.assertEqual(count, 6)
        self.assertEqual(after.get("httpapi_request_duration_seconds_bucket", queue=queue,
                                   le="+Inf"),
                         after.get("httpapi_request_duration_seconds_count", queue=queue))
        self.assertLessEqual(after.get("httpapi_request_duration_seconds_bucket", queue=queue,
                                       le="0.001"),
                             after.get("httpapi_request_duration_seconds_bucket", queue=queue,
                                       le="0.01"))
        self.assertGreater(delta("httpapi_request_duration_seconds_sum", queue=queue), 0)
        self.assertGreater(delta("httpapi_request_bytes_total", queue=queue), 6 * 30)
        self.assertGreater(delta("httpapi_response_bytes_total", queue=queue), 6 * 100)
        # The controller's session and the two queue handles; this test's httpcfg is gone.
        self.assertGreaterEqual(after.get("httpapi_app_channels", role="session"), 1)
        self.assertGreaterEqual(after.get("httpapi_app_channels", role="queue"), 2)
        self.assertGreater(after.get("httpapi_open_fds"), 5)
        self.assertGreater(after.get("httpapi_max_fds"), after.get("httpapi_open_fds"))
        self.assertGreaterEqual(after.get("httpapi_connections_accepted_total"), 8)
        info = [(l, v) for (n, l), v in after.values.items() if n == "httpapi_build_info"]
        self.assertEqual(len(info), 1, info)
        self.assertRegex(dict(info[0][0])["version"], r"^\d+\.\d+")
        self.assertEqual(info[0][1], 1)
        self.assertAlmostEqual(after.get("httpapi_start_time_seconds"), time.time(), delta=120)
        # The fixed label sets are written whole, zeros included.
        self.assertIn(("httpapi_service_unavailable_total", (("reason", "Disabled"),)),
                      after.values)
        self.assertIn(("httpapi_log_lines_dropped_total", (("log", "access"),)), after.values)

    def test_connections_and_timers(self):
        self.httpcfg("set", "setting", "--key", "header_wait_seconds", "--value", "1")
        self.start_echo(f"http://+:{self.port}/c/", name="c")
        idle = self.conn(self.port)
        self.assertEqual(idle.request("GET", "/c/x").status, 200)  # then kept alive, idle
        reading = self.conn(self.port)
        reading.send(b"GET /c/y HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        s = self.wait_metric("httpapi_connections", lambda v: v >= 1, state="idle")
        self.assertGreaterEqual(s.get("httpapi_connections", state="reading"), 1)
        self.wait_metric("httpapi_timer_expiries_total", lambda v: v >= 1,
                         reason="Timer_HeaderWait")
        reading.wait_closed(5)


class Exposition(MetricsCase):

    def test_promtool_accepts_a_scrape(self):
        self.start_echo(f"http://+:{self.port}/p/", name="p", queue="promtool-queue")
        for path in ("/p/a", "/p/b", "/nothing"):
            http(self.port, path=path)
        text = self.scrape().text
        self.assertIn('queue="promtool-queue"', text)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"promtool: {r.stdout}{r.stderr}")
        self.assertEqual((r.stdout + r.stderr).strip(), "", "promtool found problems")

    def test_over_http2_and_head(self):
        r = curl("--http2-prior-knowledge", "-D", "-", f"http://127.0.0.1:{self.mport}/metrics")
        self.assertIn(b"HTTP/2 200", r.stdout, r.stderr)
        self.assertIn(b"httpapi_requests_total", r.stdout)
        head = http(self.mport, method="HEAD", path="/metrics")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")

    def test_a_reader_that_never_reads(self):
        """Clients that ask for the metrics over and over and never read: the others are
        served all along, and the service's memory stays bounded."""
        self.start_echo(f"http://+:{self.port}/r/", name="r")
        service = self.procs[0]
        rss_before = rss_kib(service.pid)
        stuck = []
        request = (f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{self.mport}\r\n\r\n"
                   .encode() * 16)
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.mport), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.append(s)
        deadline = time.monotonic() + 4
        rounds = 0
        while time.monotonic() < deadline:
            for s in stuck:
                try:
                    s.setblocking(False)
                    s.send(request)
                except (BlockingIOError, OSError):
                    pass
            self.assertEqual(http(self.port, path="/r/ok", timeout=5).status, 200)
            self.assertEqual(self.scrape().total("httpapi_build_info"), 1)
            rounds += 1
        self.assertGreater(rounds, 5)
        grown = rss_kib(service.pid) - rss_before
        # Each stuck connection holds at most the output high mark (1 MiB) plus one pipeline
        # of scrapes past it, and 256 KiB of unparsed input: about 28 MiB for 20, which the
        # allocator's per-thread arenas about double. Measured 44-70 MiB after 4 s, and 58
        # MiB after 12 s (four times the scrapes): bounded, not growing with time. Not under
        # AddressSanitizer: its quarantine holds back up to 256 MiB of freed memory and its
        # shadow and redzones add more, so RSS says nothing there (the debug run asserts it;
        # this run still checks that the others are served).
        if not under_asan(service.pid):
            self.assertLess(grown, 96 * 1024, f"httpapid grew by {grown} KiB")
        for s in stuck:
            s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def under_asan(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


class RealPrometheus(MetricsCase):
    """A Prometheus server on loopback, with its own configuration and storage, scraping the
    metrics URL every second; one counter is read back through its HTTP API."""

    def test_prometheus_scrapes_and_answers(self):
        prometheus = shutil.which("prometheus")
        self.assertIsNotNone(prometheus, "prometheus is missing: scripts/install-deps.sh "
                                         "installs Debian's package")
        self.start_echo(f"http://+:{self.port}/q/", name="q", queue="scraped")
        for i in range(7):
            self.assertEqual(http(self.port, path=f"/q/{i}").status, 200)
        expected = self.scrape().get("httpapi_requests_total", queue="scraped", code="2xx",
                                     protocol="HTTP/1.1")
        self.assertEqual(expected, 7)

        home = tempfile.mkdtemp(prefix="prometheus-", dir=self.tmp)
        config = os.path.join(home, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: httpapi\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{self.mport}']\n")
        api_port = free_port()
        with open(os.path.join(home, "stderr"), "w") as stderr:
            proc = subprocess.Popen(
                [prometheus, f"--config.file={config}", f"--storage.tsdb.path={home}/data",
                 f"--web.listen-address=127.0.0.1:{api_port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=stderr, cwd=home)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.addCleanup(stop)

        def query(promql):
            url = (f"http://127.0.0.1:{api_port}/api/v1/query?"
                   + urllib.parse.urlencode({"query": promql}))
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with opener.open(url, timeout=5) as r:
                    return json.load(r)["data"]["result"]
            except OSError:
                if proc.poll() is not None:
                    with open(os.path.join(home, "stderr")) as f:
                        raise AssertionError(f"prometheus exited: {f.read()[-2000:]}")
                return None

        up = wait_until(lambda: [r for r in (query('up{job="httpapi"}') or [])
                                 if r["value"][1] == "1"], 40, interval=0.5,
                        what="Prometheus to scrape httpapid (up == 1)")
        self.assertEqual(up[0]["metric"]["instance"], f"127.0.0.1:{self.mport}")
        result = wait_until(lambda: query('httpapi_requests_total{queue="scraped",code="2xx"}'),
                            20, interval=0.5, what="the counter in Prometheus")
        self.assertEqual(len(result), 1, result)
        self.assertEqual(result[0]["metric"]["protocol"], "HTTP/1.1")
        self.assertEqual(float(result[0]["value"][1]), expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
