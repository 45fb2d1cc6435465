"""Shared helpers for the httpapi integration tests (stdlib only).

Every test case starts a REAL httpapid in a fresh temporary state directory, starts real
applications (httpapi-echo, httpapi-hello, httpapi-counter, the misbehaving test app) that
find it through HTTPAPI_CONTROL, and drives them over 127.0.0.1 with raw sockets and curl.

Binaries come from the environment (set by tests/integration/CMakeLists.txt):
  HTTPAPID, HTTPAPI_ECHO, HTTPAPI_HELLO, HTTPAPI_COUNTER, HTTPAPI_HALF_RESPONSE, HTTPCFG
When one is missing, the build-it/ tree beside this checkout is tried, so a test file can
also be run by hand: python3 tests/integration/test_routing.py -v

Rules the harness keeps:
- every wait has a deadline, so nothing hangs;
- only processes this harness started are signalled, always by PID;
- at the end of every test (a cleanup, so also after a failed setUp) the applications and
  then the service are stopped with SIGTERM; the service must exit 0, must not have died
  during the test, and no process may have reported a sanitizer error on stderr;
- when a test fails, the service's stderr, the error log and every app's stderr are
  printed, so ctest --output-on-failure shows what happened; the temporary directory is
  removed unless HTTPAPI_IT_KEEP=1.
"""

import atexit
import contextlib
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

_DEFAULTS = {
    "HTTPAPID": "src/daemon/httpapid",
    "HTTPAPI_ECHO": "examples/httpapi-echo",
    "HTTPAPI_HELLO": "examples/httpapi-hello",
    "HTTPAPI_COUNTER": "examples/httpapi-counter",
    "HTTPAPI_HALF_RESPONSE": "tests/integration/httpapi-it-half-response",
    "HTTPCFG": "tools/httpcfg/httpcfg",
    "HTTPAPI_POLL_APP": "tests/integration/httpapi-it-poll-app",
    "HTTPAPI_BIG_RESPONSE": "tests/integration/httpapi-it-big-response",
    "HTTPAPI_LOAD_CLIENT": "tests/integration/httpapi-load-client",
}


def binary(var):
    """Path of a binary: from the environment, else from ../../build-it."""
    path = os.environ.get(var)
    if not path:
        if var not in _DEFAULTS:
            raise AssertionError(f"{var} is not set: it names a binary this test needs "
                                 "(tests/integration/CMakeLists.txt passes it to ctest)")
        path = os.path.join(REPO, "build-it", _DEFAULTS[var])
    if not os.access(path, os.X_OK):
        # A failure, not a skip: a wrong path must never make the suite pass vacuously.
        raise AssertionError(f"{var}: {path} is not an executable; build first "
                             f"(cmake --build build-it) or set {var}")
    return path


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer")

DEFAULT_TIMEOUT = 10.0


