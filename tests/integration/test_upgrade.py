"""httpcfg upgrade (issue 15 item 4): the running httpapid is replaced by a new process of
the same (or another) binary under a load of keep-alive and new connections, with no
refused connection and no failed request; the applications move to the new process without
restarting; a binary that fails to start, a second upgrade at once and a non-root caller are
refused while the old process keeps serving.

The new httpapid is a child of the old one's spawner (src/daemon/control/spawner.hpp), not of
this test: the test makes itself a child subreaper, so the new process is reparented here when
the old one (and with it its spawner) exits, and its exit status can be read.
test_upgrade_unit.py upgrades a service started as the systemd unit starts it (--user httpapi
--seccomp) with the helpers of `Upgrading` below."""

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import ServiceTestCase, binary, free_port, http, wait_until

PR_SET_CHILD_SUBREAPER = 36
LOAD_THREADS = 3          # of each kind: keep-alive clients and new-connection clients
REQUEST_TIMEOUT = 15.0    # a request without an answer by then is failed


class Load:
    """Clients that count, separately, refused connections (connect() failed) and failed
    requests (written, then no complete 200 answer: an error status, EOF, reset or timeout).
    A keep-alive client reopens its connection after a Connection: close answer; a
    new-connection client opens one connection per request."""

    def __init__(self, port, path):
        self.port = port
        self.path = path
        self.lock = threading.Lock()
        self.ok = 0
        self.refused = 0
        self.failed = 0
        self.failures = []
        self.stopping = threading.Event()
        self.threads = []

    def count(self, what, detail=None):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)
            if detail and len(self.failures) < 20:
                self.failures.append(detail)

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(REQUEST_TIMEOUT)
        try:
            s.connect(("127.0.0.1", self.port))
            return s
        except OSError as e:
            s.close()
            self.count("refused", f"connect: {e}")
            return None

    def exchange(self, s, n, close):
        """One request on `s`; returns (answered, server_closes)."""
        header = "Connection: close\r\n" if close else ""
        try:
            s.sendall(f"GET {self.path}{n} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\n"
                      .encode())
        except OSError:
            # The request never left: the server had closed an idle connection first. A
            # real client retries such a request on a new connection; counted as failed all
            # the same, since the upgrade must not close idle connections under a client.
            self.count("failed", f"send {n}: server closed the connection")
            return False, True
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("EOF before the head")
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                      for l in lines[1:] if ":" in l}
            length = int(fields.get("content-length", "0"))
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("EOF inside the body")
                body += chunk
        except (OSError, ValueError, IndexError) as e:
            self.count("failed", f"request {n}: {e!r}")
            return False, True
        if status != 200:
            self.count("failed", f"request {n}: status {status}")
        else:
            self.count("ok")
        return status == 200, fields.get("connection", "").lower() == "close"

    def keep_alive_client(self, index):
        n = 0
        s = None
        while not self.stopping.is_set():
            if s is None:
                s = self.connect()
                if s is None:
                    time.sleep(0.05)
                    continue
            n += 1
            _, closes = self.exchange(s, f"ka{index}-{n}", close=False)
            if closes:
                s.close()
                s = None
        if s is not None:
            s.close()

    def new_connection_client(self, index):
        n = 0
        while not self.stopping.is_set():
            s = self.connect()
            if s is None:
                time.sleep(0.05)
                continue
            n += 1
            self.exchange(s, f"nc{index}-{n}", close=True)
            s.close()

    def start(self):
        for i in range(LOAD_THREADS):
            self.threads.append(threading.Thread(target=self.keep_alive_client, args=(i,)))
            self.threads.append(threading.Thread(target=self.new_connection_client, args=(i,)))
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 5)

    def total(self):
        with self.lock:
            return self.ok + self.failed


