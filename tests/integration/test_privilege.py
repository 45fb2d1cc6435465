"""httpapid as a system service (issue 14): least privilege, Debian's file places, systemd.

- Started as root with --user httpapi, the service runs as that user with one capability,
  CAP_NET_BIND_SERVICE, in every thread (read from /proc/PID/task/*/status), no_new_privs,
  its files given to the user, and an application can still register http://+:80/x/
  after the change; reservations and SO_PEERCRED checks are unchanged; a missing user is
  refused; --seccomp serves HTTP, HTTPS and HTTP/2 (and a whole suite is run with it).
- The store moves once from the runtime directory (the old place, on /run) to the store
  directory, with a line saying so.
- SIGHUP: a storm of them costs no request and no keep-alive connection; the settings are
  re-read from the store and the error log is reopened.
- sd_notify over a real datagram socket: READY=1, STATUS=, WATCHDOG=1, RELOADING=1,
  STOPPING=1.
- Journal priorities: "<N>" prefixes when stderr is the stream JOURNAL_STREAM names;
  --log-level filters.
- The unit file's exposure in `systemd-analyze security --offline=true` is at most 2.0.

The privilege tests need root (CI runs as root) and skip otherwise, saying why.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

from harness import (REPO, ServiceTestCase, binary, connect_result, curl, free_port,
                     free_privileged_port, http, sanitizer_build, wait_until)
from tls_support import Certs

SERVICE_USER = "httpapi"
OTHER_USER = "httpapi-test-a"
CAP_NET_BIND_SERVICE = 1 << 10
UNIT = os.path.join(REPO, "dist", "systemd", "httpapid.service")


def ensure_user(name):
    """The account, made as scripts/install-deps.sh makes it when it is missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


def proc_status(pid, task=None):
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)



def owner(path):
    return pwd.getpwuid(os.lstat(path).st_uid).pw_name


