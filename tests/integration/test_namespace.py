"""The URL namespace with real identities: reservations (httpcfg urlacl) decide which
unprivileged user may register what, as the kernel reports it (SO_PEERCRED); reservations
take part in routing; the configuration store survives restarts and refuses corruption;
named queues are closed to other users unless granted.

Needs root (CI runs as root): creates two system users and runs applications as them with
setpriv.
"""

import json
import os
import pwd
import shutil
import subprocess
import unittest

from harness import ServiceTestCase, binary, curl, free_port, http, wait_until

USER_A = "httpapi-test-a"
USER_B = "httpapi-test-b"


def ensure_user(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name).pw_uid


def as_user(name, argv):
    return ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--"] + argv


class NamespaceBase(ServiceTestCase):

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to create users and switch to them")
        if not shutil.which("setpriv"):
            raise unittest.SkipTest("setpriv (util-linux) is missing")
        cls.uid_a = ensure_user(USER_A)
        cls.uid_b = ensure_user(USER_B)

    def setUp(self):
        super().setUp()
        # Other users must reach the control socket (the service makes it 0666) and run the
        # binaries from the build tree.
        os.chmod(self.tmp, 0o755)
        self.port = free_port()

    def httpcfg(self, *args, user=None, check=True):
        argv = [binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args)
        if user:
            argv = as_user(user, argv)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            self.fail(f"httpcfg {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def echo_as(self, user, *urls, name=None, extra=()):
        argv = [binary("HTTPAPI_ECHO")]
        for u in urls:
            argv += ["--url", u]
        if name:
            argv += ["--name", name]
        argv += list(extra)
        return self.start_app(as_user(user, argv), name or user)

    def echo_as_fails(self, user, *urls, extra=()):
        argv = [binary("HTTPAPI_ECHO")]
        for u in urls:
            argv += ["--url", u]
        argv += list(extra)
        r = self.run_app(as_user(user, argv))
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 2, f"expected exit 2, got {r.returncode}: {err}")
        return err



