#!/usr/bin/env python3
"""Several hosts behind a real HAProxy (issue 15 item 5, docs/scale-out.md).

Network namespaces made (and removed) by the test, nothing configured in the root
namespace: a hub holding a bridge, a client (10.77.0.1), a balancer (10.77.0.2) running
HAProxy with `send-proxy-v2` and `option httpchk` on each host's health URL, and three hosts
(10.77.0.11-13), each its own httpapid (own state directory) with httpapi-echo, the endpoint
HOST:8080 marked for the PROXY protocol trusting only the balancer. The applications talk to
their httpapid over its control socket (a file, reachable from any namespace).

Checked: the applications see the client's real address (`remote`) and the balancer as
`proxied_by`; load spreads over the hosts; `httpcfg drain` on one host under a steady load
loses no request; SIGKILL of one host's httpapid under load fails over, losing at most the
requests in flight on it (counted and printed)."""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Proc, ServiceTestCase, binary, wait_until  # noqa: E402

CLIENT = "10.77.0.1"
BALANCER = "10.77.0.2"
HOSTS = {"h1": "10.77.0.11", "h2": "10.77.0.12", "h3": "10.77.0.13"}
APP_PORT = 8080
HEALTH_PORT = 9181
THREADS = 4
LOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multihost_load.py")

HAPROXY_CONFIG = """\
global
    nbthread 1
    maxconn 2000

defaults
    mode http
    timeout connect 1s
    timeout client 20s
    timeout server 20s
    # A request that could not reach a host, or got nothing back from one that died, goes
    # to another (GETs are safe to send again).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind {balancer}:80
    default_backend hosts

backend hosts
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{servers}
"""

SERVER_LINE = ("    server {name} {address}:{app_port} send-proxy-v2 "
               "check port {health_port} inter 200ms fall 2 rise 2")


def run(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr}")
    return r


@unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0,
                     "needs root: it makes network namespaces (ip netns)")
