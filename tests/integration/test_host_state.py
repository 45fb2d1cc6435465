#!/usr/bin/env python3
"""`httpcfg export` and `httpcfg import` (issue 15, docs/scale-out.md): one host's
reservations, IP listen list, certificate bindings and settings as a JSON document, imported
on a second host (a second httpapid with its own state directory) to make it the same. The
import replaces, applies at once (the imported health URL answers), and a document with any
fault changes nothing."""

import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServiceTestCase, binary, free_port, http, wait_until  # noqa: E402
from test_sslcert import Certificates  # noqa: E402


class HostStateTest(ServiceTestCase):

    def httpcfg(self, *args, check=True, stdin=None):
        r = subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args),
                           capture_output=True, text=True, timeout=30, input=stdin)
        if check:
            self.assertEqual(r.returncode, 0, f"httpcfg {' '.join(args)}: {r.stderr}")
        return r

    def exported(self):
        return json.loads(self.httpcfg("export").stdout)

    def populate(self):
        self.health_port = free_port()
        certs = Certificates(os.path.join(self.tmp, "certs"))
        pem, key = certs.self_signed("srv", "ec", "/CN=www.example.com", sans=["www.example.com"])
        self.httpcfg("urlacl", "add", "--url", "http://+:8080/shop/", "--user", "0")
        self.httpcfg("urlacl", "add", "--url", "http://+:8080/api/", "--user", "0", "--delegate")
        self.httpcfg("iplisten", "add", "--address", "127.0.0.1")
        self.httpcfg("iplisten", "add", "--ipport", "127.0.0.2:8080", "--proxy-protocol",
                     "--trusted", "127.0.0.1/32,10.0.0.0/8")
        self.httpcfg("sslcert", "add", "--ipport", "0.0.0.0:8443", "--cert", pem, "--key", key,
                     "--disablehttp2")
        self.httpcfg("set", "setting", "--key", "max_connections", "--value", "5000")
        self.httpcfg("set", "setting", "--key", "health_url", "--value",
                     f"http://127.0.0.1:{self.health_port}/healthz")

    def test_export_then_import_on_a_second_host(self):
        self.populate()
        path = os.path.join(self.tmp, "state.json")
        self.httpcfg("export", "--file", path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            document = json.load(f)
        self.assertEqual(document["httpapi_host_state"], 1)
        self.assertEqual(sorted(r["url"] for r in document["reservations"]),
                         ["http://+:8080/api/", "http://+:8080/shop/"])
        self.assertEqual(document["listen_addresses"], ["127.0.0.1"])
        self.assertEqual(document["listen_endpoints"],
                         [{"ipport": "127.0.0.2:8080", "proxy_protocol": True,
                           "trusted": "127.0.0.1/32,10.0.0.0/8"}])
        self.assertEqual(len(document["cert_bindings"]), 1)
        self.assertIn("PRIVATE KEY", document["cert_bindings"][0]["certificates"][0]["key"])
        self.assertEqual(document["settings"]["max_connections"], "5000")

        # A second host: its own httpapid and state directory, with something of its own.
        self.service.send_signal(harness.signal.SIGTERM)
        self.assertEqual(self.service.wait(15), 0)
        self.state_dir = os.path.join(self.tmp, "second")
        self.service = self.start_service()
        self.httpcfg("urlacl", "add", "--url", "http://+:9090/mine/", "--user", "0")
        self.httpcfg("set", "setting", "--key", "queue_length", "--value", "10")
        r = self.httpcfg("import", "--file", path)
        self.assertRegex(r.stdout, r"Host state imported: \d+ added, 0 updated, 2 deleted, "
                                   r"0 unchanged")
        self.assertEqual(self.exported(), document)
        # In force at once: the imported health URL answers.
        wait_until(lambda: harness.connect_result(self.health_port) == 0,
                   what="the imported health URL's port")
        self.assertEqual(http(self.health_port, path="/healthz").status, 200)
        # Again: nothing to change. From standard input too.
        with open(path) as f:
            r = self.httpcfg("import", "--file", "-", stdin=f.read())
        self.assertRegex(r.stdout, r"0 added, 0 updated, 0 deleted, \d+ unchanged")

    def test_a_faulty_document_changes_nothing(self):
        self.populate()
        before = self.exported()
        for name, change, reason in (
                ("url", lambda d: d["reservations"].append(
                    {"url": "http://+:80/no-slash", "acl": [{"kind": "user", "id": 0}]}),
                 "reservations[2]"),
                ("acl", lambda d: d["reservations"][0].update(acl=[]), "acl"),
                ("address", lambda d: d["listen_addresses"].append("localhost"),
                 "listen_addresses[1]"),
                ("trusted", lambda d: d["listen_endpoints"][0].update(trusted="10.0.0.0/33"),
                 "listen_endpoints[0]"),
                ("key", lambda d: d["cert_bindings"][0]["certificates"][0].update(key="junk"),
                 "cert_bindings[0]"),
                ("setting", lambda d: d["settings"].update(max_connections="lots"),
                 "settings.max_connections"),
                ("unknown setting", lambda d: d["settings"].update(colour="blue"),
                 "unknown setting"),
                ("version", lambda d: d.update(httpapi_host_state=7), "httpcfg export")):
            document = json.loads(json.dumps(before))
            # Valid changes beside the fault: none of them may happen either.
            document["reservations"] = document["reservations"][1:] + [
                {"url": "http://+:8080/new/", "acl": [{"kind": "user", "id": 0}]}]
            document["settings"]["queue_length"] = "77"
            change(document)
            r = self.httpcfg("import", "--file", "-", stdin=json.dumps(document), check=False)
            self.assertEqual(r.returncode, 1, name)
            self.assertIn(reason, r.stderr, name)
            self.assertIn("nothing was changed", r.stderr, name)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertEqual(self.exported(), before, name)
        r = self.httpcfg("import", "--file", "-", stdin="[1, 2]", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a JSON object", r.stderr)
        r = self.httpcfg("import", "--file", os.path.join(self.tmp, "missing.json"), check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)


if __name__ == "__main__":
    harness.main()