class NamespaceTest(NamespaceBase):

    # -- registration rights

    def test_unprivileged_user_needs_a_reservation(self):
        err = self.echo_as_fails(USER_A, f"http://+:{self.port}/x/")
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", err)

    def test_localhost_above_1024_is_open_to_everyone(self):
        self.echo_as(USER_A, f"http://localhost:{self.port}/", name="A")
        r = http(self.port, path="/any", host="localhost")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "A")
        # ...but not by IP or wildcard
        err = self.echo_as_fails(USER_B, f"http://127.0.0.1:{free_port()}/")
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", err)

    def test_reservation_lets_only_its_user_listen(self):
        prefix = f"http://+:{self.port}/x/"
        self.httpcfg("urlacl", "add", "--url", prefix, "--user", USER_A)
        err = self.echo_as_fails(USER_B, prefix)
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", err)
        self.echo_as(USER_A, prefix, name="A")
        r = http(self.port, path="/x/page")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["app"], "A")
        # B can neither steal the prefix nor a longer one under A's reservation...
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED",
                      self.echo_as_fails(USER_B, f"http://+:{self.port}/x/deeper/"))
        # ...nor remove the reservation it stands on.
        r = self.httpcfg("urlacl", "delete", "--url", prefix, user=USER_B, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may not", r.stderr)
        self.assertEqual(http(self.port, path="/x/page").json()["app"], "A")

    def test_https_reservations_are_enforced_the_same_way(self):
        prefix = f"https://+:{self.port}/x/"
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", self.echo_as_fails(USER_A, prefix))
        # A reservation for http does not cover https: the scheme is part of the prefix.
        self.httpcfg("urlacl", "add", "--url", f"http://+:{self.port}/x/", "--user", USER_A)
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", self.echo_as_fails(USER_A, prefix))
        self.httpcfg("urlacl", "add", "--url", prefix, "--user", USER_A)
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", self.echo_as_fails(USER_B, prefix))
        self.echo_as(USER_A, prefix, name="A")
        # Only root may bind certificates.
        cert = os.path.join(self.tmp, "c.pem")
        key = os.path.join(self.tmp, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-keyout", key, "-out", cert], check=True,
                       capture_output=True)
        os.chmod(key, 0o644)  # readable by A: the refusal must come from the service
        r = self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{self.port}", "--cert", cert,
                         "--key", key, user=USER_A, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.httpcfg("sslcert", "add", "--ipport", f"0.0.0.0:{self.port}", "--cert", cert,
                     "--key", key)
        r = curl("-k", f"https://127.0.0.1:{self.port}/x/y")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["app"], "A")

    def test_group_reservation(self):
        prefix = f"http://+:{self.port}/team/"
        self.httpcfg("urlacl", "add", "--url", prefix, "--group", USER_B)
        self.echo_as(USER_B, prefix, name="B")
        self.assertEqual(http(self.port, path="/team/").json()["app"], "B")

    def test_delegation(self):
        parent = f"http://+:{self.port}/y/"
        child = f"http://+:{self.port}/y/z/"
        r = self.httpcfg("urlacl", "add", "--url", child, "--user", USER_B, user=USER_B,
                         check=False)
        self.assertNotEqual(r.returncode, 0, "B reserved without delegate rights")
        self.httpcfg("urlacl", "add", "--url", parent, "--user", USER_B, "--delegate")
        self.httpcfg("urlacl", "add", "--url", child, "--user", USER_A, user=USER_B)
        shown = self.httpcfg("urlacl", "show", "--json").stdout
        self.assertIn(child, shown)
        self.echo_as(USER_A, child, name="A")
        self.assertEqual(http(self.port, path="/y/z/1").json()["app"], "A")

    # -- reservations in routing

    def test_reservation_without_registration_answers_503(self):
        self.echo_as("root", f"http://+:{self.port}/", name="root-app")
        self.httpcfg("urlacl", "add", "--url", f"http://+:{self.port}/held/", "--user", USER_A)
        self.assertEqual(http(self.port, path="/other").json()["app"], "root-app")
        r = http(self.port, path="/held/thing")
        self.assertEqual(r.status, 503)
        # Deleting the reservation gives the subtree back to the broader registration.
        self.httpcfg("urlacl", "delete", "--url", f"http://+:{self.port}/held/")
        self.assertEqual(http(self.port, path="/held/thing").json()["app"], "root-app")

    # -- the configuration store

    def test_reservations_survive_a_restart(self):
        prefix = f"http://+:{self.port}/kept/"
        self.httpcfg("urlacl", "add", "--url", prefix, "--user", USER_A)
        self.assertEqual(self.service.stop(), 0)
        self.service = self.start_service()
        self.assertIn(prefix, self.httpcfg("urlacl", "show", "--json").stdout)
        self.echo_as(USER_A, prefix, name="A")
        self.assertEqual(http(self.port, path="/kept/").json()["app"], "A")

    def test_corrupt_store_stops_the_service_and_is_kept(self):
        self.httpcfg("urlacl", "add", "--url", f"http://+:{self.port}/a/", "--user", USER_A)
        self.assertEqual(self.service.stop(), 0)
        db = os.path.join(self.state_dir, "config.db")
        with open(db, "r+b") as f:
            f.seek(0)
            f.write(b"this is not an SQLite database at all" * 4)
        with open(db, "rb") as f:
            before = f.read()
        r = subprocess.run([binary("HTTPAPID"), "--state-dir", self.state_dir],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("config.db", r.stderr)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before, "the store was modified")
        self.service = None

    # -- request queues

    def test_named_queue_is_closed_to_other_users_unless_granted(self):
        prefix = f"http://localhost:{self.port}/"
        self.echo_as(USER_A, prefix, name="A", extra=["--queue", "queue-a"])
        err = self.echo_as_fails(USER_B, extra=["--open", "--queue", "queue-a"])
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", err)
        other = free_port()
        self.echo_as(USER_A, f"http://localhost:{other}/", name="A2",
                     extra=["--queue", "queue-a2", "--allow-user", USER_B])
        self.echo_as(USER_B, name="B-worker", extra=["--open", "--queue", "queue-a2"])

    # -- live state

    def test_servicestate_lists_sessions_queues_endpoints_connections(self):
        import json
        self.echo_as(USER_A, f"http://localhost:{self.port}/", name="A")
        c = self.conn(self.port)
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        state = json.loads(self.httpcfg("show", "servicestate", "--json").stdout)
        self.assertTrue(any(s["uid"] == self.uid_a for s in state["sessions"]))
        urls = [u["url"] for s in state["sessions"] for g in s["groups"] for u in g["urls"]]
        self.assertIn(f"http://localhost:{self.port}/", urls)
        self.assertTrue(any(q["owner_uid"] == self.uid_a and q["workers"] == 1
                            for q in state["queues"]))
        self.assertIn(self.port, [e["port"] for e in state["endpoints"]])
        self.assertIn(f"127.0.0.1:{c.local_port}", [x["remote"] for x in state["connections"]])
        text = self.httpcfg("show", "servicestate").stdout
        self.assertIn(USER_A, text)

    def test_iplisten_list_limits_the_bound_addresses(self):
        self.httpcfg("iplisten", "add", "--address", "127.0.0.1")
        self.assertIn("127.0.0.1", self.httpcfg("iplisten", "show", "--json").stdout)
        self.echo_as("root", f"http://+:{self.port}/", name="root-app")
        self.assertEqual(http(self.port, path="/").status, 200)
        import socket
        s = socket.socket()
        s.settimeout(2)
        try:
            self.assertNotEqual(s.connect_ex(("127.0.0.2", self.port)), 0,
                                "127.0.0.2 was accepted although only 127.0.0.1 is listed")
        finally:
            s.close()