class RootOnly(ServiceTestCase):
    START_SERVICE = False
    IO_THREADS = 2

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: httpapid changes user only when started as "
                                    "root (CI runs as root)")
        cls.account = ensure_user(SERVICE_USER)

    def setUp(self):
        super().setUp()
        # The service, once httpapi, must reach its state directory inside the test's.
        os.chmod(self.tmp, 0o755)

    def httpcfg(self, *args, check=True, prefix=()):
        r = subprocess.run(list(prefix) + [binary("HTTPCFG"), "--state-dir",
                                           os.path.dirname(self.control)] + list(args),
                           capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            self.fail(f"httpcfg {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r


class PrivilegeDrop(RootOnly):

    def test_runs_as_the_user_with_one_capability_and_still_binds_port_80(self):
        service = self.start_service("--user", SERVICE_USER)
        tasks = os.listdir(f"/proc/{service.pid}/task")
        self.assertGreaterEqual(len(tasks), 2, "the I/O threads run")
        uid, gid = str(self.account.pw_uid), str(self.account.pw_gid)
        for task in tasks:
            status = proc_status(service.pid, task)
            self.assertEqual(status["Uid"].split(), [uid] * 4, status["Uid"])
            self.assertEqual(status["Gid"].split(), [gid] * 4, status["Gid"])
            self.assertEqual(status["Groups"].strip(), "")
            for field in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(int(status[field], 16), CAP_NET_BIND_SERVICE,
                                 f"task {task} {field} {status[field]}")
            self.assertEqual(int(status["CapInh"], 16), 0)
            self.assertEqual(int(status["CapAmb"], 16), 0)
            self.assertEqual(status["NoNewPrivs"], "1")
        # What it made is the user's: the directory, the store, the socket, the log.
        for name in ("", "config.db", "control.sock", "logs", "logs/httperr1.log"):
            self.assertEqual(owner(os.path.join(self.state_dir, name)), SERVICE_USER, name)
        # Ports open as applications register: a privileged one, after the change.
        port = free_privileged_port([80] + list(range(81, 1024)))
        self.start_echo(f"http://+:{port}/x/", name="eighty")
        r = http(port, path="/x/after-drop")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "eighty")
        sys.stderr.write(f"\n[httpapid uid {uid} CapEff "
                         f"{proc_status(service.pid)['CapEff']} served port {port}] ")

    def test_missing_user_is_refused(self):
        r = subprocess.run([binary("HTTPAPID"), "--state-dir", self.state_dir, "--user",
                            "no-such-user-httpapi"], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("there is no user 'no-such-user-httpapi'", r.stderr)
        self.assertIn("adduser --system", r.stderr)
        self.assertFalse(os.path.exists(self.state_dir), "nothing is made before the check")

    def test_reservations_and_peer_checks_are_unchanged(self):
        ensure_user(OTHER_USER)
        self.start_service("--user", SERVICE_USER)
        port = free_port()
        prefix = f"http://+:{port}/held/"
        self.httpcfg("urlacl", "add", "--url", prefix, "--user", OTHER_USER)
        setpriv = ["setpriv", f"--reuid={OTHER_USER}", f"--regid={OTHER_USER}",
                   "--init-groups", "--"]
        # Not root now, so only a reservation lets the other user in: the peer is checked.
        r = self.run_app(setpriv + [binary("HTTPAPI_ECHO"), "--url",
                                    f"http://+:{port}/other/"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"HTTPAPI_ERROR_ACCESS_DENIED", r.stderr)
        self.start_app(setpriv + [binary("HTTPAPI_ECHO"), "--url", prefix, "--name", "A"],
                       "A")
        self.assertEqual(http(port, path="/held/x").json()["app"], "A")
        # Root is still root to the service (settings are root's), the service is not.
        denied = self.httpcfg("set", "setting", "--key", "queue_length", "--value", "5",
                              prefix=setpriv, check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.httpcfg("set", "setting", "--key", "queue_length", "--value", "5")

    def test_key_material_comes_through_httpcfg(self):
        # A key only root can read: httpcfg (the administrator) reads it, never the service.
        certs = Certs(os.path.join(self.tmp, "certs"))
        cert, key = certs.self_signed("srv", "localhost", sans=("localhost",))
        os.chmod(key, 0o600)
        os.chmod(certs.dir, 0o700)
        self.start_service("--user", SERVICE_USER)
        port = free_port()
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{port}", "--cert", cert,
                     "--key", key)
        self.start_echo(f"https://+:{port}/tls/", name="secure")
        r = curl("-k", f"https://127.0.0.1:{port}/tls/x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'"secure"', r.stdout)

    def test_store_moves_from_the_runtime_directory_once(self):
        runtime = os.path.join(self.tmp, "run")
        store = os.path.join(self.tmp, "lib")
        logs = os.path.join(self.tmp, "log")
        port = free_port()
        prefix = f"http://+:{port}/kept/"
        # An older httpapid: everything in one directory, the runtime one.
        self.state_dir = runtime
        self.start_service()
        ensure_user(OTHER_USER)
        self.httpcfg("urlacl", "add", "--url", prefix, "--user", OTHER_USER)
        self.procs[-1].stop(signal.SIGTERM, 10)
        self.assertTrue(os.path.exists(os.path.join(runtime, "config.db")))
        # The new one: three directories; the store found in the old place is moved.
        args = ("--runtime-dir", runtime, "--store-dir", store, "--log-dir", logs,
                "--user", SERVICE_USER)
        moved = self.start_service(*args, state_dir=False,
                                   control=os.path.join(runtime, "control.sock"))
        self.assertFalse(os.path.exists(os.path.join(runtime, "config.db")))
        self.assertEqual(owner(os.path.join(store, "config.db")), SERVICE_USER)
        self.assertEqual(owner(os.path.join(logs, "httperr1.log")), SERVICE_USER)
        self.assertIn(f"moved the configuration store from {runtime}/config.db to "
                      f"{store}/config.db", moved.stderr())
        self.assertIn(prefix, self.httpcfg("urlacl", "show").stdout)
        moved.stop(signal.SIGTERM, 10)
        self.assertEqual(moved.popen.returncode, 0)
        # Once: the next start finds the store where it is and says nothing.
        again = self.start_service(*args, state_dir=False,
                                   control=os.path.join(runtime, "control.sock"))
        self.assertIn(prefix, self.httpcfg("urlacl", "show").stdout)
        self.assertNotIn("moved the configuration store", again.stderr())


class SeccompFilter(RootOnly):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if sanitizer_build():
            raise unittest.SkipTest("a sanitizer build: LeakSanitizer stops the world "
                                    "with ptrace at exit, which the allow-list refuses")

    def test_serves_http_https_and_http2_under_the_filter(self):
        service = self.start_service("--user", SERVICE_USER, "--seccomp")
        self.assertEqual(proc_status(service.pid)["Seccomp"], "2")
        port, tls_port = free_port(), free_port()
        certs = Certs(os.path.join(self.tmp, "certs"))
        cert, key = certs.self_signed("srv", "localhost", sans=("localhost",))
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{tls_port}", "--cert", cert,
                     "--key", key)
        self.start_echo(f"http://+:{port}/s/", f"https://+:{tls_port}/s/", name="filtered")
        self.assertEqual(http(port, path="/s/plain").status, 200)
        r = curl("-k", "--http2", f"https://127.0.0.1:{tls_port}/s/h2", "-w", "%{http_version}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"2"), r.stdout[-50:])
        r = curl("-d", "x" * 100000, f"http://127.0.0.1:{port}/s/body")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.httpcfg("show", "servicestate")
        service.send_signal(signal.SIGHUP)
        self.assertEqual(http(port, path="/s/after-hup").status, 200)
        self.assertNotIn("seccomp allow-list", service.stderr())

    def test_a_whole_suite_passes_under_the_filter(self):
        # Every service the suite starts runs with --user httpapi --seccomp: HTTP/1.1, h2c
        # and h2 over TLS (nghttp2, OpenSSL), bodies, shutdown. Every other suite passes so
        # too (HTTPAPI_IT_SERVICE_ARGS="--user httpapi --seccomp" ctest -L integration);
        # one is run here to keep this file short.
        env = dict(os.environ, HTTPAPI_IT_SERVICE_ARGS=f"--user {SERVICE_USER} --seccomp")
        for suite in ("test_http2.py",):
            r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "integration",
                                                             suite)],
                               env=env, capture_output=True, text=True, timeout=240)
            self.assertEqual(r.returncode, 0, f"{suite} under --seccomp:\n{r.stderr[-6000:]}")
            self.assertNotIn("seccomp allow-list", r.stderr)
            ran = re.search(r"Ran (\d+) test", r.stderr)
            sys.stderr.write(f"\n[{suite} with --seccomp: {ran.group(0) if ran else '?'}] ")


class Reload(ServiceTestCase):

    def test_sighup_storm_costs_no_request_and_rereads_the_settings(self):
        port = free_port()
        self.start_echo(f"http://+:{port}/r/", name="reload")
        keep = self.conn(port)
        stop = threading.Event()
        sent = [0]

        def storm():
            while not stop.is_set() and sent[0] < 200:
                self.service.send_signal(signal.SIGHUP)
                sent[0] += 1
                time.sleep(0.005)

        hup = threading.Thread(target=storm)
        hup.start()
        failures, served = [], 0
        try:
            while hup.is_alive() or served < 100:
                r = keep.request("GET", f"/r/keep{served}")
                if r.status != 200:
                    failures.append(r.status)
                fresh = http(port, path=f"/r/fresh{served}")
                if fresh.status != 200:
                    failures.append(fresh.status)
                served += 1
        finally:
            stop.set()
            hup.join()
        self.assertEqual(sent[0], 200)
        self.assertEqual(failures, [])
        self.assertTrue(self.service.alive())
        # The setting changed in the store by hand takes effect on the next SIGHUP.
        db = sqlite3.connect(os.path.join(self.state_dir, "config.db"), timeout=10)
        with db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES "
                       "('server_header', 'Reloaded/1.0')")
        db.close()
        self.assertNotEqual(keep.request("GET", "/r/before").header("Server"), "Reloaded/1.0")
        self.service.send_signal(signal.SIGHUP)
        wait_until(lambda: keep.request("GET", "/r/after").header("Server") == "Reloaded/1.0",
                   10, interval=0.1, what="the stored Server header after SIGHUP")
        sys.stderr.write(f"\n[{sent[0]} SIGHUPs, {served * 2} requests, none failed] ")

    def test_sighup_reopens_the_error_log(self):
        log = self.error_log_path
        rotated = log + ".1"
        self.assertEqual(http(self.port_without_app(), path="/nothing",
                              headers=[("Host", "bad host")]).status, 400)
        wait_until(lambda: os.path.getsize(log) > 0, what="a first error log line")
        os.rename(log, rotated)  # as logrotate does
        self.service.send_signal(signal.SIGHUP)
        wait_until(lambda: os.path.exists(log), what="the error log opened again by name")
        port = self.port_without_app()
        c = self.conn(port)
        c.send("GET /x HTTP/1.1\r\nHost: bad host\r\n\r\n")
        self.assertEqual(c.read_response().status, 400)
        self.log_for(c.local_port)

    def port_without_app(self):
        if not hasattr(self, "_port"):
            self._port = free_port()
            self.start_echo(f"http://+:{self._port}/e/", name="logged")
        return self._port