def wait_reaped(pid, timeout):
    """The exit status of `pid`, a process reparented here (this test is a subreaper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(raw)
        time.sleep(0.05)
    raise AssertionError(f"httpapid {pid} still running after {timeout} s")


class Upgrading:
    """Mixed into a ServiceTestCase: upgrades and their outcome. The processes that took over
    are stopped at the end and must exit 0."""

    def setUp(self):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        super().setUp()
        self.port = free_port()
        self.new_pids = []
        self.addCleanup(self.stop_new_services)

    def stop_new_services(self):
        """The processes that took over: SIGTERM, and they must exit 0 (reaped here)."""
        problems = []
        for pid in self.new_pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + self.SHUTDOWN_TIMEOUT + 15
            status = None
            while time.monotonic() < deadline:
                try:
                    done, raw = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if done == pid:
                    status = os.waitstatus_to_exitcode(raw)
                    break
                time.sleep(0.05)
            if status is None:
                os.kill(pid, signal.SIGKILL)
                problems.append(f"the new httpapid {pid} did not stop after SIGTERM")
            elif status != 0:
                problems.append(f"the new httpapid {pid} exited with {status}")
        if problems:
            self.fail("; ".join(problems))

    def refuse_missing_and_failing_binaries(self, between=lambda: None):
        """`httpcfg upgrade` to a binary that does not exist and to one that exits 7 at once:
        both refused with the reason (exit 1); `between` runs after the first. The caller
        checks that the old one still serves."""
        r = self.httpcfg("upgrade", "--binary", os.path.join(self.tmp, "no-such-httpapid"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot start", r.stderr)
        self.assertIn("No such file", r.stderr)
        between()
        failing = os.path.join(self.tmp, "failing-httpapid")
        with open(failing, "w") as f:
            f.write("#!/bin/sh\necho 'failing-httpapid: refusing to start' >&2\nexit 7\n")
        os.chmod(failing, 0o755)
        r = self.httpcfg("upgrade", "--binary", failing)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exited with status 7 before taking over", r.stderr)

    def httpcfg(self, *args, timeout=60):
        return subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                              capture_output=True, text=True, timeout=timeout)

    def state(self):
        r = self.httpcfg("show", "servicestate", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def upgrade(self, *args):
        """httpcfg upgrade; returns (old PID, new PID) after checking the old one exited 0."""
        old = self.state()["upgrade"]["pid"]
        r = self.httpcfg("upgrade", *args)
        self.assertEqual(r.returncode, 0, f"httpcfg upgrade failed: {r.stderr}")
        self.assertIn("httpapid upgraded", r.stdout)
        new = wait_until(lambda: self.state()["upgrade"]["pid"] != old and
                         self.state()["upgrade"]["pid"], 10, what="the new process answering")
        self.new_pids.append(new)
        if self.service and self.service.pid == old:
            status = self.service.wait(30)
        else:
            status = wait_reaped(old, 30)
            self.new_pids.remove(old)
        self.assertEqual(status, 0, f"the old httpapid {old} did not exit 0")
        return old, new

    def served_by(self, path, app):
        def ok():
            try:
                r = http(self.port, path=path, timeout=5)
                return r.status == 200 and r.json()["app"] == app
            except OSError:
                return False
        wait_until(ok, 15, interval=0.1, what=f"{path} answered by {app}")


class UpgradeTest(Upgrading, ServiceTestCase):
    IO_THREADS = 2

    def upgrade_under_load(self, *args, label):
        app = self.start_echo(f"http://+:{self.port}/u/", name="U")
        self.start_app([binary("HTTPAPI_ECHO"), "--controller", "--persistent", "--queue",
                        "pool", "--url", f"http://+:{self.port}/pool/"], "controller")
        self.start_app([binary("HTTPAPI_ECHO"), "--open", "--queue", "pool", "--name", "W"],
                       "worker")
        self.served_by("/u/warm", "U")
        self.served_by("/pool/warm", "W")
        before = self.state()
        load = Load(self.port, "/u/")
        load.start()
        try:
            time.sleep(1.0)
            during_start = load.total()
            old, new = self.upgrade(*args)
            self.served_by("/u/after", "U")  # the application came back by itself
            time.sleep(1.0)
            during = load.total() - during_start
        finally:
            load.stop()
        print(f"\n[{label}] requests during the upgrade: {during}, total {load.total()}, "
              f"refused connections: {load.refused}, failed requests: {load.failed}",
              flush=True)
        self.assertEqual(load.refused, 0, load.failures)
        self.assertEqual(load.failed, 0, load.failures)
        self.assertGreater(during, 50, "too little load during the upgrade to mean anything")
        self.assertTrue(app.alive(), "the application had to be restarted")
        self.served_by("/pool/after", "W")
        after = self.state()
        self.assertEqual(after["upgrade"]["pid"], new)
        self.assertNotEqual(new, old)
        # Registrations and queues as before: the same processes, URLs and named queues.
        def urls(state):
            return sorted((s["pid"], u["url"]) for s in state["sessions"]
                          for g in s["groups"] for u in g["urls"])
        wait_until(lambda: urls(self.state()) == urls(before), 10,
                   what="every registration made again")
        self.assertEqual(sorted(q["name"] for q in self.state()["queues"] if not q["held"]),
                         sorted(q["name"] for q in before["queues"]))
        self.assertEqual(sorted(e["port"] for e in after["endpoints"]),
                         sorted(e["port"] for e in before["endpoints"]))
        return old, new

    def test_upgrade_to_the_same_binary_under_load(self):
        self.upgrade_under_load(label="same binary")
        # and again, from the process an upgrade started
        self.upgrade()
        self.served_by("/u/twice", "U")

    def test_upgrade_to_a_copy_at_another_path(self):
        copy = os.path.join(self.tmp, "httpapid-new")
        shutil.copy2(binary("HTTPAPID"), copy)
        self.upgrade_under_load("--binary", copy, label="copy")
        exe = os.readlink(f"/proc/{self.new_pids[-1]}/exe")
        self.assertEqual(exe, copy)

    def test_an_idle_keep_alive_connection_moves_to_the_new_process(self):
        self.start_echo(f"http://+:{self.port}/k/", name="K")
        c = self.conn(self.port)
        self.assertEqual(c.request("GET", "/k/1").status, 200)
        old, new = self.upgrade()
        # The same socket, idle during the upgrade: the new process serves it now.
        r = c.request("GET", "/k/2", timeout=15)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "K")
        self.assertIsNone(r.header("Connection"))
        local = c.local_endpoint
        self.assertIn(local, [x["remote"] for x in self.state()["connections"]])

    def test_a_request_waits_in_the_new_process_for_its_application(self):
        # The application is busy in the old process for 1.5 s, so it reconnects only then;
        # a request reaching the new process meanwhile waits for it instead of 404 or 503.
        self.start_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{self.port}/s/",
                        "--name", "S", "--delay-ms", "1500"], "slow")
        first = []
        t = threading.Thread(target=lambda: first.append(
            http(self.port, path="/s/in-old", timeout=15)))
        t.start()
        time.sleep(0.3)
        r = self.httpcfg("upgrade")
        self.assertEqual(r.returncode, 0, r.stderr)
        second = http(self.port, path="/s/in-new", timeout=15)
        t.join(15)
        self.assertEqual(first[0].status, 200)
        self.assertEqual(first[0].json()["raw_url"], "/s/in-old")
        self.assertEqual(second.status, 200)
        self.assertEqual(second.json()["raw_url"], "/s/in-new")
        self.assertEqual(self.service.wait(30), 0)
        new = self.state()["upgrade"]["pid"]
        self.new_pids.append(new)
        self.assertIn("upgrade: took over the control socket", self.service.stderr())

    def test_a_binary_that_fails_to_start_leaves_the_old_one_serving(self):
        self.start_echo(f"http://+:{self.port}/f/", name="F")
        pid = self.state()["upgrade"]["pid"]
        self.refuse_missing_and_failing_binaries(
            between=lambda: self.assertFalse(self.state()["upgrade"]["in_progress"]))
        self.assertEqual(self.state()["upgrade"]["pid"], pid)
        self.served_by("/f/still", "F")
        self.assertTrue(self.service.alive())
        self.assertFalse(self.state()["upgrade"]["in_progress"])
        # and a good upgrade still works after the failed ones
        self.upgrade()
        self.served_by("/f/after", "F")

    def test_second_upgrade_at_once_is_refused(self):
        self.start_echo(f"http://+:{self.port}/c/", name="C")
        slow = os.path.join(self.tmp, "slow-httpapid")
        with open(slow, "w") as f:  # starts the real binary two seconds late
            f.write(f"#!/bin/sh\nsleep 2\nexec {binary('HTTPAPID')} \"$@\"\n")
        os.chmod(slow, 0o755)
        first = subprocess.Popen([binary("HTTPCFG"), "--state-dir", self.state_dir, "upgrade",
                                  "--binary", slow], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        wait_until(lambda: self.state()["upgrade"]["in_progress"], 5,
                   what="the first upgrade in progress")
        second = self.httpcfg("upgrade")
        self.assertEqual(second.returncode, 1)
        self.assertIn("an upgrade is already in progress", second.stderr)
        out, err = first.communicate(timeout=60)
        self.assertEqual(first.returncode, 0, err)
        new = wait_until(lambda: self.state()["upgrade"]["pid"] != self.service.pid and
                         self.state()["upgrade"]["pid"], 10, what="the new process")
        self.new_pids.append(new)
        self.assertEqual(self.service.wait(30), 0)
        self.served_by("/c/after", "C")

    def test_only_root_may_upgrade(self):
        os.chmod(self.tmp, 0o755)  # so that nobody reaches the control socket
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            binary("HTTPCFG"), "--state-dir", self.state_dir, "upgrade"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("only root may upgrade", r.stderr)
        self.assertFalse(self.state()["upgrade"]["in_progress"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
