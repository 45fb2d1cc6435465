"""httpcfg upgrade of httpapid started as the systemd unit starts it (issue 15 item 4 under the
shipped unit): `httpapid --user httpapi --seccomp`, run as the httpapi user with
CAP_NET_BIND_SERVICE in its ambient set, that capability alone in its bounding set and
no_new_privs (setpriv, as test_package.py runs the unit's ExecStart). The filter forbids
execve to the service, so the new process is started by its spawner
(src/daemon/control/spawner.hpp), a process forked before the filter:

- the spawner: not filtered (Seccomp: 0), the service's user, CAP_NET_BIND_SERVICE in its
  ambient set and not effective, only its socket and the standard streams open;
- an upgrade under a load of keep-alive and new connections: no refused connection, no failed
  request, the old process exits 0; the new one has the old one's user, capabilities
  (effective, permitted, inheritable, ambient, bounding), no_new_privs and filter, and binds a
  port below 1024 first registered after the upgrade; a second upgrade from it works too;
- a binary that is missing or exits at once is refused with the reason, and the service keeps
  serving;
- each spawner ends with its service: none is left in /proc;
- what systemd hears on NOTIFY_SOCKET with the unit's NotifyAccess=main (the main PID only):
  the old process, still the main PID, names the new one (MAINPID=), and the new one then
  sends the watchdog's pings (WATCHDOG_PID, the old PID, is not passed on).

Needs root (to start the service as httpapi with the capability) and the httpapi account;
skips otherwise."""

import json
import os
import pwd
import signal
import socket
import struct
import time
import unittest

from harness import (Proc, ServiceTestCase, binary, curl, free_privileged_port, sanitizer_build,
                     wait_until)
from test_upgrade import Load, Upgrading, wait_reaped

SERVICE_USER = "httpapi"
CAP_NET_BIND_SERVICE = 1 << 10
# What must be the same in the new process as in the old one (/proc/PID/status).
INHERITED = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
             "NoNewPrivs", "Seccomp")


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)



def gone(pid):
    """No process `pid` any more; a spawner that outlived its service was reparented here
    (a subreaper), so its zombie is reaped first."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return not os.path.exists(f"/proc/{pid}")


class NotifySocket:
    """A NOTIFY_SOCKET as systemd's: each datagram with its sender's PID (SO_PASSCRED)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(path)
        os.chmod(path, 0o777)  # the service, as httpapi, connects to it

    def receive(self, timeout):
        """(sender PID, text), or None after `timeout` seconds."""
        self.sock.settimeout(max(timeout, 0.01))
        try:
            data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        sender = next(struct.unpack("iII", payload[:12])[0]
                      for level, kind, payload in ancillary
                      if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS)
        return sender, data.decode()


