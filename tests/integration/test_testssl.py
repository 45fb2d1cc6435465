"""Debian's testssl.sh, the auditor's scanner, against a real certificate binding: every
protocol, cipher, forward-secrecy, server-preference and known-vulnerability check it has
(Heartbleed, CCS injection, Ticketbleed, ROBOT, renegotiation, CRIME, BREACH, POODLE,
SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13, RC4). No finding may be rated HIGH or
CRITICAL. The certificate is a proper one (signed by a test CA the scanner is told to
trust, a year of validity, the address in its names, a CRL address), so the findings are
about httpapid's TLS, not about a self-signed test certificate."""

import json
import os
import shutil
import subprocess
import unittest

from harness import ServiceTestCase, binary, free_port
from tls_support import Certs


class TestSsl(ServiceTestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which("testssl"):
            raise AssertionError("testssl (Debian package testssl.sh) is missing: "
                                 "scripts/install-deps.sh installs it")

    def test_no_high_or_critical_finding(self):
        port = free_port()
        certs = Certs(os.path.join(self.tmp, "certs"))
        ca = certs.ca()
        leaf = certs.signed("server", "127.0.0.1", ca, sans=("localhost",), days=365,
                            extra=("subjectAltName=DNS:localhost,IP:127.0.0.1",
                                   "crlDistributionPoints=URI:http://127.0.0.1/test.crl"))
        subprocess.run([binary("HTTPCFG"), "--state-dir", self.state_dir, "sslcert", "add",
                        "--ipport", f"0.0.0.0:{port}", "--cert", leaf[0], "--key", leaf[1]],
                       check=True, capture_output=True, timeout=20)
        self.start_echo(f"https://+:{port}/")
        report = os.path.join(self.tmp, "testssl.json")
        run = subprocess.run(
            ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--ip", "one",
             "--add-ca", ca[0], "--jsonfile", report, "-p", "-s", "-f", "-P", "-S", "-U",
             f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=600)
        self.assertTrue(os.path.exists(report), run.stdout[-3000:] + run.stderr[-3000:])
        with open(report) as f:
            findings = json.load(f)
        by_id = {f["id"]: f for f in findings}
        serious = [f"{f['id']}: {f['finding']}" for f in findings
                   if f.get("severity") in ("HIGH", "CRITICAL")]
        self.assertEqual(serious, [], run.stdout[-4000:])
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertIn("not offered", by_id[old]["finding"], old)
        self.assertEqual(by_id["TLS1_2"]["finding"], "offered")
        self.assertTrue(by_id["TLS1_3"]["finding"].startswith("offered"))
        for vulnerability in ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
                              "secure_client_renego", "CRIME_TLS", "POODLE_SSL", "SWEET32",
                              "FREAK", "LOGJAM", "BEAST", "LUCKY13", "RC4"):
            self.assertIn(by_id[vulnerability]["severity"], ("OK", "INFO"),
                          f"{vulnerability}: {by_id[vulnerability]}")
        print(f"testssl: {len(findings)} findings, "
              f"{sum(1 for f in findings if f.get('severity') == 'OK')} OK, "
              f"{sum(1 for f in findings if f.get('severity') in ('LOW', 'MEDIUM'))} LOW/MEDIUM:"
              + "".join(f"\n  {f['id']} {f['severity']}: {f['finding']}" for f in findings
                        if f.get("severity") in ("LOW", "MEDIUM", "WARN")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
