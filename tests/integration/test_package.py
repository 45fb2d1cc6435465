"""The Debian packages (scripts/package.sh, issue 14 item 6): built, installed, used, purged.

The packages are installed on this machine with `apt-get install ./*.deb` and purged at the
end, whatever happened: a fresh root (debootstrap, or dpkg --root) would need every
dependency (libc, OpenSSL, SQLite, nghttp2, libseccomp, fmt, adduser) downloaded and
unpacked into it first, minutes more than the build, for nothing the machine does not
already hold. So the test refuses to touch a machine where it could lose something: it
skips when any of the four packages is installed, or when /usr/sbin/httpapid or
/usr/bin/httpcfg exist outside a package; /var/lib/httpapi and /var/log/httpapi, which a
purge removes, are moved aside first and put back after. It needs root (CI runs as root)
and skips otherwise. The maintainer scripts do not start the service where systemd is not
running (here: a container), and /usr/sbin/policy-rc.d, if present, forbids it anyway.

- Installed files: owners and modes, the account, the service's directories (httpapi,
  0750), the SONAME and the exported symbols, pkg-config's answer, the man pages.
- The service started as the unit's ExecStart starts it: the same binary and arguments, as
  the httpapi user with CAP_NET_BIND_SERVICE in its ambient set, no_new_privs and umask
  0077 (User=, AmbientCapabilities=, NoNewPrivileges=, UMask=), with a private runtime
  directory made as RuntimeDirectory= makes it (so as not to take /run/httpapi), and the
  package's /var/lib/httpapi and /var/log/httpapi. examples/hello.c built with
  `cc $(pkg-config --cflags --libs httpapi)` against the installed library registers a URL
  on a port below 1024 and serves curl; the installed httpcfg talks to the service.
- Purge removes every file, the store and the logs; the account stays.

HTTPAPI_PACKAGES=DIR uses the .debs already built there (scripts/package.sh --out DIR; ctest's
fixture `integration_packages` does it once for this test and test_systemd.py) instead of
building them (about 3 minutes of the 2 cores; debian_packages.py).
"""

import grp
import gzip
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import debian_packages
from debian_packages import PACKAGES
from harness import REPO, Proc, curl, free_privileged_port, wait_until

SERVICE_USER = "httpapi"
CAP_NET_BIND_SERVICE = 1 << 10
UNIT = "/lib/systemd/system/httpapid.service"
STATE_DIRS = ("/var/lib/httpapi", "/var/log/httpapi")


def run(argv, timeout=120, check=True, **kwargs):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({r.returncode}):\n"
                             f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def installed(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True,
                       text=True)
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout



def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def exec_start(unit_path):
    """The ExecStart= command of a unit file, as words."""
    with open(unit_path) as f:
        for line in f:
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):].split()
    raise AssertionError(f"{unit_path} has no ExecStart=")


