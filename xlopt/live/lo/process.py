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
swept at the next start (`profiles.sweep_stale`). Every call to soffice has a deadline (`call_timeout_s`):
a stopped or hung soffice is killed and the command fails with one message, as it does when soffice
ends in the middle of a call.
"""
import os
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
from xlopt.live.lo.group import kill_group, soffice_bin_alive
from xlopt.live.lo.profiles import PROFILE_PREFIX, osl_pipes, remove_quietly, sweep_stale, write_profile

START_TIMEOUT_S = 60
CALL_TIMEOUT_S = float(os.environ.get("XLOPT_LO_CALL_TIMEOUT_S", 300))  # one load, calculation or save


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
        write_profile(self.profile, pipes)
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
                    kill_group(self.proc)
                    try:
                        self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        pass
                if self.profile is not None:
                    shutil.rmtree(self.profile, ignore_errors=True)
                for p in self._pipes:  # a soffice that was killed leaves its pipes
                    remove_quietly(p)
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
        while soffice_bin_alive(self.proc):
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