def free_port():
    """A TCP port free on every address right now, from outside the kernel's ephemeral range.
    A port from that range (bind port 0) may be the local port of another test's outgoing
    connection a moment later, and httpapid then cannot bind it (SHARING_VIOLATION)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
    first, last = (10000, low - 1) if low > 11000 else (high + 1, 65535)
    for _ in range(1000):
        port = random.randint(first, last)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise AssertionError(f"no free port in {first}-{last}")


def sanitizer_build():
    """Whether httpapid is built with AddressSanitizer. Its LeakSanitizer stops the world with
    ptrace at exit, which the --seccomp allow-list refuses: such a process never exits."""
    with open(binary("HTTPAPID"), "rb") as f:
        return b"__asan_init" in f.read()


def free_privileged_port(candidates):
    """The first of `candidates` (ports below 1024) free on every address. Suites that run
    at the same time search different ranges, so they rarely race for one port."""
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below 1024")


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, interval=0.02, what="condition"):
    """Polls predicate() until it returns a true value; returns it, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def connect_result(port, host="127.0.0.1", timeout=2.0):
    """0 when a TCP connect to host:port succeeds, else the errno (ECONNREFUSED, ...)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        return s.connect_ex((host, port))
    finally:
        s.close()


def sha256_hex(data):
    import hashlib
    return hashlib.sha256(data).hexdigest()


# ---- HTTP over a raw socket ---------------------------------------------------------------

class Response:
    """One parsed HTTP response."""

    def __init__(self, version, status, reason, headers, body, raw_head, chunks=None,
                 complete=True):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value), ...] in order, as received
        self.body = body                # bytes (de-chunked)
        self.raw_head = raw_head        # bytes of the status line and headers
        self.chunks = chunks            # list of chunk payloads when chunked, else None
        self.complete = complete        # False when the connection ended inside the body

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"response body is not JSON ({e}): {self.body[:500]!r}")

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} {len(self.body)} body bytes>"


class ConnectionClosed(Exception):
    pass


class Conn:
    """A client connection over a raw socket, with a read buffer and deadlines."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    @property
    def local_endpoint(self):
        name = self.sock.getsockname()
        if self.sock.family == socket.AF_INET6:
            return f"[{name[0]}]:{name[1]}"
        return f"{name[0]}:{name[1]}"

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline):
        if self.eof:
            raise ConnectionClosed("connection closed by the server")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise ConnectionClosed("connection closed by the server")
        self.buf += data

    def read_until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_close(self, deadline):
        try:
            while True:
                self._fill(deadline)
        except ConnectionClosed:
            pass
        out, self.buf = self.buf, b""
        return out

    def read_head(self, timeout=None):
        """Reads a status line and headers; returns (version, status, reason, headers, raw)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        raw = self.read_until(b"\r\n\r\n", deadline)
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError(f"not an HTTP status line: {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip(" \t")))
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, raw

    def read_response(self, head_request=False, timeout=None, allow_interim=False):
        """Reads one full response. 1xx interim responses are skipped unless allow_interim.
        A body cut short by the server closing the connection gives complete=False."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            version, status, reason, headers, raw = self.read_head(deadline - time.monotonic())
            if 100 <= status < 200 and status != 101 and not allow_interim:
                continue
            break
        r = Response(version, status, reason, headers, b"", raw)
        if head_request or 100 <= status < 200 or status in (204, 304):
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        try:
            if te is not None and te.lower() == "chunked":
                r.chunks = []
                while True:
                    size_line = self.read_until(b"\r\n", deadline)
                    size = int(size_line.split(b";")[0].strip(), 16)
                    if size == 0:
                        # trailers until the empty line
                        while self.read_until(b"\r\n", deadline) != b"\r\n":
                            pass
                        break
                    data = self.read_exact(size, deadline)
                    r.chunks.append(data)
                    r.body += data
                    if self.read_exact(2, deadline) != b"\r\n":
                        raise AssertionError("chunk not followed by CRLF")
            elif cl is not None:
                r.body = self.read_exact(int(cl), deadline)
            else:
                r.body = self.read_to_close(deadline)
        except ConnectionClosed:
            r.body += self.buf
            self.buf = b""
            r.complete = False
        return r

    def request(self, method, path, headers=None, body=b"", host=None, version="HTTP/1.1",
                timeout=None):
        """Sends one request and reads its response."""
        self.send(build_request(method, path, headers, body, host or "127.0.0.1", version))
        return self.read_response(head_request=(method == "HEAD"), timeout=timeout)

    def wait_closed(self, timeout=5.0):
        """True when the server closes the connection (EOF or reset) within timeout; any bytes
        still arriving are returned in .buf. False when it stays open."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except ConnectionClosed:
            return True
        except (socket.timeout, TimeoutError):
            return False


def build_request(method, path, headers=None, body=b"", host="127.0.0.1", version="HTTP/1.1"):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} {version}"]
    names = [h[0].lower() for h in (headers or [])]
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http(port, method="GET", path="/", headers=None, body=b"", host=None, version="HTTP/1.1",
         timeout=DEFAULT_TIMEOUT):
    """One request on a fresh connection; returns the Response."""
    c = Conn(port, timeout=timeout)
    try:
        return c.request(method, path, headers, body, host=host or f"127.0.0.1:{port}",
                         version=version)
    finally:
        c.close()


def curl(*args, timeout=30):
    """Runs curl; returns CompletedProcess (stdout bytes). Never uses a proxy."""
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", str(int(timeout) - 5)] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def parse_curl_head(text):
    """Parses `curl -D -` / `-i` output into a list of (status, [(name, value)]) blocks."""
    blocks = []
    for block in text.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = block.decode("latin-1").split("\n")
        if not lines or not lines[0].startswith("HTTP/"):
            continue
        status = int(lines[0].split(" ")[1])
        headers = []
        for line in lines[1:]:
            if ":" in line:
                n, _, v = line.partition(":")
                headers.append((n, v.strip()))
        blocks.append((status, headers))
    return blocks


# ---- processes ------------------------------------------------------------------------------

_LIVE = {}  # pid -> Proc, every process started and not yet released


def _die_with_parent():
    """In the child before exec: get SIGKILL when the test process dies, so a test killed by
    a ctest timeout leaves no service or application behind (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort; the cleanup and atexit still act
        pass


@atexit.register
def _kill_leftovers():
    for pid, proc in list(_LIVE.items()):
        if proc.popen.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
                proc.popen.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass


class Proc:
    """A process this harness started: stdout is a pipe (for `ready`), stderr goes to a file."""

    def __init__(self, name, argv, env, directory, is_service=False):
        self.name = name
        self.is_service = is_service
        self.argv = argv
        self.stderr_path = os.path.join(directory, f"{name}.stderr")
        self.stdout_path = os.path.join(directory, f"{name}.stdout")
        self._stderr = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=env, start_new_session=True,
                                      preexec_fn=_die_with_parent)
        self.pid = self.popen.pid
        _LIVE[self.pid] = self
        self.out = b""

    def read_line(self, timeout=DEFAULT_TIMEOUT):
        """Next line of stdout (with its newline), or None at EOF; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        fd = self.popen.stdout.fileno()
        while b"\n" not in self.out:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no line on stdout within {timeout} s "
                                     f"(got {self.out!r}); stderr: {self.stderr()[-2000:]}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data = os.read(fd, 4096)
                if not data:
                    line, self.out = self.out, b""
                    return line or None
                self.out += data
        i = self.out.index(b"\n") + 1
        line, self.out = self.out[:i], self.out[i:]
        return line

    def read_available(self, wait=0.5):
        """What the process writes to stdout within `wait` seconds, beyond the lines read."""
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + wait
        out = self.out
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], remaining)[0]:
                break
            data = os.read(fd, 4096)
            if not data:
                break
            out += data
        return out

    def alive(self):
        return self.popen.poll() is None

    def send_signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Exit status; AssertionError if it does not exit within timeout."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} (pid {self.pid}) still running after {timeout} s")

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signals the process, waits, and SIGKILLs it if it does not go. Returns the status."""
        if self.popen.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        return self.popen.returncode

    def release(self):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _LIVE.pop(self.pid, None)
        if self.popen.stdout:
            self.popen.stdout.close()
        self._stderr.close()

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class LogEntry:
    FIELDS = ("date", "time", "c_ip", "c_port", "s_ip", "s_port", "cs_version", "cs_method",
              "cs_uri", "sc_status", "s_siteid", "s_reason", "s_queuename")

    def __init__(self, line):
        self.line = line
        parts = line.split(" ")
        if len(parts) != len(self.FIELDS):
            raise AssertionError(f"httperr line has {len(parts)} fields, not "
                                 f"{len(self.FIELDS)}: {line!r}")
        for k, v in zip(self.FIELDS, parts):
            setattr(self, k, v)

    def __repr__(self):
        return repr(self.line)