class Packages(unittest.TestCase):
    """One installation for the whole class; the methods run in their numbered order."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: the packages are installed on this machine "
                                    "with apt-get and purged after (CI runs as root)")
        for package in PACKAGES:
            if installed(package):
                raise unittest.SkipTest(f"{package} is installed on this machine: the test "
                                        "would purge it; remove it first")
        for path in ("/usr/sbin/httpapid", "/usr/bin/httpcfg"):
            if os.path.exists(path):
                raise unittest.SkipTest(f"{path} exists outside a package (installed by "
                                        "hand?): the package would replace it")
        cls.version = debian_packages.project_version()
        cls.tmp = tempfile.mkdtemp(prefix="httpapi-pkg-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        os.chmod(cls.tmp, 0o755)  # the service, as httpapi, reaches its runtime dir inside
        cls.debs = debian_packages.find_or_build(cls.tmp)
        cls.account_existed = cls.user_exists()
        cls.saved = cls.move_state_aside()
        cls.addClassCleanup(cls.restore_machine)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        started = time.monotonic()
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
             "-o", "DPkg::Lock::Timeout=300"] + cls.debs, timeout=600, env=env)
        sys.stderr.write(f"\n[installed {len(cls.debs)} packages in "
                         f"{time.monotonic() - started:.0f} s; the {SERVICE_USER} account "
                         f"{'existed' if cls.account_existed else 'was made by postinst'}] ")

    @staticmethod
    def user_exists():
        try:
            pwd.getpwnam(SERVICE_USER)
            return True
        except KeyError:
            return False

    @classmethod
    def move_state_aside(cls):
        saved = {}
        for path in STATE_DIRS:
            if os.path.lexists(path):
                aside = f"{path}.before-test-{os.getpid()}"
                os.rename(path, aside)
                saved[path] = aside
        return saved

    @classmethod
    def restore_machine(cls):
        still = [p for p in PACKAGES if installed(p)]
        if still:
            subprocess.run(["dpkg", "--purge"] + still, capture_output=True, timeout=300)
        for path, aside in cls.saved.items():
            shutil.rmtree(path, ignore_errors=True)
            os.rename(aside, path)

    # -- 1: what is installed

    def assert_file(self, path, mode, user="root", group="root", kind=stat.S_IFREG):
        st = os.lstat(path)
        self.assertEqual(stat.S_IFMT(st.st_mode), kind, path)
        self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(mode), path)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, user, path)
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, group, path)

    def test_1_files_owners_and_modes(self):
        multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
        lib = f"/usr/lib/{multiarch}"
        self.assert_file("/usr/sbin/httpapid", 0o755)
        self.assert_file("/usr/bin/httpcfg", 0o755)
        self.assert_file(UNIT, 0o644)
        self.assert_file("/usr/lib/sysusers.d/httpapi.conf", 0o644)
        self.assert_file(f"{lib}/libhttpapi.so.{self.version}", 0o644)
        self.assert_file(f"{lib}/pkgconfig/httpapi.pc", 0o644)
        self.assert_file("/usr/include/httpapi/httpapi.h", 0o644)
        self.assert_file("/usr/include/httpapi/httpapi.hpp", 0o644)
        self.assert_file("/usr/share/man/man8/httpapid.8.gz", 0o644)
        self.assert_file("/usr/share/man/man8/httpcfg.8.gz", 0o644)
        self.assert_file("/usr/share/bash-completion/completions/httpcfg", 0o644)
        self.assert_file("/usr/share/doc/httpapid/operations.md", 0o644)
        self.assertEqual(os.readlink(f"{lib}/libhttpapi.so.1"), f"libhttpapi.so.{self.version}")
        self.assertEqual(os.readlink(f"{lib}/libhttpapi.so"), "libhttpapi.so.1")
        # The service's places: the account's, closed to others.
        for path in STATE_DIRS:
            self.assert_file(path, 0o750, SERVICE_USER, SERVICE_USER, stat.S_IFDIR)
        account = pwd.getpwnam(SERVICE_USER)
        self.assertLess(account.pw_uid, 1000, "a system account")
        self.assertEqual(account.pw_shell, "/usr/sbin/nologin")
        # Nothing a package put under /usr, /lib or /etc belongs to anyone but root or is
        # writable by anyone else.
        listed = run(["dpkg", "-L"] + list(PACKAGES)).stdout.split()
        self.assertGreater(len(listed), 20)
        for path in listed:
            st = os.lstat(path)
            self.assertEqual((st.st_uid, st.st_gid), (0, 0), path)
            if not stat.S_ISLNK(st.st_mode):
                self.assertEqual(st.st_mode & 0o022, 0, f"{path} is group/world writable")
        # The library: its SONAME, and httpapi.h's functions as its only exports.
        dynamic = run(["readelf", "-d", f"{lib}/libhttpapi.so.1"]).stdout
        self.assertIn("Library soname: [libhttpapi.so.1]", dynamic)
        exports = run(["nm", "-D", "--defined-only", f"{lib}/libhttpapi.so.1"]).stdout.split("\n")
        names = [line.split()[-1] for line in exports if line.strip()]
        self.assertIn("httpapi_initialize@@HTTPAPI_1", names)
        self.assertEqual([n for n in names if not n.startswith(("httpapi_", "HTTPAPI_1"))], [])
        self.assertEqual(run(["pkg-config", "--modversion", "httpapi"]).stdout.strip(),
                         self.version)
        # Every option httpapid accepts is in its man page.
        with gzip.open("/usr/share/man/man8/httpapid.8.gz", "rt") as f:
            page = f.read().replace("\\-", "-")
        options = set(re.findall(r"(--[a-z][a-z-]+)", run(["/usr/sbin/httpapid", "--help"])
                                 .stdout)) - {"--help"}
        self.assertGreater(len(options), 10)
        self.assertEqual(sorted(o for o in options if o not in page), [],
                         "options missing from httpapid(8) (src/daemon/httpapid.8.in)")
        # The unit the package installed is the one systemd-analyze rates in test_privilege.
        with open(UNIT) as f, open(os.path.join(REPO, "dist", "systemd",
                                                "httpapid.service")) as g:
            self.assertEqual(f.read(), g.read())

    # -- 2: the service as the unit runs it, and an application built against the packages

    def test_2_service_as_its_unit_starts_it_serves_hello(self):
        runtime = os.path.join(self.tmp, "run")  # RuntimeDirectory=httpapi, mode 0755
        account = pwd.getpwnam(SERVICE_USER)
        os.mkdir(runtime, 0o755)
        os.chown(runtime, account.pw_uid, account.pw_gid)
        command = exec_start(UNIT)
        self.assertEqual(command[0], "/usr/sbin/httpapid")
        # User=httpapi, AmbientCapabilities= and CapabilityBoundingSet=CAP_NET_BIND_SERVICE,
        # NoNewPrivileges=yes, UMask=0077 (set before the exec, inherited through setpriv).
        argv = ["sh", "-c", 'umask 0077 && exec "$@"', "umask",
                "setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}",
                "--init-groups", "--inh-caps=-all,+net_bind_service",
                "--ambient-caps=-all,+net_bind_service", "--bounding-set=-all,+net_bind_service",
                "--no-new-privs", "--"] + command + ["--runtime-dir", runtime]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        service = Proc("httpapid", argv, env, self.tmp, is_service=True)
        self.addCleanup(service.release)
        control = os.path.join(runtime, "control.sock")

        def ready():
            if not service.alive():
                raise AssertionError(f"httpapid exited with {service.popen.returncode}: "
                                     f"{service.stderr()[-3000:]}")
            return os.path.exists(control)
        wait_until(ready, 20, what="the packaged httpapid's control socket")
        status = proc_status(service.pid)
        self.assertEqual(status["Uid"].split(), [str(account.pw_uid)] * 4)
        self.assertEqual(int(status["CapEff"], 16), CAP_NET_BIND_SERVICE)
        self.assertEqual(int(status["CapAmb"], 16), 0, "httpapid clears the ambient set")
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual(status["Seccomp"], "2", "the unit's --seccomp")
        # The store and the error log in the package's directories, the service's own.
        for path in ("/var/lib/httpapi/config.db", "/var/log/httpapi/httperr1.log"):
            wait_until(lambda p=path: os.path.exists(p), what=path)
            self.assertEqual(pwd.getpwuid(os.stat(path).st_uid).pw_name, SERVICE_USER, path)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o007, 0,
                             f"{path} is open to others")

        # An application built the way a user builds one, against the installed packages
        # only: no build tree on the command line, no PKG_CONFIG_PATH.
        hello = os.path.join(self.tmp, "hello")
        build_env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
        run(["sh", "-c", f"cc -o {hello} {REPO}/examples/hello.c "
                         "$(pkg-config --cflags --libs httpapi)"], env=build_env)
        linked = run(["ldd", hello]).stdout
        # /lib is /usr/lib on Debian 12 (merged /usr), and ld.so may name either.
        self.assertRegex(linked, r"libhttpapi\.so\.1 => (/usr)?/lib/[^ ]+/libhttpapi\.so\.1")
        port = free_privileged_port(range(700, 1024))  # not 80: test_privilege.py tries it first
        app_env = {"PATH": env["PATH"], "HTTPAPI_CONTROL": control}
        app = Proc("hello", [hello, f"http://+:{port}/hello/"], app_env, self.tmp)
        self.addCleanup(app.release)
        line = app.read_line(15)
        self.assertEqual(line, b"ready\n", app.stderr())
        r = curl("-i", f"http://127.0.0.1:{port}/hello/world")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b" 200 ", r.stdout.split(b"\r\n")[0])
        self.assertTrue(r.stdout.endswith(b"Hello, World!"), r.stdout)
        state = run(["/usr/bin/httpcfg", "--state-dir", runtime, "show", "servicestate"]).stdout
        self.assertIn(f"http://+:{port}/hello/", state)
        sys.stderr.write(f"\n[packaged httpapid as {SERVICE_USER} (CapEff "
                         f"{status['CapEff']}) served hello on port {port}] ")

        self.assertEqual(app.stop(signal.SIGTERM, 5), -signal.SIGTERM)
        self.assertEqual(service.stop(signal.SIGTERM, 20), 0, service.stderr()[-3000:])

    # -- 9: purge

    def test_9_purge_leaves_nothing_but_the_account(self):
        files = [p for p in run(["dpkg", "-L"] + list(PACKAGES)).stdout.split()
                 if os.path.isfile(p)]
        run(["dpkg", "--purge"] + list(PACKAGES), timeout=300)
        self.assertEqual([p for p in PACKAGES if installed(p)], [])
        self.assertEqual([p for p in files if os.path.lexists(p)], [])
        self.assertEqual([p for p in STATE_DIRS if os.path.lexists(p)], [])
        self.assertTrue(self.user_exists(), "the account stays (Debian policy)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
