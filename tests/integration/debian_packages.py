"""The Debian packages under test (scripts/package.sh): taken from where an earlier step built
them, or built now. Shared by test_package.py (installs them on this machine) and
test_systemd.py (installs them in a container booted with systemd), so that one ctest run
builds them once: the fixture test `integration_packages` (tests/integration/CMakeLists.txt)
runs scripts/package.sh into the build tree and hands the directory to both through
HTTPAPI_PACKAGES. Run by hand without it, a test builds them itself (about 3 minutes of both
cores).
"""

import glob
import os
import re
import subprocess
import sys
import time

from harness import REPO

PACKAGES = ("httpapid", "httpcfg", "libhttpapi1", "libhttpapi-dev")


def project_version():
    """The project's version as httpapi.h defines it (and CMake and debian/changelog use)."""
    parts = {}
    with open(os.path.join(REPO, "include", "httpapi", "httpapi.h")) as f:
        for line in f:
            m = re.match(r"#define HTTPAPI_VERSION_(MAJOR|MINOR|PATCH) (\d+)$", line.strip())
            if m:
                parts[m.group(1)] = m.group(2)
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"


def build(directory):
    """scripts/package.sh --out directory; prints its time and lintian's tags."""
    started = time.monotonic()
    r = subprocess.run(["bash", os.path.join(REPO, "scripts", "package.sh"), "--out",
                        directory], capture_output=True, text=True, timeout=1500)
    if r.returncode != 0:
        raise AssertionError(f"scripts/package.sh failed ({r.returncode}):\n"
                             f"{r.stdout[-6000:]}\n{r.stderr[-4000:]}")
    lintian = [line for line in r.stdout.splitlines() if re.match(r"[EWI]: ", line)]
    sys.stderr.write(f"\n[scripts/package.sh: {time.monotonic() - started:.0f} s; "
                     f"lintian: {len(lintian)} tags] " + "\n".join(lintian) + "\n")


def find_or_build(scratch):
    """Absolute paths of the four .debs of this version, in PACKAGES' order: from
    $HTTPAPI_PACKAGES when set, else built into scratch/debs."""
    directory = os.environ.get("HTTPAPI_PACKAGES")
    if not directory:
        directory = os.path.join(scratch, "debs")
        build(directory)
    version = project_version()
    debs = []
    for package in PACKAGES:
        found = glob.glob(os.path.join(directory, f"{package}_{version}_*.deb"))
        if len(found) != 1:
            raise AssertionError(f"{directory}: expected one {package}_{version}_*.deb, found "
                                 f"{found}; build with scripts/package.sh --out {directory}")
        debs.append(os.path.abspath(found[0]))
    return debs