class WorkedExamplesTest(NamespaceBase):
    """HTTP.sys's own routing and reservation examples (reference §3.2, §3.3), answered by
    the real service; docs/namespace.md walks through the same ones."""

    def app_at(self, host, path):
        return http(self.port, path=path, host=f"{host}:{self.port}").json()["app"]

    def test_longest_path_in_one_bucket(self):
        p = self.port
        self.echo_as("root", f"http://www.adatum.com:{p}/", name="Queue1")
        self.echo_as("root", f"http://www.adatum.com:{p}/dir/sna/", name="Queue2")
        self.assertEqual(self.app_at("www.adatum.com", "/default.htm"), "Queue1")
        self.assertEqual(self.app_at("www.adatum.com", "/dir/sna/snadefault.htm"), "Queue2")
        self.assertEqual(self.app_at("www.adatum.com", "/dir/app.htm"), "Queue1")

    def test_buckets_in_order(self):
        p = self.port
        self.echo_as("root", f"http://+:{p}/vroot/", name="app1")
        self.echo_as("root", f"http://adatum.com:{p}/", name="app2")
        self.echo_as("root", f"http://*:{p}/", name="app3")
        self.assertEqual(self.app_at("adatum.com", "/vroot/subdir/file.htm"), "app1")
        self.assertEqual(self.app_at("adatum.com", "/default.htm"), "app2")
        self.assertEqual(self.app_at("otheradatum.com", "/file.htm"), "app3")

    def test_explicit_reservation_governs_explicit_registrations(self):
        p = self.port
        self.httpcfg("urlacl", "add", "--url", f"http://adatum.com:{p}/vroot/", "--user", USER_B)
        self.httpcfg("urlacl", "add", "--url", f"http://+:{p}/vroot/subdir/", "--user", USER_A)
        # A holds the strong-wildcard reservation, which says nothing about explicit hosts.
        err = self.echo_as_fails(USER_A, f"http://adatum.com:{p}/vroot/subdir/")
        self.assertIn("HTTPAPI_ERROR_ACCESS_DENIED", err)
        self.echo_as(USER_A, f"http://+:{p}/vroot/subdir/", name="A")

    def test_later_reservation_takes_a_subtree(self):
        p = self.port
        self.echo_as("root", f"http://adatum.com:{p}/vroot/", name="root-app")
        self.assertEqual(self.app_at("adatum.com", "/vroot/subdir/file.htm"), "root-app")
        self.httpcfg("urlacl", "add", "--url", f"http://+:{p}/vroot/subdir/", "--user", USER_B)
        r = http(p, path="/vroot/subdir/file.htm", host=f"adatum.com:{p}")
        self.assertEqual(r.status, 503)
        self.echo_as(USER_B, f"http://+:{p}/vroot/subdir/", name="B")
        self.assertEqual(self.app_at("adatum.com", "/vroot/subdir/file.htm"), "B")
        self.assertEqual(self.app_at("adatum.com", "/vroot/other.htm"), "root-app")


