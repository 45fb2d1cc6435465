#!/usr/bin/env python3
"""Per-address listening (issue 15 item 2, docs/listening.md): a port whose registrations all
name IP literals binds exactly those addresses, read back from /proc/net/tcp{,6} by the
service's own socket inodes, so another server holds the same port number on another address;
a `+` registration widens the port to the IP listen list (every address when empty) and its
departure narrows it back, live, under client loops that count every refused or failed
connection; iplisten changes apply at once; a sharing violation names the address and the
program holding it, to the application and in the service's log."""

import collections
import errno
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, connect_result, free_port, wait_until  # noqa: E402

OTHER_SERVER = """
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\\r\\nServer: other\\r\\nContent-Length: 5\\r\\n\\r\\nother")
    c.close()
"""
EVERY = "::"  # the dual-stack wildcard socket, as /proc/net/tcp6 shows it


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def decode_address(hex_text, v6):
    raw = b"".join(struct.pack("=I", int(hex_text[i:i + 8], 16))
                   for i in range(0, len(hex_text), 8))
    return socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, raw)


def get(host, port, path="/x", timeout=5.0):
    """One request on a new connection to host:port (closed whatever happens); the status
    and the app that answered."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        name = f"[{host}]" if ":" in host else host
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}:{port}\r\n"
                  "Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    app = re.search(rb'"app":\s*"([^"]*)"', data)
    return (int(status.group(1)) if status else 0), (app.group(1).decode() if app else None)


def hold(test, address, port):
    """Another server, a separate process, on address:port: a plain socket (neither
    SO_REUSEADDR nor SO_REUSEPORT) answering every connection with "other"."""
    server = subprocess.Popen([sys.executable, "-c", OTHER_SERVER, address, str(port)],
                              stdout=subprocess.DEVNULL, cwd=test.tmp)
    test.addCleanup(lambda: (server.kill(), server.wait()))
    wait_until(lambda: connect_result(port, address) == 0, 10,
               what=f"the other server on {address}:{port}")
    return server


class ClientLoop:
    """New connections, one request each, as fast as they go, until stopped; counts answers
    and every failure (refused, reset, timeout, a status other than 200)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.ok = 0
        self.failures = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                status, _ = get(self.host, self.port)
                if status == 200:
                    self.ok += 1
                else:
                    self.failures[f"status {status}"] += 1
            except OSError as e:
                self.failures[type(e).__name__] += 1

    def stop(self):
        self._stop.set()
        self._thread.join(30)