@unittest.skipUnless(shutil.which("ip"), "needs ip (iproute2)")
@unittest.skipUnless(shutil.which("haproxy"), "needs haproxy (scripts/install-deps.sh)")
class MultiHostTest(ServiceTestCase):
    START_SERVICE = False

    def setUp(self):
        super().setUp()
        self.prefix = f"hx{os.getpid()}"
        self.namespaces = []
        self.hosts = {}
        # Registered after the harness's cleanup, so it runs first: balancer and load go,
        # then the namespaces (processes still inside keep theirs alive until they exit).
        self.addCleanup(self.remove_namespaces)
        self.make_network()
        for name, address in HOSTS.items():
            self.start_host(name, address)
        self.start_balancer()
        wait_until(lambda: len({r[2] for r in self.load(1, threads=2)} - {None}) == 3,
                   timeout=20, interval=0.2, what="HAProxy sending to all three hosts")

    # ---- the network

    def ns(self, role):
        return f"{self.prefix}-{role}"

    def make_network(self):
        hub = self.ns("hub")
        for role in ["hub", "client", "lb"] + list(HOSTS):
            run("ip", "netns", "add", self.ns(role))
            self.namespaces.append(self.ns(role))
            run("ip", "-n", self.ns(role), "link", "set", "lo", "up")
        run("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", hub, "link", "set", "br0", "up")
        for role, address in [("client", CLIENT), ("lb", BALANCER)] + list(HOSTS.items()):
            port = f"p-{role}"
            run("ip", "-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", self.ns(role))
            run("ip", "-n", hub, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", self.ns(role), "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", self.ns(role), "link", "set", "eth0", "up")

    def remove_namespaces(self):
        for ns in self.namespaces:
            run("ip", "netns", "del", ns, check=False)
        left = run("ip", "netns", "list").stdout
        self.assertNotIn(self.prefix, left, "namespaces left behind")

    # ---- the hosts and the balancer

    def in_ns(self, role, *argv):
        return ["ip", "netns", "exec", self.ns(role)] + list(argv)

    def httpcfg(self, name, *args, check=True):
        r = run(binary("HTTPCFG"), "--state-dir", self.hosts[name]["state"], *args, check=False)
        if check:
            self.assertEqual(r.returncode, 0, f"{name}: httpcfg {' '.join(args)}: {r.stderr}")
        return r

    def start_host(self, name, address):
        state = os.path.join(self.tmp, name)
        control = os.path.join(state, "control.sock")
        service = Proc(f"httpapid-{name}",
                       self.in_ns(name, binary("HTTPAPID"), "--state-dir", state,
                                  "--io-threads", "1", "--shutdown-timeout", "5"),
                       dict(os.environ), self.tmp, is_service=True)
        self.procs.append(service)
        wait_until(lambda: os.path.exists(control) or not service.alive(), 15,
                   what=f"{name}'s control socket")
        self.assertTrue(service.alive(), service.stderr())
        self.hosts[name] = {"state": state, "service": service}
        self.httpcfg(name, "iplisten", "add", "--ipport", f"{address}:{APP_PORT}",
                     "--proxy-protocol", "--trusted", f"{BALANCER}/32")
        self.httpcfg(name, "set", "setting", "--key", "health_url", "--value",
                     f"http://+:{HEALTH_PORT}/healthz")
        echo = Proc(f"echo-{name}", [binary("HTTPAPI_ECHO"), "--url",
                                     f"http://+:{APP_PORT}/app/", "--name", name],
                    dict(os.environ, HTTPAPI_CONTROL=control), self.tmp)
        self.procs.append(echo)
        self.assertEqual(echo.read_line(15), b"ready\n", echo.stderr())

    def start_balancer(self):
        servers = "\n".join(SERVER_LINE.format(name=n, address=a, app_port=APP_PORT,
                                               health_port=HEALTH_PORT)
                            for n, a in HOSTS.items())
        config = os.path.join(self.tmp, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(HAPROXY_CONFIG.format(balancer=BALANCER, servers=servers))
        run("haproxy", "-c", "-q", "-f", config)
        self.balancer = Proc("haproxy", self.in_ns("lb", "haproxy", "-db", "-f", config),
                             dict(os.environ), self.tmp)
        self.procs.append(self.balancer)

    # ---- the client

    def start_load(self, seconds, threads=THREADS):
        argv = self.in_ns("client", sys.executable, LOAD, "--host", BALANCER, "--seconds",
                          str(seconds), "--threads", str(threads))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=harness._die_with_parent)

    def finish_load(self, popen):
        out, err = popen.communicate(timeout=60)
        self.assertEqual(popen.returncode, 0, err)
        return json.loads(out)["requests"]

    def load(self, seconds, threads=THREADS):
        return self.finish_load(self.start_load(seconds, threads))

    def report(self, what, requests, since=None):
        failed = [r for r in requests if r[1] != 200]
        by_app = {}
        for r in requests:
            if r[2] and (since is None or r[0] >= since):
                by_app[r[2]] = by_app.get(r[2], 0) + 1
        sys.stderr.write(f"\n[{what}: {len(requests)} requests, {len(failed)} failed "
                         f"{[r[5] or r[1] for r in failed][:5]}, by host"
                         f"{' after the change' if since is not None else ''}: {by_app}] ")
        return failed, by_app

    # ---- the checks

    def test_real_client_address_spread_drain_and_failover(self):
        # 1. The application sees the client, and the balancer as proxied_by.
        requests = self.load(1.5)
        self.assertTrue(requests)
        for r in requests:
            self.assertEqual(r[1], 200, r)
            self.assertEqual(r[3].rsplit(":", 1)[0], CLIENT, r)
            self.assertEqual(r[4].rsplit(":", 1)[0], BALANCER, r)
        # 2. Load spreads over the hosts (round robin: about a third each).
        failed, by_app = self.report("spread", requests)
        self.assertEqual(failed, [])
        self.assertEqual(set(by_app), set(HOSTS))
        for name, count in by_app.items():
            self.assertGreaterEqual(count, len(requests) // 6, by_app)

        # 3. Drain h1 under a steady load: no request lost, h1 out of rotation once its grace
        # period (2 s, ended by a once-a-second timer) is over.
        load = self.start_load(7)
        time.sleep(1.5)
        drained_at = time.monotonic()
        self.httpcfg("h1", "drain", "--grace", "2", "--timeout", "5")
        requests = self.finish_load(load)
        failed, after = self.report("drain h1", requests, since=drained_at + 3.5)
        self.assertEqual(failed, [], "requests lost while draining")
        self.assertNotIn("h1", after, "h1 still served after its grace period")
        self.assertEqual(set(after), {"h2", "h3"})
        def h1_drain():
            return json.loads(self.httpcfg("h1", "show", "servicestate", "--json").stdout)["drain"]
        wait_until(lambda: h1_drain()["state"] == "drained", what="h1 drained")
        self.assertEqual(h1_drain()["closed_at_timeout"], 0)

        # 4. SIGKILL h2's httpapid under load: h3 takes over; at most the requests in flight
        # on h2 at that moment are lost (one per client thread at the very most).
        load = self.start_load(6)
        time.sleep(1.5)
        killed = self.hosts["h2"]["service"]
        killed.is_service = False  # its exit status is the kill's, not a failure
        killed_at = time.monotonic()
        killed.send_signal(harness.signal.SIGKILL)
        killed.wait(10)
        requests = self.finish_load(load)
        failed, after = self.report("kill h2", requests, since=killed_at + 1.0)
        self.assertLessEqual(len(failed), THREADS,
                             f"lost more than the requests in flight: {failed}")
        self.assertEqual(set(after), {"h3"})
        self.assertGreater(after["h3"], 20)


if __name__ == "__main__":
    harness.main()
