"""Certificate bindings (issue 12 item 1) through the real httpcfg and httpapid: httpcfg reads
the PEM files and sends their contents, the service checks them and keeps them in its store.
Add, show (human and --json, compared with what `openssl x509` says of the same files),
update, delete; bindings survive a restart; the store is mode 0600; keys never appear in
show's output nor in the service's logs; and every refusal is one line that changes nothing.

Certificates are made with the openssl command line in the test's directory; the expired
and not-yet-valid ones with `openssl ca -startdate/-enddate` (OpenSSL 3.0's `req -x509`
cannot date a certificate in the past).
"""

import json
import os
import re
import stat
import subprocess

from harness import ServiceTestCase, binary, main


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {r.stderr}")
    return r.stdout


CA_CONFIG = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = any_name
email_in_dn = no
copy_extensions = copy
unique_subject = no
[ any_name ]
commonName = supplied
organizationName = optional
"""


class Certificates:
    """Keys and certificates in `directory`, made once per test."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(os.path.join(directory, "issued"))
        open(os.path.join(directory, "index.txt"), "w").close()
        with open(os.path.join(directory, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(directory, "ca.cnf"), "w") as f:
            f.write(CA_CONFIG.format(dir=directory))
        # The CA (for chains, dated certificates and --ca).
        self.self_signed("ca", "ec", "/O=Test/CN=Test CA", ca=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args):
        return openssl(*args, cwd=self.dir)

    def key(self, name, kind):
        if kind == "rsa":
            self.run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                     "-out", f"{name}.key")
        else:
            self.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", f"{name}.key")
        return self.path(f"{name}.key")

    def self_signed(self, name, kind, subject, sans=(), ca=False):
        self.key(name, kind)
        args = ["req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.pem",
                "-days", "30", "-subj", subject]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans)]
        if ca:
            args += ["-addext", "basicConstraints=critical,CA:TRUE"]
        self.run(*args)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")

    def issued(self, name, kind, subject, start=None, end=None):
        """A certificate signed by the test CA, with explicit dates when given
        (YYYYMMDDHHMMSSZ)."""
        self.key(name, kind)
        self.run("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        args = ["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                "-in", f"{name}.csr", "-out", f"{name}.pem", "-notext"]
        args += ["-startdate", start] if start else []
        args += ["-enddate", end] if end else ["-days", "30"]
        self.run(*args)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")

    def fingerprint(self, pem_path):
        out = self.run("x509", "-noout", "-fingerprint", "-sha256", "-in", pem_path)
        return out.strip().split("=", 1)[1].replace(":", "").lower()

    def subject(self, pem_path):
        out = self.run("x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", pem_path)
        return out.strip().split("=", 1)[1]


def read_text(path):
    with open(path) as f:
        return f.read()


def key_body_lines(key_path):
    """The base64 lines of a PEM key: none of them may ever be shown or logged."""
    with open(key_path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("-----")]