class ListenAddressesTest(ServiceTestCase):

    IO_THREADS = 2  # every bound address has a socket per I/O thread

    def client_loop(self, host, port):
        loop = ClientLoop(host, port)
        self.addCleanup(loop.stop)  # also when the test fails half-way
        return loop

    def bound(self, port):
        """The service's listening sockets on `port`: address -> how many."""
        fd_dir = f"/proc/{self.service.pid}/fd"
        inodes = set()
        for name in os.listdir(fd_dir):
            try:
                link = os.readlink(os.path.join(fd_dir, name))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        found = collections.Counter()
        for path, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
            with open(path) as f:
                for line in f.read().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) < 10 or fields[3] != "0A" or fields[9] not in inodes:
                        continue
                    address, port_hex = fields[1].split(":")
                    if int(port_hex, 16) == port:
                        found[decode_address(address, v6)] += 1
        return dict(found)

    def wait_bound(self, port, addresses):
        want = {a: self.IO_THREADS for a in addresses}
        wait_until(lambda: self.bound(port) == want, 10,
                   what=f"port {port} bound on exactly {sorted(addresses)}")

    def state_endpoint(self, port):
        state = json.loads(self.httpcfg("show", "servicestate", "--json").stdout)
        return next(e for e in state["endpoints"] if e["port"] == port)

    # ---- exact addresses

    def test_ip_literals_bind_exactly_their_addresses_beside_another_server(self):
        p = free_port()
        other = hold(self, "127.0.0.4", p)
        self.start_echo(f"http://127.0.0.2:{p}/", name="two")
        self.start_echo(f"http://127.0.0.3:{p}/", name="three")
        self.wait_bound(p, ["127.0.0.2", "127.0.0.3"])
        self.assertEqual(get("127.0.0.2", p), (200, "two"))
        self.assertEqual(get("127.0.0.3", p), (200, "three"))
        # the other server answers on its own address of the same port, at the same time
        r = self.conn(p, host="127.0.0.4").request("GET", "/")
        self.assertEqual((r.status, r.body), (200, b"other"))
        # a third loopback address is nobody's
        for address in ("127.0.0.1", "127.0.0.5"):
            self.assertEqual(connect_result(p, address), errno.ECONNREFUSED, address)
        endpoint = self.state_endpoint(p)
        self.assertTrue(endpoint["exact"])
        self.assertEqual([(b["ipport"], b["registrations"]) for b in endpoint["bindings"]],
                         [(f"127.0.0.2:{p}", [f"http://127.0.0.2:{p}/"]),
                          (f"127.0.0.3:{p}", [f"http://127.0.0.3:{p}/"])])
        text = self.httpcfg("show", "servicestate").stdout
        self.assertIn(f"port {p} (http): every registration names an IP address", text)
        self.assertIn(f"127.0.0.2:{p}   PROXY protocol: no   named by http://127.0.0.2:{p}/",
                      text)

        # + needs every address, which the other server's address is part of: a sharing
        # violation naming that address and the program, to the application and in the log
        res = self.run_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{p}/w/"])
        self.assertEqual(res.returncode, 2, res.stderr)
        err = res.stderr.decode(errors="replace")
        self.assertIn("HTTPAPI_ERROR_SHARING_VIOLATION", err)
        self.assertIn(f"every address of port {p} is in use by a program outside httpapid", err)
        self.assertIn(f"(pid {other.pid}) listens on 127.0.0.4:{p}", err)
        wait_until(lambda: f"(pid {other.pid}) listens on 127.0.0.4:{p}" in self.service.stderr(),
                   5, what="the sharing violation in the service's log")
        # nothing changed
        self.assertEqual(self.bound(p), {"127.0.0.2": 2, "127.0.0.3": 2})
        self.assertEqual(get("127.0.0.2", p), (200, "two"))

        # an address the other server holds exactly: named too
        res = self.run_app([binary("HTTPAPI_ECHO"), "--url", f"http://127.0.0.4:{p}/"])
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn(f"127.0.0.4:{p} is in use by a program outside httpapid: ",
                      res.stderr.decode(errors="replace"))

    def test_ipv6_literal(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback")
        p = free_port()
        self.start_echo(f"http://[::1]:{p}/", name="six")
        self.wait_bound(p, ["::1"])
        self.assertEqual(get("::1", p), (200, "six"))
        self.assertEqual(connect_result(p, "127.0.0.1"), errno.ECONNREFUSED)
        self.assertEqual(self.state_endpoint(p)["bindings"][0]["ipport"], f"[::1]:{p}")

    # ---- switching, live

    def test_wildcard_arrives_and_leaves_without_refusing_a_connection(self):
        p = free_port()
        self.start_echo(f"http://127.0.0.2:{p}/", name="two")
        self.wait_bound(p, ["127.0.0.2"])
        loops = [self.client_loop("127.0.0.2", p)]
        for cycle in range(3):
            with self.subTest(cycle=cycle):
                wide = self.start_echo(f"http://+:{p}/w/", name=f"wide{cycle}")
                # every address now, and 127.0.0.2 keeps the sockets it had
                self.wait_bound(p, [EVERY, "127.0.0.2"] + (["127.0.0.3"] if cycle else []))
                self.assertEqual(get("127.0.0.5", p, "/w/")[1], f"wide{cycle}")
                if cycle == 0:
                    # a connection the wildcard socket accepts, kept open across its close
                    kept = self.conn(p, host="127.0.0.3")
                    self.assertEqual(kept.request("GET", "/w/", host=f"127.0.0.3:{p}")
                                     .json()["app"], "wide0")
                    self.start_echo(f"http://127.0.0.3:{p}/", name="three")
                    self.wait_bound(p, [EVERY, "127.0.0.2", "127.0.0.3"])
                    loops.append(self.client_loop("127.0.0.3", p))
                wide.stop(signal.SIGTERM)
                self.wait_bound(p, ["127.0.0.2", "127.0.0.3"])
                self.assertEqual(connect_result(p, "127.0.0.5"), errno.ECONNREFUSED)
                # the connection the closed wildcard socket accepted carries on
                self.assertEqual(kept.request("GET", "/k", host=f"127.0.0.3:{p}")
                                 .json()["app"], "three")
        for loop in loops:
            loop.stop()
        for loop in loops:
            self.assertEqual(dict(loop.failures), {}, f"{loop.host}: {loop.ok} answered")
            self.assertGreater(loop.ok, 10, loop.host)
        print(f"client loops: {[(l.host, l.ok) for l in loops]} answered, none failed",
              file=sys.stderr)

    def test_listen_list_steers_the_wide_case_live(self):
        p = free_port()
        # `*` (searched after IP literals, docs/routing.md) lets /lit/ reach its literal
        self.start_echo(f"http://*:{p}/", name="wide")
        self.start_echo(f"http://127.0.0.2:{p}/lit/", name="lit")
        self.wait_bound(p, [EVERY, "127.0.0.2"])
        loop = self.client_loop("127.0.0.1", p)
        self.httpcfg("iplisten", "add", "--address", "127.0.0.1")
        # the list applies at once: 127.0.0.1 only, and 127.0.0.2 is left out (unbound)
        self.wait_bound(p, ["127.0.0.1"])
        self.assertEqual(connect_result(p, "127.0.0.2"), errno.ECONNREFUSED)
        endpoint = self.state_endpoint(p)
        self.assertFalse(endpoint["exact"])
        self.assertIn(f"http://*:{p}/ needs more than IP addresses", endpoint["why"])
        self.assertEqual(endpoint["unbound"], [f"http://127.0.0.2:{p}/lit/"])
        self.httpcfg("iplisten", "add", "--address", "127.0.0.2")
        self.wait_bound(p, ["127.0.0.1", "127.0.0.2"])
        self.assertEqual(get("127.0.0.2", p, "/lit/x"), (200, "lit"))
        # an address that is not this machine's: refused, and the list is unchanged
        bad = self.httpcfg("iplisten", "add", "--address", "192.0.2.1", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn(f"192.0.2.1:{p}", bad.stderr)
        self.assertNotIn("192.0.2.1", self.httpcfg("iplisten", "show").stdout)
        self.assertEqual(self.bound(p), {"127.0.0.1": 2, "127.0.0.2": 2})
        # emptied: every address again, 127.0.0.1 never refused on the way
        self.httpcfg("iplisten", "delete", "--address", "127.0.0.2")
        self.httpcfg("iplisten", "delete", "--address", "127.0.0.1")
        self.wait_bound(p, [EVERY, "127.0.0.2"])
        self.assertEqual(get("127.0.0.5", p)[1], "wide")
        loop.stop()
        self.assertEqual(dict(loop.failures), {}, f"{loop.ok} answered")
        self.assertGreater(loop.ok, 10)
        print(f"client loop: {loop.ok} answered on 127.0.0.1 across 4 list changes, none failed",
              file=sys.stderr)


class UnprivilegedServiceTest(ServiceTestCase):
    """httpapid as its unprivileged account may not read a root program's /proc/PID/fd: the
    sharing violation then names the address and the holder's uid, and says so."""

    START_SERVICE = False

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: httpapid changes user only when started as "
                                    "root (CI runs as root)")
        from test_privilege import SERVICE_USER, ensure_user
        cls.user = SERVICE_USER
        cls.account = ensure_user(SERVICE_USER)

    def test_holder_out_of_sight_is_named_by_address_and_uid(self):
        os.chmod(self.tmp, 0o755)  # the service, once that user, reaches its state dir
        self.service = self.start_service("--user", self.user)
        p = free_port()
        hold(self, "127.0.0.4", p)  # a root process
        res = self.run_app([binary("HTTPAPI_ECHO"), "--url", f"http://+:{p}/"])
        self.assertEqual(res.returncode, 2, res.stderr)
        err = res.stderr.decode(errors="replace")
        self.assertIn("HTTPAPI_ERROR_SHARING_VIOLATION", err)
        self.assertIn(f"a program of uid 0 listens on 127.0.0.4:{p} (httpapid, uid "
                      f"{self.account.pw_uid}, may not read its /proc/PID/fd to name it", err)


if __name__ == "__main__":
    harness.main()