class UnitUpgrade(Upgrading, ServiceTestCase):
    START_SERVICE = False
    IO_THREADS = 2

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: the service is started as the httpapi user "
                                    "with CAP_NET_BIND_SERVICE (CI runs as root)")
        try:
            cls.account = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise unittest.SkipTest(f"no {SERVICE_USER} account (scripts/install-deps.sh "
                                    "makes it)") from None
        if sanitizer_build():
            raise unittest.SkipTest("a sanitizer build: the unit's --seccomp refuses the "
                                    "ptrace LeakSanitizer needs at exit (test_privilege.py too)")

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # the service, as httpapi, reaches its state dir inside
        os.mkdir(self.state_dir, 0o750)  # made by systemd (StateDirectory=) under the unit
        os.chown(self.state_dir, self.account.pw_uid, self.account.pw_gid)

    def start_as_unit(self, env=None):
        # WATCHDOG_PID as systemd sets it: the service's PID (the shell's, which it execs).
        argv = ["sh", "-c", 'export WATCHDOG_PID=$$ && exec "$@"', "sh",
                "setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--init-groups",
                "--inh-caps=-all,+net_bind_service",
                "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service", "--no-new-privs", "--",
                binary("HTTPAPID"), "--user", SERVICE_USER, "--seccomp",
                "--state-dir", self.state_dir, "--io-threads", str(self.IO_THREADS),
                "--shutdown-timeout", str(self.SHUTDOWN_TIMEOUT)]
        proc = Proc("httpapid", argv, env or dict(os.environ), self.tmp, is_service=True)
        self.procs.append(proc)
        self.service = proc

        def ready():
            if not proc.alive():
                raise AssertionError(f"httpapid exited with {proc.popen.returncode}: "
                                     f"{proc.stderr()[-3000:]}")
            return os.path.exists(self.control)
        wait_until(ready, 15, what="the control socket of httpapid as its unit starts it")
        status = proc_status(proc.pid)
        self.assertEqual(status["Uid"].split(), [str(self.account.pw_uid)] * 4)
        self.assertEqual(status["Seccomp"], "2")
        return proc

    def spawner_of(self, service_pid):
        """The spawner of the running httpapid `service_pid`, checked from /proc: its PID."""
        state = self.state()["upgrade"]
        self.assertEqual(state["pid"], service_pid)
        pid = state["spawner_pid"]
        status = proc_status(pid)
        self.assertEqual(int(status["PPid"]), service_pid)
        self.assertEqual(status["Seccomp"], "0", "forked before the filter")
        self.assertEqual(status["Uid"].split(), [str(self.account.pw_uid)] * 4)
        self.assertEqual(int(status["CapAmb"], 16), CAP_NET_BIND_SERVICE)
        self.assertEqual(int(status["CapPrm"], 16), CAP_NET_BIND_SERVICE)
        self.assertEqual(int(status["CapEff"], 16), 0)
        self.assertEqual(status["NoNewPrivs"], "1")
        descriptors = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
        self.assertEqual(descriptors, [0, 1, 2, 3], "the standard streams and its socket")
        self.assertTrue(os.readlink(f"/proc/{pid}/fd/3").startswith("socket:"))
        with open(f"/proc/{pid}/comm") as f:
            self.assertEqual(f.read().strip(), "httpapid-spawn")
        return pid

    def test_upgrades_under_load_keep_user_capabilities_and_filter(self):
        old_pid = self.start_as_unit().pid
        before = proc_status(old_pid)
        first_spawner = self.spawner_of(old_pid)
        self.start_echo(f"http://+:{self.port}/u/", name="U")
        self.served_by("/u/warm", "U")
        load = Load(self.port, "/u/")
        load.start()
        try:
            wait_until(lambda: load.total() > 20, 15, what="the load running")
            during_start = load.total()
            old, new = self.upgrade()
            self.served_by("/u/after", "U")
            during = load.total() - during_start
        finally:
            load.stop()
        print(f"\n[upgrade as the unit: requests during the upgrade: {during}, total "
              f"{load.total()}, refused connections: {load.refused}, failed requests: "
              f"{load.failed}]", flush=True)
        self.assertEqual(load.refused, 0, load.failures)
        self.assertEqual(load.failed, 0, load.failures)
        self.assertGreater(during, 20, "too little load during the upgrade to mean anything")
        self.assertEqual(old, old_pid)
        after = proc_status(new)
        self.assertEqual({k: after[k] for k in INHERITED}, {k: before[k] for k in INHERITED})
        self.assertEqual(int(after["CapEff"], 16), CAP_NET_BIND_SERVICE)
        wait_until(lambda: gone(first_spawner), 10, what="the old process's spawner gone")
        second_spawner = self.spawner_of(new)

        # A port below 1024 that no process held before: the new process binds it itself.
        # From the top: test_privilege.py tries 80 and up.
        low = free_privileged_port(range(1023, 900, -1))
        self.start_echo(f"http://+:{low}/low/", name="L")
        r = curl("-sS", f"http://127.0.0.1:{low}/low/x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["app"], "L")

        # Again, from the process the first upgrade started.
        old, newer = self.upgrade()
        self.assertEqual(old, new)
        self.served_by("/u/twice", "U")
        wait_until(lambda: gone(second_spawner), 10, what="the second spawner gone")
        last_spawner = self.spawner_of(newer)
        self.assertEqual({k: proc_status(newer)[k] for k in INHERITED},
                         {k: before[k] for k in INHERITED})

        # It stops: its spawner with it.
        os.kill(newer, signal.SIGTERM)
        self.assertEqual(wait_reaped(newer, self.SHUTDOWN_TIMEOUT + 15), 0)
        self.new_pids.remove(newer)
        wait_until(lambda: gone(last_spawner), 10, what="the last spawner gone")

    def test_a_binary_that_fails_is_refused_and_the_service_keeps_serving(self):
        self.start_as_unit()
        self.start_echo(f"http://+:{self.port}/f/", name="F")
        pid = self.service.pid
        spawner = self.spawner_of(pid)
        self.refuse_missing_and_failing_binaries()
        self.assertIn("failing-httpapid: refusing to start", self.service.stderr())
        self.served_by("/f/still", "F")
        self.assertTrue(self.service.alive())
        state = self.state()["upgrade"]
        self.assertEqual((state["pid"], state["in_progress"]), (pid, False))
        self.assertNotIn("seccomp allow-list", self.service.stderr())
        self.assertEqual(self.spawner_of(pid), spawner, "the same spawner serves on")
        # It stops: no spawner left.
        self.assertEqual(self.service.stop(signal.SIGTERM, self.SHUTDOWN_TIMEOUT + 15), 0)
        wait_until(lambda: gone(spawner), 10, what="the spawner gone with its service")

    def test_systemd_hears_the_new_main_pid_from_the_old_one(self):
        notify = NotifySocket(os.path.join(self.tmp, "notify.sock"))
        self.addCleanup(notify.sock.close)
        service = self.start_as_unit(dict(os.environ, NOTIFY_SOCKET=notify.path,
                                          WATCHDOG_USEC="2000000"))
        old, new = self.upgrade()
        # As systemd with NotifyAccess=main: only the main PID's messages count, and its
        # MAINPID= makes another PID the main one.
        main = service.pid
        heard = []
        deadline = time.monotonic() + 15
        while not any(sender == new and "WATCHDOG=1" in text.split("\n")
                      for sender, text in heard):
            message = notify.receive(deadline - time.monotonic())
            self.assertIsNotNone(message, f"no WATCHDOG=1 from the new main PID {new} within "
                                          f"15 s; heard (from the main PID): {heard}")
            sender, text = message
            if sender != main:
                continue
            heard.append(message)
            for line in text.split("\n"):
                if line.startswith("MAINPID="):
                    main = int(line[len("MAINPID="):])
        self.assertEqual(old, service.pid)
        self.assertIn((old, f"MAINPID={new}"), heard)
        self.assertTrue(any(sender == old and "READY=1" in text.split("\n")
                            for sender, text in heard), heard)
        self.assertEqual(main, new)


if __name__ == "__main__":
    unittest.main(verbosity=2)
