"""This machine's own OS booted in a container with systemd as PID 1, for tests that need a real
service manager (test_systemd.py): systemd-nspawn --boot --private-network on the host's /
under a throwaway overlay.

- The root is the host's /, read-only under an overlayfs whose upper layer is a tmpfs: what
  the container installs, deletes or writes lands in memory and goes with the container. No
  image is built or downloaded, so it boots in seconds with exactly the libraries the
  packages were built against (their dependencies are the host's, already installed).
  nspawn's own --volatile=overlay would do this, but systemd 252 refuses it for / ("Spawning
  container on root directory is not supported"), and --ephemeral would copy the whole root
  on a file system without snapshots; so the overlay is mounted here, in a mount namespace
  of its own (unshare), where nothing of it shows on the host and it vanishes with nspawn.
- Its own network namespace (loopback only), UTS, IPC, PID and mount namespaces, and the
  unified cgroup hierarchy (cgroup2) whatever the host mounts, as on a Debian 12 server (on
  a host with the hybrid layout, as this one, nspawn would otherwise hand the container the
  v1 controllers, read-only). One thing no nspawn container has: bpf() is refused inside,
  so its systemd enforces no DevicePolicy= and no IP firewall (it says so at debug level:
  "BPF device control is not supported: Operation not permitted").
- It boots basic.target, not the host's default: the services enabled on this machine
  (nginx, postgresql, prometheus, haproxy ...) would start otherwise, on its ports, for
  nothing. A test starts what it needs with systemctl.
- The host's PID 1 need not be systemd (here it is not, so there is no machined to register
  with and no scope to ask for: --register=no --keep-unit). nspawn and the container then
  live in a cgroup made for them under the caller's own (in the name=systemd hierarchy and
  in cgroup2), removed at the end, so the container's systemd never takes the host's
  cgroup root as its own.
- Commands run inside through nsenter (all the container's namespaces, its root).

close() powers the container off (SIGTERM to nspawn, which asks its systemd to halt), kills
nspawn after a timeout, and removes the cgroups and what nspawn left in /run/systemd/nspawn
(it will not delete there itself when /run is not a tmpfs, as on this machine). nspawn gets
SIGKILL if the test process dies (PR_SET_PDEATHSIG), and its children the same on nspawn,
so a killed test leaves no container behind.
"""

import os
import signal
import subprocess
import tempfile
import time

SYSTEMD_NSPAWN = "/usr/bin/systemd-nspawn"
NSENTER = "/usr/bin/nsenter"
UNSHARE = "/usr/bin/unshare"
NSPAWN_RUN = "/run/systemd/nspawn"
ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
    "DEBIAN_FRONTEND": "noninteractive",
}


def missing_tools():
    """The programs a container needs that this machine lacks, with their package."""
    needs = {SYSTEMD_NSPAWN: "systemd-container", NSENTER: "util-linux",
             UNSHARE: "util-linux"}
    return [f"{path} ({package})" for path, package in needs.items()
            if not os.access(path, os.X_OK)]


def _cgroup_mounts():
    """(mount point, our cgroup path there) for the hierarchies systemd uses: the v1
    name=systemd one and cgroup2, whichever are mounted."""
    ours = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            ours["cgroup2" if number == "0" else controllers] = path
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            separator = fields.index("-")
            point, fstype, options = fields[4], fields[separator + 1], fields[separator + 3]
            if fstype == "cgroup2" and "cgroup2" in ours:
                found.append((point, ours["cgroup2"]))
            elif fstype == "cgroup" and "name=systemd" in options.split(","):
                found.append((point, ours.get("name=systemd", "/")))
    return found


