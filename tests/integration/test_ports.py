#!/usr/bin/env python3
"""Ports and registration errors (issue 2 items 2, 7, "Bad input"; DESIGN.md §4): the
service listens on a port only while a prefix is registered there; a port held by another
program is a sharing violation; the same prefix twice already exists; malformed prefixes are
invalid parameters. Every failed registration makes httpapi-echo print the error and exit 2."""

import errno
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, connect_result, free_port, http, wait_until  # noqa: E402


class Ports(ServiceTestCase):

    def echo_argv(self, *urls):
        argv = [binary("HTTPAPI_ECHO")]
        for u in urls:
            argv += ["--url", u]
        return argv

    def assert_registration_fails(self, urls, error_name):
        res = self.run_app(self.echo_argv(*urls))
        self.assertEqual(res.returncode, 2, f"stdout {res.stdout!r} stderr {res.stderr!r}")
        self.assertEqual(res.stdout, b"", "no `ready` when a registration fails")
        self.assertIn(error_name.encode(), res.stderr)
        return res.stderr.decode(errors="replace")

    def test_port_not_listening_before_any_registration(self):
        p = free_port()
        self.assertEqual(connect_result(p), errno.ECONNREFUSED)

    def test_port_listens_only_while_a_prefix_is_registered(self):
        p = free_port()
        q = free_port()
        self.assertEqual(connect_result(p), errno.ECONNREFUSED)
        a = self.start_echo(f"http://+:{p}/a/", name="A")
        b = self.start_echo(f"http://+:{p}/b/", f"http://+:{q}/b/", name="B")
        self.assertEqual(connect_result(p), 0)
        self.assertEqual(connect_result(q), 0)
        # One app of two goes: the port stays.
        a.stop(signal.SIGTERM)
        wait_until(lambda: http(p, path="/a/").status == 404, 3, what="/a/ released")
        self.assertEqual(connect_result(p), 0)
        self.assertEqual(http(p, path="/b/").json()["app"], "B")
        # The last one goes: both its ports are closed, the kernel refuses connections.
        b.send_signal(signal.SIGKILL)
        b.wait(5)
        wait_until(lambda: connect_result(p) == errno.ECONNREFUSED, 3,
                   what=f"port {p} refusing connections after the last app exited")
        wait_until(lambda: connect_result(q) == errno.ECONNREFUSED, 3,
                   what=f"port {q} refusing connections after the last app exited")
        # Registering again opens it again.
        self.start_echo(f"http://+:{p}/c/", name="C")
        self.assertEqual(http(p, path="/c/x").json()["app"], "C")
        self.assertEqual(connect_result(q), errno.ECONNREFUSED)

    def test_explicit_host_prefix_also_opens_and_closes_port(self):
        p = free_port()
        h = self.start_echo(f"http://onlyhost:{p}/", name="H")
        self.assertEqual(http(p, host="onlyhost").json()["app"], "H")
        h.stop(signal.SIGTERM)
        wait_until(lambda: connect_result(p) == errno.ECONNREFUSED, 3,
                   what=f"port {p} closed after H exited")

    def test_idle_keepalive_connection_survives_unrelated_port_close(self):
        p, q = free_port(), free_port()
        self.start_echo(f"http://+:{p}/a/", name="A")
        other = self.start_echo(f"http://+:{q}/z/", name="Z")
        c = self.conn(p)
        self.assertEqual(c.request("GET", "/a/1").status, 200)
        other.stop(signal.SIGTERM)
        wait_until(lambda: connect_result(q) == errno.ECONNREFUSED, 3, what=f"port {q} closed")
        self.assertEqual(c.request("GET", "/a/2").json()["app"], "A")

    def test_port_held_by_another_program_is_sharing_violation(self):
        for address in ("0.0.0.0", "127.0.0.1"):
            with self.subTest(address=address):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind((address, 0))
                    s.listen(1)
                    p = s.getsockname()[1]
                    err = self.assert_registration_fails([f"http://+:{p}/a/"],
                                                         "HTTPAPI_ERROR_SHARING_VIOLATION")
                    self.assertIn(str(p), err)
                finally:
                    s.close()
                # and once the other program is gone, the port can be registered
                self.start_echo(f"http://+:{p}/a/", name=f"after-{address}")
                self.assertEqual(http(p, path="/a/").status, 200)
        # the failed attempts left no trace: the service still serves
        self.assertTrue(self.service.alive())

    def test_same_prefix_twice_already_exists(self):
        p = free_port()
        self.start_echo(f"http://+:{p}/a/", name="A")
        self.assert_registration_fails([f"http://+:{p}/a/"], "HTTPAPI_ERROR_ALREADY_EXISTS")
        # case and host spelling do not make it a different prefix
        self.assert_registration_fails([f"http://+:{p}/A/"], "HTTPAPI_ERROR_ALREADY_EXISTS")
        # same path in another bucket is a different prefix
        self.start_echo(f"http://*:{p}/a/", name="W")
        self.assert_registration_fails([f"http://*:{p}/a/"], "HTTPAPI_ERROR_ALREADY_EXISTS")
        self.start_echo(f"http://onlyhost:{p}/a/", name="H")
        self.assert_registration_fails([f"http://OnlyHost:{p}/a/"], "HTTPAPI_ERROR_ALREADY_EXISTS")
        # the first owner is untouched
        self.assertEqual(http(p, path="/a/").json()["app"], "A")
        # a failing second --url of one app rolls back nothing of other apps, and the app exits 2
        self.assert_registration_fails([f"http://+:{p}/new/", f"http://+:{p}/a/"],
                                       "HTTPAPI_ERROR_ALREADY_EXISTS")
        wait_until(lambda: http(p, path="/new/").status == 404, 3,
                   what="/new/ released when the app that registered it exited")

    def test_malformed_prefixes_are_invalid_parameter(self):
        p = free_port()
        for prefix in (f"HTTP://+:{p}/a/", f"http://+:{p}/a", "http://+:0/", "http://+/",
                       f"http://+:{p}", f"ftp://+:{p}/", f"http://+:{p}/a//b/",
                       f"http://+:{p}/a/../", f"http://+:{p}/%41/", "http://+:65536/",
                       f"http://0.0.0.0:{p}/", f"http://a b:{p}/", ""):
            with self.subTest(prefix=prefix):
                self.assert_registration_fails([prefix], "HTTPAPI_ERROR_INVALID_PARAMETER")
        self.assertEqual(connect_result(p), errno.ECONNREFUSED,
                         "a rejected prefix opens no port")
        self.assertTrue(self.service.alive())
        # the service is fine afterwards
        self.start_echo(f"http://+:{p}/ok/", name="OK")
        self.assertEqual(http(p, path="/ok/").status, 200)

    def test_no_service_is_service_unavailable(self):
        env = self.app_env()
        env["HTTPAPI_CONTROL"] = os.path.join(self.tmp, "nobody-here.sock")
        res = harness.subprocess.run(self.echo_argv(f"http://+:{free_port()}/a/"),
                                     stdout=harness.subprocess.PIPE,
                                     stderr=harness.subprocess.PIPE, env=env, timeout=15)
        self.assertEqual(res.returncode, 2)
        self.assertIn(b"HTTPAPI_ERROR_SERVICE_UNAVAILABLE", res.stderr)


if __name__ == "__main__":
    harness.main()
