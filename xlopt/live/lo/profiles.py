"""soffice's private profile, and what a killed or crashed run leaves behind.

The profile turns off every lock file and recalculates xlsx files on load; its owner file names the
xlopt that made it and the OSL pipes its soffice makes, so a later start (`sweep_stale`) can delete
a dead run's profile and pipes without touching a live one's.
"""
import hashlib
import os
import re
import shutil
import signal
import tempfile
import time

PROFILE_PREFIX = "xlopt-lo-"
OWNER = "xlopt-owner"   # in the profile: "pid start-time" of the xlopt that made it, then its pipes
STALE_S = 600           # a profile without an owner file (an older xlopt) is stale after this long


# The private profile: no locking at all (a .~lock left beside the workbook by a killed run makes
# later loads fail silently; UseLocking is the switch that counts: with only UseDocumentOOoLockFile
# off, LibreOffice 7.4 still wrote one) and recalculate xlsx files on load (files opened by hand
# from this profile agree too). xlopt's own flock (xlopt/core/locks.py) guards the workbook.
PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentSystemFileLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""  # noqa: E501


def write_profile(folder, pipes=()):
    os.makedirs(os.path.join(folder, "user"))
    os.makedirs(os.path.join(folder, "tmp"))
    with open(os.path.join(folder, "user", "registrymodifications.xcu"), "w", encoding="utf-8") as f:
        f.write(PROFILE_XCU)
    with open(os.path.join(folder, OWNER), "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()} {_start_time(os.getpid())}\n" + "".join(p + "\n" for p in pipes))


# --- what a killed run leaves: the watchdog ends it; a crash's leftovers are swept at the next start --
def _pipe_dir():
    """Where LibreOffice's OSL layer makes its pipes (sal/osl/unx/pipe.cxx): /tmp, else /var/tmp."""
    return "/tmp" if os.access("/tmp", os.W_OK) else "/var/tmp"


def osl_pipes(accept_name, profile_url):
    """The socket files soffice makes: the --accept pipe and the single-instance pipe, whose name is
    the MD5 of the profile's URL as UTF-16 with each byte in hex without leading zeros."""
    if not hasattr(os, "getuid"):
        return []
    digest = "".join(f"{b:x}" for b in hashlib.md5(profile_url.encode("utf-16-le")).digest())
    prefix = os.path.join(_pipe_dir(), f"OSL_PIPE_{os.getuid()}_")
    return [prefix + accept_name, prefix + "SingleOfficeIPC_" + digest]


def _start_time(pid):
    """The process's start time in clock ticks (Linux), so a reused pid is not taken for its owner."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def _pid_alive(pid, start=0):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or _start_time(pid) in (0, start)


def _users_of(folder):
    """Live processes whose command line names `folder` (a soffice.bin on that profile)."""
    out = []
    if not os.path.isdir("/proc"):
        return out
    key = folder.encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if key in f.read():
                        out.append(int(pid))
            except OSError:
                pass
    return out


def sweep_stale(tmp=None):
    """Delete what a crashed or killed xlopt left: profiles whose owner is dead (ending any soffice
    still on them) and our OSL pipes in /tmp whose xlopt is dead. Never touches a live run's."""
    tmp = tmp or tempfile.gettempdir()
    try:
        entries = os.listdir(tmp)
    except OSError:
        entries = []
    for name in entries:
        folder = os.path.join(tmp, name)
        if not name.startswith(PROFILE_PREFIX) or not os.path.isdir(folder):
            continue
        try:
            with open(os.path.join(folder, OWNER), encoding="utf-8") as f:
                lines = f.read().split("\n")
            pid, start = (int(x) for x in lines[0].split())
            if _pid_alive(pid, start):
                continue
            pipes = [p for p in lines[1:] if p]
        except FileNotFoundError:  # an older xlopt, or one between mkdtemp and writing the file
            try:
                if time.time() - os.stat(folder).st_mtime < STALE_S or _users_of(folder):
                    continue
            except OSError:
                continue
            pipes = []
        except (OSError, ValueError):
            continue
        for pid in _users_of(folder):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)
        for p in pipes:
            remove_quietly(p)
    if hasattr(os, "getuid"):
        mine = re.compile(rf"^OSL_PIPE_{os.getuid()}_xlopt_(\d+)_[0-9a-f]{{8}}$")
        d = _pipe_dir()
        try:
            names = os.listdir(d)
        except OSError:
            names = []
        for name in names:
            m = mine.match(name)
            if m and not _pid_alive(int(m.group(1))):
                remove_quietly(os.path.join(d, name))


def remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