class ServiceTestCase(unittest.TestCase):
    """Base class: one httpapid per test, in a fresh state directory."""

    IO_THREADS = 1
    SHUTDOWN_TIMEOUT = 5
    SERVICE_ARGS = ()
    START_SERVICE = True

    def setUp(self):
        self._problems_at_start = self._reported_problems()
        self.tmp = tempfile.mkdtemp(prefix="httpapi-it-")
        if "--user" in os.environ.get("HTTPAPI_IT_SERVICE_ARGS", ""):
            os.chmod(self.tmp, 0o755)  # the service, once that user, reaches its state dir
        self.state_dir = os.path.join(self.tmp, "state")
        self.control = os.path.join(self.state_dir, "control.sock")
        self.procs = []
        self.conns = []
        self.service = None
        self._app_count = 0
        # A cleanup, not tearDown: it also runs when setUp (or a subclass's setUp starting
        # apps) fails, so no process or directory is left behind.
        self.addCleanup(self._stop_everything)
        if self.START_SERVICE:
            self.service = self.start_service()

    # -- service

    def start_service(self, *extra, io_threads=None, wrapper=(), env=None, state_dir=True,
                      control=None):
        """Starts httpapid (after the `wrapper` command words, e.g. prlimit) and waits for
        its control socket. HTTPAPI_IT_SERVICE_ARGS (words split on spaces) is added to every
        service's command line, so that a whole suite can run e.g. with --seccomp. Without
        `state_dir` no --state-dir is given; `control` is then where the socket will be."""
        argv = list(wrapper) + [binary("HTTPAPID")]
        if state_dir:
            argv += ["--state-dir", self.state_dir]
        argv += ["--io-threads", str(io_threads or self.IO_THREADS),
                 "--shutdown-timeout", str(self.SHUTDOWN_TIMEOUT)]
        argv += os.environ.get("HTTPAPI_IT_SERVICE_ARGS", "").split()
        argv += list(self.SERVICE_ARGS) + list(extra)
        count = sum(1 for p in self.procs if p.is_service)
        name = "httpapid" if count == 0 else f"httpapid-{count + 1}"
        proc = Proc(name, argv, dict(os.environ) if env is None else env, self.tmp,
                    is_service=True)
        self.procs.append(proc)
        self.control = control or os.path.join(self.state_dir, "control.sock")

        def control_ready():
            if not proc.alive():
                raise AssertionError(f"httpapid exited with {proc.popen.returncode}: "
                                     f"{proc.stderr()[-3000:]}")
            if not os.path.exists(self.control):
                return False
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(1)
                return s.connect_ex(self.control) == 0
            finally:
                s.close()

        wait_until(control_ready, 15, what="httpapid control socket")
        return proc

    @property
    def error_log_path(self):
        return os.path.join(self.state_dir, "logs", "httperr1.log")

    def log_entries(self):
        try:
            with open(self.error_log_path, "r", encoding="latin-1") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [LogEntry(l) for l in text.splitlines() if l and not l.startswith("#")]

    def wait_log(self, predicate, timeout=5.0, what="error log line"):
        """Waits for an httperr entry satisfying predicate; returns it."""
        def find():
            for e in self.log_entries():
                if predicate(e):
                    return e
            return None
        try:
            return wait_until(find, timeout, what=what)
        except AssertionError:
            raise AssertionError(f"no {what} in {self.error_log_path}; entries: "
                                 f"{self.log_entries()}")

    def log_for(self, client_port, timeout=5.0):
        """The httperr entry written for the client connection from `client_port`."""
        return self.wait_log(lambda e: e.c_port == str(client_port), timeout,
                             what=f"error log line for client port {client_port}")

    # -- applications

    def app_env(self):
        env = dict(os.environ)
        env["HTTPAPI_CONTROL"] = self.control
        return env

    def _proc_name(self, base):
        self._app_count += 1
        return f"{self._app_count:02d}-{base}"

    def start_app(self, argv, name):
        """Starts an application and waits for exactly `ready\\n` on its stdout."""
        proc = Proc(self._proc_name(name), argv, self.app_env(), self.tmp)
        self.procs.append(proc)
        line = proc.read_line(15)
        if line != b"ready\n":
            status = None
            try:
                status = proc.wait(5)
            except AssertionError:
                pass
            raise AssertionError(f"{name}: expected b'ready\\n', got {line!r} (exit {status}); "
                                 f"stderr: {proc.stderr()[-3000:]}")
        return proc

    def start_echo(self, *urls, name=None, queue=None):
        argv = [binary("HTTPAPI_ECHO")]
        for u in urls:
            argv += ["--url", u]
        if name:
            argv += ["--name", name]
        if queue:
            argv += ["--queue", queue]
        return self.start_app(argv, f"echo-{name or 'echo'}")

    def start_hello(self, url):
        return self.start_app([binary("HTTPAPI_HELLO"), url], "hello")

    def start_counter(self, url):
        return self.start_app([binary("HTTPAPI_COUNTER"), url], "counter")

    def start_half_response(self, url, mode="chunked-exit"):
        return self.start_app([binary("HTTPAPI_HALF_RESPONSE"), url, mode], f"half-{mode}")

    def cancel_while_service_stopped(self, half_response):
        """With a `cancel-on-usr1` half-response app that has its request: stops httpapid,
        lets the app send its two pieces and cancel, then lets httpapid go on, so it takes
        the pieces and the cancel in one turn."""
        with self.service_stopped():
            half_response.send_signal(signal.SIGUSR1)
            self.assertEqual(half_response.read_line(10), b"sent\n")

    @contextlib.contextmanager
    def service_stopped(self):
        """httpapid SIGSTOPped for the block: what applications send meanwhile waits for it."""
        os.kill(self.service.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.service.pid, signal.SIGCONT)

    def run_app(self, argv, timeout=15):
        """Runs an application that is expected to exit; returns CompletedProcess."""
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.app_env(), timeout=timeout)

    # -- administration

    def httpcfg(self, *args, check=True):
        """Runs httpcfg against this test's service; with `check`, a failure fails the test."""
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, *args],
                           capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, f"httpcfg {' '.join(args)}: {r.stderr}")
        return r

    # -- clients

    def conn(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
        c = Conn(port, host, timeout)
        self.conns.append(c)
        return c

    # -- diagnostics and teardown

    def diagnostics(self):
        out = [f"---- state dir: {self.state_dir}"]
        for p in self.procs:
            text = p.stderr()
            if len(text) > 8000:  # keep the start (a sanitizer report's first frames) and end
                text = text[:6000] + "\n[...]\n" + text[-2000:]
            out.append(f"---- {p.name} (pid {p.pid}, exit {p.popen.returncode}): "
                       f"{' '.join(p.argv)}\n{text}")
        try:
            with open(self.error_log_path, encoding="latin-1") as f:
                out.append("---- httperr1.log\n" + f.read()[-6000:])
        except OSError:
            pass
        return "\n".join(out)

    def _reported_problems(self):
        # unittest resets its per-part success flag for tearDown, so count what the result
        # object holds instead: a failure or error of this test (or a subtest) raised it.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return len(getattr(result, "errors", ())) + len(getattr(result, "failures", ()))

    def _failed(self):
        return self._reported_problems() > self._problems_at_start

    def _stop_everything(self):
        problems = []
        for c in self.conns:
            c.close()
        # Applications first (SIGTERM; they have no handler), then the service.
        for p in self.procs:
            if not p.is_service:
                p.stop(signal.SIGTERM, 5)
        for p in self.procs:
            # A service that exited by itself with a failure status crashed during the test
            # (a test that stops it on purpose checks for exit 0 itself).
            if p.is_service and not p.alive() and p.popen.returncode != 0:
                problems.append(f"{p.name} died during the test (exit status "
                                f"{p.popen.returncode})")
            if p.is_service and p.alive():
                try:
                    p.send_signal(signal.SIGTERM)
                    status = p.wait(self.SHUTDOWN_TIMEOUT + 15)
                    if status != 0:
                        problems.append(f"{p.name} exited with {status} after SIGTERM")
                except AssertionError as e:
                    problems.append(str(e))
        for p in self.procs:
            p.release()
            text = p.stderr()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    problems.append(f"{p.name} reported a sanitizer error ({marker!r})")
                    break
        if problems or self._failed():
            sys.stderr.write(f"\n==== diagnostics for {self.id()}\n{self.diagnostics()}\n")
        keep = bool(os.environ.get("HTTPAPI_IT_KEEP")) and (problems or self._failed())
        if keep:
            sys.stderr.write(f"(kept {self.tmp})\n")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            self.fail("; ".join(problems))


def main():
    unittest.main(verbosity=2)