class SslcertTest(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.certs = Certificates(os.path.join(self.tmp, "certs"))
        self.ec_pem, self.ec_key = self.certs.self_signed(
            "ec", "ec", "/O=Example/CN=www.example.com", sans=("www.example.com", "example.com"))
        self.rsa_pem, self.rsa_key = self.certs.self_signed("rsa", "rsa", "/CN=rsa.example.com")

    def httpcfg(self, *args):
        return subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir] + list(args),
                              capture_output=True, text=True, timeout=30)

    def ok(self, *args):
        r = self.httpcfg(*args)
        self.assertEqual(r.returncode, 0, f"httpcfg {' '.join(args)}: {r.stderr}")
        self.assertEqual(r.stderr, "")
        return r.stdout

    def show_json(self, *args):
        return json.loads(self.ok("sslcert", "show", "--json", *args))["bindings"]

    def refused(self, args, status, *words):
        """Runs a command expected to fail: one error line naming `words`, and no change."""
        before = self.show_json()
        r = self.httpcfg(*args)
        self.assertEqual(r.returncode, status, f"{args}: {r.stdout} {r.stderr}")
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith("httpcfg: "), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual(self.show_json(), before, "a refused command changed the bindings")
        return r.stderr

    def add_ec(self, endpoint="--ipport", where="0.0.0.0:8443"):
        return self.ok("sslcert", "add", endpoint, where, "--cert", self.ec_pem,
                       "--key", self.ec_key)

    # -- round trips

    def test_add_show_update_delete(self):
        out = self.ok("sslcert", "add", "--ipport", "0.0.0.0:8443", "--cert", self.ec_pem,
                      "--key", self.ec_key, "--cert", self.rsa_pem, "--key", self.rsa_key)
        self.assertEqual(out, "SSL certificate successfully added\n")
        [b] = self.show_json()
        self.assertEqual(b["endpoint"], "0.0.0.0:8443")
        self.assertEqual(b["kind"], "ipport")
        ec, rsa = b["certificates"]
        self.assertEqual(ec["subject"], "CN=www.example.com,O=Example")
        self.assertEqual(ec["subject"], self.certs.subject(self.ec_pem))
        self.assertEqual(ec["issuer"], "CN=www.example.com,O=Example")
        self.assertEqual(ec["dns_names"], ["www.example.com", "example.com"])
        self.assertEqual(ec["sha256"], self.certs.fingerprint(self.ec_pem))
        self.assertEqual(ec["key_type"], "ECDSA P-256")
        self.assertEqual(ec["chain_length"], 1)
        self.assertRegex(ec["not_before"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(ec["not_after"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(rsa["subject"], "CN=rsa.example.com")
        self.assertEqual(rsa["sha256"], self.certs.fingerprint(self.rsa_pem))
        self.assertEqual(rsa["key_type"], "RSA 2048")
        self.assertEqual((b["client_cert"], b["ca_certificates"], b["min_tls"],
                          b["disable_http2"], b["disable_session_id"]),
                         ("none", 0, "1.2", False, False))

        human = self.ok("sslcert", "show")
        self.assertIn("IP:port              : 0.0.0.0:8443", human)
        self.assertIn("CN=www.example.com,O=Example", human)
        self.assertIn(self.certs.fingerprint(self.ec_pem), human)
        self.assertIn("www.example.com, example.com", human)
        self.assertIn("RSA 2048", human)

        # update replaces the whole binding: one certificate now, and the options.
        leaf_pem, leaf_key = self.certs.issued("leaf", "rsa", "/CN=api.example.com")
        chain = self.certs.path("chain.pem")
        with open(chain, "w") as f:
            f.write(read_text(leaf_pem) + read_text(self.certs.path("ca.pem")))
        out = self.ok("sslcert", "update", "--ipport", "0.0.0.0:8443", "--cert", chain,
                      "--key", leaf_key, "--clientcert", "require", "--ca",
                      self.certs.path("ca.pem"), "--min-tls", "1.3", "--disablehttp2",
                      "--disablesessionid")
        self.assertEqual(out, "SSL certificate successfully updated\n")
        [b] = self.show_json("--ipport", "0.0.0.0:8443")
        [leaf] = b["certificates"]
        self.assertEqual(leaf["subject"], "CN=api.example.com")
        self.assertEqual(leaf["issuer"], "CN=Test CA,O=Test")
        self.assertEqual(leaf["chain_length"], 2)
        self.assertEqual(leaf["sha256"], self.certs.fingerprint(leaf_pem))
        self.assertEqual((b["client_cert"], b["ca_certificates"], b["min_tls"],
                          b["disable_http2"], b["disable_session_id"]),
                         ("require", 1, "1.3", True, True))

        self.assertEqual(self.ok("sslcert", "delete", "--ipport", "0.0.0.0:8443"),
                         "SSL certificate successfully deleted\n")
        self.assertEqual(self.show_json(), [])
        self.assertEqual(self.ok("sslcert", "show"), "No SSL certificate bindings.\n")

    def test_endpoint_forms_and_filters(self):
        self.add_ec("--ipport", "[::]:8443")
        self.add_ec("--ipport", "[0:0::1]:8443")
        self.add_ec("--hostnameport", "*.Example.COM:8443")
        self.add_ec("--hostnameport", "WWW.example.com:8443")
        self.add_ec("--ipport", "0.0.0.0:9443")
        endpoints = sorted(b["endpoint"] for b in self.show_json())
        self.assertEqual(endpoints, sorted(["[::]:8443", "[::1]:8443", "*.example.com:8443",
                                            "www.example.com:8443", "0.0.0.0:9443"]))
        [b] = self.show_json("--hostnameport", "*.example.com:8443")
        self.assertEqual(b["kind"], "hostnameport")
        self.assertIn("Hostname:port        : www.example.com:8443",
                      self.ok("sslcert", "show", "--hostnameport", "www.example.com:8443"))
        # The same text in another spelling names the same binding.
        self.ok("sslcert", "delete", "--ipport", "[::0001]:8443")
        self.ok("sslcert", "delete", "--hostnameport", "www.EXAMPLE.com:8443")
        self.assertEqual(len(self.show_json()), 3)
        r = self.httpcfg("sslcert", "show", "--ipport", "127.0.0.1:8443")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no certificate binding for 127.0.0.1:8443", r.stderr)

    def test_bindings_survive_a_restart(self):
        self.ok("sslcert", "add", "--hostnameport", "www.example.com:8443", "--cert",
                self.ec_pem, "--key", self.ec_key, "--cert", self.rsa_pem, "--key",
                self.rsa_key, "--min-tls", "1.3")
        before = self.show_json()
        self.assertEqual(self.service.stop(), 0)
        self.service = self.start_service()
        self.assertEqual(self.show_json(), before)
        self.assertEqual(before[0]["min_tls"], "1.3")
        self.assertEqual(len(before[0]["certificates"]), 2)

    def test_store_is_private_and_keys_are_never_shown_nor_logged(self):
        self.ok("sslcert", "add", "--ipport", "0.0.0.0:8443", "--cert", self.ec_pem, "--key",
                self.ec_key, "--cert", self.rsa_pem, "--key", self.rsa_key)
        # A refused command that carried a key must not log it either.
        self.httpcfg("sslcert", "add", "--ipport", "0.0.0.0:8443", "--cert", self.ec_pem,
                     "--key", self.ec_key)
        self.httpcfg("sslcert", "add", "--ipport", "0.0.0.0:9443", "--cert", self.ec_pem,
                     "--key", self.rsa_key)
        store = os.path.join(self.state_dir, "config.db")
        for name in (store, store + "-wal", store + "-shm"):
            self.assertTrue(os.path.exists(name), name)
            self.assertEqual(stat.S_IMODE(os.stat(name).st_mode), 0o600, name)
        secret_lines = key_body_lines(self.ec_key) + key_body_lines(self.rsa_key)
        self.assertGreater(len(secret_lines), 4)
        shown = (self.ok("sslcert", "show") + self.ok("sslcert", "show", "--json") +
                 self.ok("show", "servicestate", "--json"))
        self.assertNotIn("PRIVATE KEY", shown)
        self.assertNotIn("BEGIN CERTIFICATE", shown)
        self.service.stop()
        logs = self.service.stderr()
        log_dir = os.path.join(self.state_dir, "logs")
        for name in os.listdir(log_dir):
            with open(os.path.join(log_dir, name), encoding="latin-1") as f:
                logs += f.read()
        self.assertIn("added the certificate binding 0.0.0.0:8443", logs)
        self.assertIn(self.certs.fingerprint(self.ec_pem), logs)
        for line in secret_lines:
            self.assertNotIn(line, shown)
            self.assertNotIn(line, logs)
        self.assertNotIn("PRIVATE KEY", logs)

    # -- refusals: one line, the reason, nothing changed

    def test_refusals(self):
        self.add_ec("--ipport", "0.0.0.0:8443")
        ec, key = self.ec_pem, self.ec_key
        add = ["sslcert", "add", "--ipport", "0.0.0.0:9443"]

        with self.subTest("missing file"):
            missing = self.certs.path("missing.pem")
            self.refused(add + ["--cert", missing, "--key", key], 2,
                         f"certificate file {missing}", "No such file")
            self.refused(add + ["--cert", ec, "--key", missing], 2, f"key file {missing}")
            self.refused(add + ["--cert", ec, "--key", key, "--clientcert", "require", "--ca",
                                missing], 2, f"CA file {missing}")
        with self.subTest("garbage PEM"):
            garbage = self.certs.path("garbage.pem")
            with open(garbage, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                        "-----END CERTIFICATE-----\n")
            self.refused(add + ["--cert", garbage, "--key", key], 1, "malformed PEM")
            with open(garbage, "w") as f:
                f.write("hello\n")
            self.refused(add + ["--cert", garbage, "--key", key], 1, "no PEM certificate")
            self.refused(add + ["--cert", ec, "--key", garbage], 1, "no PEM private key")
            self.refused(add + ["--cert", key, "--key", ec], 1, "swapped")
        with self.subTest("key mismatch"):
            self.refused(add + ["--cert", ec, "--key", self.rsa_key], 1,
                         "does not match the certificate (CN=www.example.com,O=Example)")
        with self.subTest("expired"):
            old, old_key = self.certs.issued("old", "ec", "/CN=old.example.com",
                                             start="20200101000000Z", end="20200201000000Z")
            self.refused(add + ["--cert", old, "--key", old_key], 1,
                         "expired on 2020-02-01T00:00:00Z", "renew")
        with self.subTest("not yet valid"):
            new, new_key = self.certs.issued("new", "ec", "/CN=new.example.com",
                                             start="20400101000000Z", end="20410101000000Z")
            self.refused(add + ["--cert", new, "--key", new_key], 1,
                         "not valid before 2040-01-01T00:00:00Z")
        with self.subTest("encrypted key"):
            locked = self.certs.path("locked.key")
            self.certs.run("pkey", "-in", key, "-out", locked, "-aes256", "-passout",
                           "pass:secret")
            self.refused(add + ["--cert", ec, "--key", locked], 1, "encrypted",
                         "openssl pkey")
        with self.subTest("duplicate add"):
            self.refused(["sslcert", "add", "--ipport", "0.0.0.0:8443", "--cert", self.rsa_pem,
                          "--key", self.rsa_key], 1, "already", "update")
        with self.subTest("update or delete of a missing binding"):
            self.refused(["sslcert", "update", "--ipport", "0.0.0.0:9443", "--cert", ec,
                          "--key", key], 1, "no certificate binding for 0.0.0.0:9443")
            self.refused(["sslcert", "delete", "--hostnameport", "www.example.com:8443"], 1,
                         "no certificate binding for www.example.com:8443")
        with self.subTest("client certificates without --ca"):
            self.refused(add + ["--cert", ec, "--key", key, "--clientcert", "require"], 1,
                         "--ca")
            self.refused(add + ["--cert", ec, "--key", key, "--clientcert", "request"], 1,
                         "--ca")
            self.refused(add + ["--cert", ec, "--key", key, "--clientcert", "require", "--ca",
                                key], 1, "CA file holds no PEM certificate")
        with self.subTest("bad endpoint text"):
            for option, endpoint, why in (
                    ("--ipport", "::1:9443", "without brackets"),
                    ("--ipport", "1.2.3.4", "has no port"),
                    ("--ipport", "1.2.3.4:70000", "not a port"),
                    ("--ipport", "localhost:9443", "not an IP address"),
                    ("--hostnameport", "a.*.example.com:9443", "whole first label"),
                    ("--hostnameport", "*.com:9443", "at least two labels"),
                    ("--hostnameport", "bad_name.example:9443", "only letters"),
                    ("--hostnameport", "1.2.3.4:9443", "bind an address with --ipport")):
                self.refused(["sslcert", "add", option, endpoint, "--cert", ec, "--key", key],
                             1, why)
        with self.subTest("two certificates of one key type"):
            ec2, ec2_key = self.certs.self_signed("ec2", "ec", "/CN=other.example.com")
            self.refused(add + ["--cert", ec, "--key", key, "--cert", ec2, "--key", ec2_key], 1,
                         "both certificates have ECDSA keys")
            rsa2, rsa2_key = self.certs.self_signed("rsa2", "rsa", "/CN=other.example.com")
            self.refused(add + ["--cert", self.rsa_pem, "--key", self.rsa_key, "--cert", rsa2,
                                "--key", rsa2_key], 1, "both certificates have RSA keys")
        with self.subTest("a bad second pair refuses the whole binding"):
            self.refused(add + ["--cert", ec, "--key", key, "--cert", self.rsa_pem, "--key",
                                key], 1, "second pair", "does not match")
        [b] = self.show_json()
        self.assertEqual(b["endpoint"], "0.0.0.0:8443")


if __name__ == "__main__":
    main()
