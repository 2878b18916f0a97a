"""A private soffice for the life of a `with` block: start, connect, stop, clean up.

    with LibreOffice() as lo:
        doc = lo.load("graddesc.xlsx")          # hidden, every formula recalculated
        doc.read("adam", "rmse")                # a float; a multi-cell range gives a list

Each `LibreOffice` starts its own soffice with a private profile (two soffice on one profile hand
jobs to each other) and talks to it over a named pipe. Leaving the `with` block — normally, on an
error or on Ctrl-C — closes the documents, ends soffice and deletes the profile.

Nothing is left running when xlopt itself is killed (SIGKILL, the OOM killer): a watchdog
(`watchdog.py`) started before soffice ends soffice's process group and deletes the profile and
LibreOffice's OSL pipes once xlopt's end of a pipe closes. What a machine crash leaves behind is
swept at the next start (`sweep_stale`). Every call to soffice has a deadline (`call_timeout_s`):
a stopped or hung soffice is killed and the command fails with one message, as it does when soffice
ends in the middle of a call.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from xlopt.core.errors import BadInput, MissingTool, OfficeFailed
from xlopt.live.lo.bridge import INSTALL, SYSTEM_PYTHON, Core, Remote, system_python_has_uno, uno_in_process
from xlopt.live.lo.doc import Doc

START_TIMEOUT_S = 60
CALL_TIMEOUT_S = float(os.environ.get("XLOPT_LO_CALL_TIMEOUT_S", 300))  # one load, calculation or save
PROFILE_PREFIX = "xlopt-lo-"
OWNER = "xlopt-owner"   # in the profile: "pid start-time" of the xlopt that made it, then its pipes
STALE_S = 600           # a profile without an owner file (an older xlopt) is stale after this long


def find_soffice():
    for name in ("soffice", "libreoffice"):
        p = shutil.which(name)
        if p:
            return p
    for p in ("/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
              "/Applications/LibreOffice.app/Contents/MacOS/soffice"):
        if os.path.exists(p):
            return p
    raise MissingTool(f"LibreOffice is not installed (no soffice on PATH): {INSTALL}")


# --- the public API -------------------------------------------------------------------------------
class LibreOffice:
    """A private soffice for the life of a `with` block."""

    def __init__(self, timeout_s=START_TIMEOUT_S, call_timeout_s=None):
        self.timeout_s = timeout_s
        self.call_timeout_s = CALL_TIMEOUT_S if call_timeout_s is None else call_timeout_s
        self.proc = self.core = self._remote = self.profile = self._watchdog = None
        self._docs, self._pipes = [], []
        self._expired = False
        self.failure = None  # the message of the call during which soffice ended

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _start(self):
        soffice = find_soffice()
        in_process = uno_in_process()
        if not in_process and not system_python_has_uno():
            raise MissingTool(f"LibreOffice's Python bridge (uno) is not installed: {INSTALL}")
        sweep_stale()
        self.profile = tempfile.mkdtemp(prefix=PROFILE_PREFIX)
        pipe = f"xlopt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        profile_url = "file://" + os.path.abspath(self.profile).replace(os.sep, "/")
        self._pipes = pipes = osl_pipes(pipe, profile_url)
        _write_profile(self.profile, pipes)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-I", os.path.join(os.path.dirname(os.path.abspath(__file__)), "watchdog.py"),
             self.profile, *pipes], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            start_new_session=True)  # Ctrl-C in the terminal does not reach it; it outlives a killed xlopt
        self.proc = subprocess.Popen(
            [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={profile_url}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, TMPDIR=os.path.join(self.profile, "tmp")),  # its lu*.tmp go with the profile
            start_new_session=True)  # its own process group: we end it, Ctrl-C in the terminal does not
        self._watchdog.stdin.write(f"{self.proc.pid}\n")  # its process group, for the watchdog
        self._watchdog.stdin.flush()
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                with self._deadline(max(1.0, deadline - time.monotonic())):
                    if in_process:
                        core = Core(pipe)
                    else:
                        self._remote = core = Remote(pipe, SYSTEM_PYTHON)
                self.core = _Guarded(core, self)
                return
            except (BadInput, MissingTool):
                raise
            except Exception as e:  # NoConnectException until soffice listens
                if self._remote is not None:
                    self._remote.shutdown()
                    self._remote = self.core = None
                if self._expired:
                    raise MissingTool(f"soffice did not accept a connection within {self.timeout_s} s") from None
                if self.proc.poll() is not None:
                    raise MissingTool(f"soffice exited with code {self.proc.returncode} before accepting a "
                                      f"connection; check the installation ({INSTALL})") from None
                if time.monotonic() > deadline:
                    raise MissingTool(f"soffice did not accept a connection within {self.timeout_s} s ({e})") from None
                time.sleep(0.1 if in_process else 0.3)

    def _stop(self):
        from xlopt.core.signals import deferred
        with deferred():  # a second Ctrl-C, SIGTERM or SIGHUP must not leave soffice behind
            try:
                if self.core is not None and not self._expired:
                    try:
                        self.core.terminate(timeout_s=min(10.0, self.call_timeout_s))
                    except Exception:
                        pass
                if self._remote is not None:
                    self._remote.shutdown()
                if self.proc is not None:
                    _kill_group(self.proc)
                    try:
                        self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        pass
                if self.profile is not None:
                    shutil.rmtree(self.profile, ignore_errors=True)
                for p in self._pipes:  # a soffice that was killed leaves its pipes
                    _remove_quietly(p)
                if self._watchdog is not None:
                    _end_watchdog(self._watchdog)
            finally:
                self.core = self._remote = self.proc = self.profile = self._watchdog = None

    # --- deadlines ---------------------------------------------------------------------------------
    def _deadline(self, seconds):
        """A context: if the block takes longer than `seconds`, soffice is killed (SIGKILL works on
        a stopped process too), which makes the blocked UNO call fail at once."""
        return _Deadline(self, seconds)

    def _expire(self):
        self._expired = True
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def ended(self, wait_s=3.0):
        """Did soffice end (killed, crashed, timed out)? Waits up to wait_s for it to be reaped."""
        if self._expired:
            return True
        if self.proc is None:
            return True
        end = time.monotonic() + wait_s
        while _soffice_bin_alive(self.proc):
            if time.monotonic() >= end:
                return False
            time.sleep(0.05)
        return True

    def load(self, path) -> "Doc":
        if self.core is None:
            raise RuntimeError("LibreOffice is not running: use it in a `with` block")
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise BadInput(f"{path} does not exist" if not os.path.exists(path) else f"{path} is not a file")
        if not os.access(path, os.R_OK):
            raise BadInput(f"cannot read {path}: permission denied")
        doc = Doc(self.core, self.core.load(path), path)
        self._docs.append(doc)
        return doc


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


def _write_profile(folder, pipes=()):
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
            _remove_quietly(p)
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
                _remove_quietly(os.path.join(d, name))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _end_watchdog(w):
    """Tell the watchdog soffice was ended here (it then just exits), and reap it."""
    try:
        w.stdin.write("stop\n")
        w.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        w.wait(5)
    except subprocess.TimeoutExpired:
        w.kill()
        w.wait()


class _Deadline:
    def __init__(self, lo, seconds):
        self.lo, self.seconds, self.timer = lo, seconds, None

    def __enter__(self):
        self.timer = threading.Timer(self.seconds, self.lo._expire)
        self.timer.daemon = True
        self.timer.start()

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


class _Guarded:
    """Core's calls, each under a deadline; soffice ending mid-call (killed, crashed, stopped past
    the deadline) becomes one OfficeFailed message instead of a UNO traceback."""

    def __init__(self, core, lo):
        self._core, self._lo = core, lo

    def __getattr__(self, method):
        fn = getattr(self._core, method)

        def call(*args, timeout_s=None):
            lo = self._lo
            seconds = lo.call_timeout_s if timeout_s is None else timeout_s
            if lo.failure is not None:  # every later call (a close in a finally) says the same
                raise OfficeFailed(lo.failure)
            try:
                with lo._deadline(seconds):
                    return fn(*args)
            except Exception as e:
                if lo.ended(wait_s=0.0 if isinstance(e, (BadInput, MissingTool)) else 3.0):
                    lo.failure = _ended_message(lo, method)
                    raise OfficeFailed(lo.failure) from None
                raise
        return call


_DURING = {"load": " while loading the workbook", "store": " while saving", "calculate_all": " while recalculating",
           "terminate": " while closing"}


def _ended_message(lo, method=None):
    during = _DURING.get(method, " during the work" if method else "")
    if lo._expired:
        return (f"LibreOffice did not answer within {lo.call_timeout_s:g} s{during} (stopped or hung) and "
                "was ended; the workbook was not changed - try again")
    return (f"LibreOffice (soffice) ended{during} (killed or crashed); the workbook was not changed - "
            "try again")


def _soffice_bin_alive(proc):
    """Is soffice.bin (not only its oosplash parent, which outlives it a moment) alive and not stopped
    for ever? Linux reads /proc; elsewhere any live process of the group counts."""
    if not os.path.isdir("/proc/self"):
        return _group_alive(proc)
    proc.poll()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                head, tail = f.read().rsplit(b")", 1)
        except OSError:
            continue
        fields = tail.split()
        if int(fields[2]) == proc.pid and fields[0] not in (b"Z", b"X") and head.endswith(b"(soffice.bin"):
            return True
    return False


def _kill_group(proc, grace_s=0.5):
    """End whatever is left of soffice's process group (the wrapper, oosplash, soffice.bin).

    After desktop.terminate() soffice.bin takes a second or two to wind down a profile we delete
    anyway: give it `grace_s`, then SIGTERM (documents are closed by then), then SIGKILL.
    """
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if sig is not None:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if not _group_alive(proc):
                return
            time.sleep(0.02)


def _group_alive(proc):
    """Does any live (not zombie) process remain in soffice's process group?"""
    proc.poll()  # reap our own child
    if os.path.isdir("/proc/self"):  # Linux: zombies (gpg helpers left to init) do not count
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == proc.pid and fields[0] != b"Z":
                return True
        return False
    try:
        os.killpg(proc.pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
