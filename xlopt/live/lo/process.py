"""A private soffice for the life of a `with` block: start, connect, stop, clean up.

    with LibreOffice() as lo:
        doc = lo.load("graddesc.xlsx")          # hidden, every formula recalculated
        doc.read("adam", "rmse")                # a float; a multi-cell range gives a list

Each `LibreOffice` starts its own soffice with a private profile (two soffice on one profile hand
jobs to each other) and talks to it over a named pipe. Leaving the `with` block — normally, on an
error or on Ctrl-C — closes the documents, ends soffice and deletes the profile.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from xlopt.core.errors import BadInput, MissingTool
from xlopt.live.lo.bridge import INSTALL, SYSTEM_PYTHON, Core, Remote, system_python_has_uno, uno_in_process
from xlopt.live.lo.doc import Doc

START_TIMEOUT_S = 60


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

    def __init__(self, timeout_s=START_TIMEOUT_S):
        self.timeout_s = timeout_s
        self.proc = self.core = self._remote = self.profile = None
        self._docs = []

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
        self.profile = tempfile.mkdtemp(prefix="xlopt-lo-")
        _write_profile(self.profile)
        pipe = f"xlopt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        profile_url = "file://" + os.path.abspath(self.profile).replace(os.sep, "/")
        self.proc = subprocess.Popen(
            [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={profile_url}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, TMPDIR=os.path.join(self.profile, "tmp")),  # its lu*.tmp go with the profile
            start_new_session=True)  # its own process group: we end it, Ctrl-C in the terminal does not
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                if in_process:
                    self.core = Core(pipe)
                else:
                    self._remote = self.core = Remote(pipe, SYSTEM_PYTHON)
                return
            except (BadInput, MissingTool):
                raise
            except Exception as e:  # NoConnectException until soffice listens
                if self._remote is not None:
                    self._remote.shutdown()
                    self._remote = self.core = None
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
                if self.core is not None:
                    try:
                        self.core.terminate()
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
            finally:
                self.core = self._remote = self.proc = self.profile = None

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


def _write_profile(folder):
    os.makedirs(os.path.join(folder, "user"))
    os.makedirs(os.path.join(folder, "tmp"))
    with open(os.path.join(folder, "user", "registrymodifications.xcu"), "w", encoding="utf-8") as f:
        f.write(PROFILE_XCU)


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