class SettingsTest(NamespaceBase):
    """Server-wide limits and timers live in the store and change without a restart."""

    def test_header_wait_changes_live_and_survives_restart(self):
        import json, time
        self.echo_as("root", f"http://+:{self.port}/", name="root-app")
        slow = self.conn(self.port)
        slow.send(b"GET / HTTP/1.1\r\n")  # a head that never completes
        self.httpcfg("set", "setting", "--key", "header_wait_seconds", "--value", "1")
        late = self.conn(self.port)
        late.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        self.assertTrue(late.wait_closed(5), "the 1 s header wait timer did not fire")
        self.wait_log(lambda e: e.s_reason == "Timer_HeaderWait" and
                      e.c_port == str(late.local_port))
        shown = json.loads(self.httpcfg("show", "settings", "--json").stdout)
        self.assertEqual(shown["settings"]["header_wait_seconds"], "1")
        self.assertEqual(self.service.stop(), 0)
        self.service = self.start_service()
        shown = json.loads(self.httpcfg("show", "settings", "--json").stdout)
        self.assertEqual(shown["settings"]["header_wait_seconds"], "1")
        self.httpcfg("delete", "setting", "--key", "header_wait_seconds")
        shown = json.loads(self.httpcfg("show", "settings", "--json").stdout)
        self.assertEqual(shown["settings"]["header_wait_seconds"], "120")

    def test_limit_changes_apply_to_the_next_request(self):
        self.echo_as("root", f"http://+:{self.port}/", name="root-app")
        big = "x" * 3000
        self.assertEqual(http(self.port, path="/", headers=[("X-Big", big)]).status, 200)
        self.httpcfg("set", "setting", "--key", "max_field_length", "--value", "1024")
        r = http(self.port, path="/", headers=[("X-Big", big)])
        self.assertEqual(r.status, 400)
        self.assertIn(b"Header Field Too Long", r.body)

    def test_out_of_range_and_unknown_settings_are_refused(self):
        r = self.httpcfg("set", "setting", "--key", "max_field_length", "--value", "5",
                         check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("between 64 and 65534", r.stderr)
        r = self.httpcfg("set", "setting", "--key", "no_such_thing", "--value", "5", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown setting", r.stderr)
        r = self.httpcfg("set", "setting", "--key", "queue_length", "--value", "1", user=USER_A,
                         check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("only root", r.stderr)


class HttpcfgWithoutServiceTest(unittest.TestCase):

    def test_says_the_service_is_not_running(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([binary("HTTPCFG"), "--state-dir", d, "urlacl", "show"],
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

class MalformedAdminCommands(NamespaceBase):
    """Any local user may open the admin role (show commands need no privilege): a command
    with fields of the wrong type is refused as malformed, and the service goes on."""

    def test_wrong_types_are_refused_and_cost_nothing(self):
        commands = ['{"command": 5}',
                    '{"command": "settings.set", "key": 5, "value": []}',
                    '{"command": "urlacl.add", "url": {"x": 1}}',
                    '{"command": "sslcert.show", "ipport": 7}',
                    '{"command": "upgrade", "binary": 3}',
                    '{"command": "drain", "grace": "soon"}']
        for command in commands:
            for argv in ([binary("HTTPAPI_RAW_ADMIN"), self.control, command],
                         as_user(USER_A, [binary("HTTPAPI_RAW_ADMIN"), self.control, command])):
                r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 0, f"{command}: {r.stderr}")
                status, _, detail = r.stdout.partition(" ")
                self.assertNotEqual(status, "0", f"{command} was accepted: {detail}")
                # INVALID_PARAMETER (1), or ACCESS_DENIED (3) for a command only root may send
                self.assertIn(int(status), (1, 3), f"{command}: {r.stdout}")
        self.assertTrue(self.service.alive(), "httpapid exited")
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "show",
                            "servicestate"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