class BootedContainer:
    def __init__(self, name, binds=()):
        """binds: (host directory, container path) pairs, bound read-only."""
        self.name = name
        self.binds = list(binds)
        self.leader = None  # the container's PID 1, as the host sees it
        self.popen = None
        self.cgroups = []
        self.layers = None
        self.nspawn_dir_existed = True
        self.console = tempfile.NamedTemporaryFile(prefix=f"{name}-console-", suffix=".log")

    # -- start

    def boot(self, timeout=120):
        """Starts nspawn and waits until the container's systemd has finished booting;
        returns `systemctl is-system-running` (running, or degraded with the failed units
        listed by failed_units())."""
        self._make_cgroups()
        self.nspawn_dir_existed = os.path.exists(NSPAWN_RUN)
        self.layers = tempfile.mkdtemp(prefix=f"{self.name}-")
        nspawn = [SYSTEMD_NSPAWN, "--quiet", f"--directory={self.layers}/root", "--boot",
                  "--private-network", "--register=no", "--keep-unit",
                  f"--machine={self.name}", "--console=read-only"]
        nspawn += [f"--bind-ro={host}:{inside}" for host, inside in self.binds]
        nspawn += ["systemd.unit=basic.target"]
        # In a new mount namespace: a tmpfs for the overlay's upper layer, the overlay of /
        # on it, and nspawn on the overlay.
        script = ('set -e; d="$1"; shift; mount -t tmpfs -o mode=0755 tmpfs "$d"; '
                  'mkdir "$d/upper" "$d/work" "$d/root"; mount -t overlay -o '
                  'lowerdir=/,upperdir="$d/upper",workdir="$d/work" overlay "$d/root"; '
                  'exec "$@"')
        argv = [UNSHARE, "--mount", "--propagation=private", "--", "sh", "-c", script, "sh",
                self.layers] + nspawn
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.console,
                                      stderr=subprocess.STDOUT,
                                      env=dict(ENVIRONMENT, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1"),
                                      preexec_fn=self._enter_cgroups)
        deadline = time.monotonic() + timeout
        self.leader = self._wait_for_leader(deadline)
        while True:
            try:
                r = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                             timeout=max(1.0, deadline - time.monotonic()))
                state, why = r.stdout.strip(), r.stderr.strip()
            except subprocess.TimeoutExpired:
                state, why = "starting", "still booting"
            if state in ("running", "degraded"):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"the container did not finish booting within {timeout} "
                                     f"s (systemctl is-system-running: {state!r}, {why!r}); "
                                     f"console:\n{self.console_text()}")
            time.sleep(0.2)

    def _make_cgroups(self):
        for point, ours in _cgroup_mounts():
            path = os.path.join(point, ours.lstrip("/"), self.name)
            os.mkdir(path)
            self.cgroups.append(path)

    def _enter_cgroups(self):
        """In nspawn's process, before the exec: into the container's cgroups, and SIGKILL
        when the test process dies."""
        for path in self.cgroups:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
        except Exception:  # noqa: BLE001 - best effort; close() still acts
            pass

    def _wait_for_leader(self, deadline):
        """The container's PID 1: nspawn's child in another PID namespace, once it runs
        systemd."""
        own = os.readlink("/proc/self/ns/pid")
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited with {self.popen.returncode}:\n"
                                     f"{self.console_text()}")
            for pid in self._children(self.popen.pid):
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if (f.read().strip() == "systemd"
                                and os.readlink(f"/proc/{pid}/ns/pid") != own):
                            return pid
                except OSError:
                    continue
            time.sleep(0.05)
        raise AssertionError(f"no systemd started in the container:\n{self.console_text()}")

    @staticmethod
    def _children(parent):
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces and parentheses.
            if int(stat[stat.rindex(")") + 2:].split()[1]) == parent:
                children.append(int(entry))
        return children

    # -- inside

    def command(self, argv):
        """argv run inside the container: its namespaces, its root, a clean environment."""
        return [NSENTER, f"--target={self.leader}", "--mount", "--uts", "--ipc", "--net",
                "--pid", "--cgroup", "--root", "--wd"] + list(argv)

    def run(self, argv, check=True, timeout=60, input=None):
        r = subprocess.run(self.command(argv), capture_output=True, text=True, input=input,
                           timeout=timeout, env=dict(ENVIRONMENT))
        if check and r.returncode != 0:
            raise AssertionError(f"in the container, {' '.join(argv)} failed ({r.returncode}):"
                                 f"\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def popen_inside(self, argv, **kwargs):
        """A process inside the container that the caller talks to through pipes; it dies
        with the container's PID namespace at the latest."""
        return subprocess.Popen(self.command(argv), env=dict(ENVIRONMENT), **kwargs)

    def host_cgroup2(self, inside_path):
        """The host's path of the container's cgroup2 directory inside_path (a unit's, as
        /proc/PID/cgroup shows it inside), or None without cgroup2. nspawn puts the
        container under a "payload" cgroup of its own below the one made here."""
        for path in self.cgroups:
            if os.path.exists(os.path.join(path, "cgroup.controllers")):  # cgroup2 only
                for top in (os.path.join(path, "payload"), path):
                    candidate = os.path.join(top, inside_path.lstrip("/"))
                    if os.path.isdir(candidate):
                        return candidate
        return None

    def failed_units(self):
        return self.run(["systemctl", "--failed", "--no-legend", "--plain"], check=False).stdout

    def console_text(self, limit=6000):
        with open(self.console.name, "rb") as f:
            return f.read()[-limit:].decode("utf-8", "replace")

    # -- end

    def close(self, timeout=30):
        """Powers the container off, and removes its cgroups; returns what is left (empty
        when everything went)."""
        left = []
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)  # nspawn: SIGRTMIN+3 to systemd, a halt
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                left.append(f"the container did not power off within {timeout} s: killed")
                self.popen.kill()
                self.popen.wait(10)
        if self.layers:
            try:
                os.rmdir(self.layers)  # its mounts were in nspawn's mount namespace only
            except OSError as e:
                left.append(f"{self.layers}: {e}")
        propagate = os.path.join(NSPAWN_RUN, "propagate", self.name)
        leftovers = [propagate] if self.nspawn_dir_existed else [
            propagate, *(os.path.join(NSPAWN_RUN, d) for d in ("propagate", "locks")),
            NSPAWN_RUN]
        for path in leftovers:
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                left.append(f"{path}: {e}")
        for path in reversed(self.cgroups):
            for directory, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(directory)
                except OSError as e:
                    left.append(f"cgroup {directory}: {e}")
        self.console.close()
        return left