class Notify(ServiceTestCase):
    START_SERVICE = False

    def test_ready_status_watchdog_reloading_stopping(self):
        path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        os.chmod(path, 0o777)
        messages = []

        def expect(wanted, timeout=10):
            """The first message (of those unread) with the line or matching the pattern."""
            deadline = time.monotonic() + timeout
            while True:
                while messages:
                    m = messages.pop(0)
                    if (wanted in m.split("\n") if isinstance(wanted, str)
                            else wanted.search(m)):
                        return m
                remaining = deadline - time.monotonic()
                self.assertGreater(remaining, 0, f"no {wanted} within {timeout} s")
                sock.settimeout(remaining)
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass

        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
        service = self.start_service(env=env)
        ready = expect("READY=1")
        self.assertRegex(ready, r"STATUS=\d+ client connections, \d+ application sessions")
        expect("WATCHDOG=1")
        expect("WATCHDOG=1", timeout=5)  # again, from the service loop's timer
        port = free_port()
        self.start_echo(f"http://+:{port}/n/", name="notified")
        self.assertEqual(http(port, path="/n/").status, 200)
        status = expect(re.compile(r"STATUS=.*1 application sessions, 1 request queues, "
                                   r"[1-9]\d* requests"))
        service.send_signal(signal.SIGHUP)
        self.assertIn("MONOTONIC_USEC=", expect("RELOADING=1"))
        expect("READY=1")
        service.send_signal(signal.SIGTERM)
        expect("STOPPING=1")
        self.assertEqual(service.wait(15), 0)
        sys.stderr.write(f"\n[notify: {ready!r}, then {status!r}] ")


class Journal(ServiceTestCase):
    START_SERVICE = False

    def start_with_journal(self, *extra):
        # The harness opens TMP/httpapid.stderr with "wb": the same inode as made here.
        stderr = os.path.join(self.tmp, "httpapid.stderr")
        open(stderr, "wb").close()
        st = os.stat(stderr)
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        return self.start_service(*extra, env=env)

    def test_lines_carry_priorities_when_stderr_is_the_journal(self):
        service = self.start_with_journal()
        port = free_port()
        self.start_echo(f"http://+:{port}/j/", name="journal")
        service.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in service.stderr(), what="the reload line")
        lines = service.stderr().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[3-7]>httpapid", line)
        self.assertTrue(any(l.startswith("<5>httpapid ") and "listening for applications"
                            in l for l in lines), lines)
        self.assertTrue(any(l.startswith("<6>httpapid: listening on port") for l in lines),
                        lines)

    def test_log_level_filters_and_no_prefix_elsewhere(self):
        service = self.start_service("--log-level", "notice")
        port = free_port()
        self.start_echo(f"http://+:{port}/j/", name="quiet")
        service.send_signal(signal.SIGHUP)
        self.assertEqual(http(port, path="/j/").status, 200)
        text = service.stderr()
        self.assertIn("httpapid ", text)  # the notice: listening for applications
        self.assertNotIn("listening on port", text)  # info
        self.assertNotIn("SIGHUP", text)  # info
        self.assertFalse(text.startswith("<"), "JOURNAL_STREAM unset: no prefixes")

    def test_log_level_setting_changes_it_while_running(self):
        service = self.start_service()  # --log-level info, the default
        httpcfg = [binary("HTTPCFG"), "--state-dir", self.state_dir]

        def setting(key, value):
            r = subprocess.run(httpcfg + ["set", "setting", "--key", key, "--value", value],
                               capture_output=True, text=True, timeout=20)
            return r

        self.assertEqual(setting("log_level", "warning").returncode, 0)
        # "uid 0 changed setting KEY" is an info line: gone at warning, back at debug.
        self.assertEqual(setting("server_header", "quiet").returncode, 0)
        self.assertEqual(setting("log_level", "debug").returncode, 0)
        self.assertEqual(setting("server_header", "loud").returncode, 0)
        wait_until(lambda: "changed setting server_header" in service.stderr(),
                   what="the info line at debug")
        text = service.stderr()
        self.assertEqual(text.count("changed setting server_header"), 1, text)
        r = setting("log_level", "loud")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("log_level is error, warning, notice, info or debug, not 'loud'", r.stderr)
        show = subprocess.run(httpcfg + ["show", "settings"], capture_output=True, text=True,
                              timeout=20)
        self.assertRegex(show.stdout, r"log_level\s+: debug\n")

    def test_unknown_log_level_is_refused(self):
        r = subprocess.run([binary("HTTPAPID"), "--state-dir", self.state_dir, "--log-level",
                            "loud"], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--log-level", r.stderr)


class UnitFile(unittest.TestCase):

    def test_exposure_is_at_most_2(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.fail("systemd-analyze is missing: scripts/install-deps.sh installs systemd")
        r = subprocess.run([analyze, "security", "--offline=true", UNIT],
                           capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        m = re.search(r"Overall exposure level for httpapid\.service: ([0-9.]+) (\w+)", out)
        self.assertTrue(m, out[-3000:])
        exposure = float(m.group(1))
        sys.stderr.write(f"\n[systemd-analyze security: exposure {exposure} {m.group(2)}] ")
        self.assertLessEqual(exposure, 2.0, out)
        with open(UNIT) as f:
            unit = f.read()
        for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=",
                     "RuntimeDirectory=httpapi", "StateDirectory=httpapi",
                     "LogsDirectory=httpapi", "--user httpapi"):
            self.assertIn(line, unit)


if __name__ == "__main__":
    unittest.main(verbosity=2)
