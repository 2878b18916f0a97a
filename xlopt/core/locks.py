"""An exclusive lock on a file for a whole read-modify-write, so two writers never lose work.

    with locked(path, timeout_s=None, what="state file"):
        read path ... compute ... write path (atomically, through a temp file)

The lock is an advisory `flock` on the file itself (every xlopt writer takes it), so it leaves no
file behind and ends with the process, however that ends. The writers replace the file with a new
one (a new inode), so a waiter that got the lock on the old inode tries again on the new one. A
file that does not exist yet is guarded by a lock on its folder until it does. The second writer
waits, saying so on stderr after WAIT_NOTICE_S; with `timeout_s` it gives up with `Busy`.
"""
import os
import sys
import time
from contextlib import contextmanager

from xlopt.core.errors import Busy

WAIT_NOTICE_S = 1.0
POLL_S = 0.05

try:
    import fcntl
except ImportError:  # Windows: no flock; the writers are still atomic, only not serialised
    fcntl = None


def _try_lock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _open(path):
    """(fd, the path it locks): the file itself if it exists, else its folder."""
    try:
        return os.open(path, os.O_RDONLY), path
    except FileNotFoundError:
        folder = os.path.dirname(path) or "."
        return os.open(folder, os.O_RDONLY), folder


def _same(fd, locked_path, path):
    """Does the lock still guard `path` (not a file replaced meanwhile, nor one created since)?"""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return locked_path != path  # a folder lock guards a missing file
    if locked_path != path:
        return False  # the file appeared: lock the file instead
    st = os.fstat(fd)
    return (st.st_ino, st.st_dev) == (now.st_ino, now.st_dev)


@contextmanager
def locked(path, timeout_s=None, what="file"):
    """Hold an exclusive lock on `path` for the block; Busy after `timeout_s` seconds of waiting."""
    if fcntl is None:
        yield
        return
    path = os.path.abspath(path)
    start, told = time.monotonic(), False
    while True:
        try:
            fd, locked_path = _open(path)
        except OSError:
            yield  # cannot even open it: the reader names the problem
            return
        try:
            got = _try_lock(fd)
            if got and _same(fd, locked_path, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if got:
            continue  # replaced or created meanwhile: lock the new one at once
        waited = time.monotonic() - start
        if timeout_s is not None and waited >= timeout_s:
            raise Busy(f"{what} {path} is in use by another xlopt (waited {waited:.1f} s); "
                       f"try again when it has finished, or raise --lock-timeout")
        if not told and waited >= WAIT_NOTICE_S:
            print(f"xlopt: waiting for another xlopt to finish with {what} {path} ...", file=sys.stderr, flush=True)
            told = True
        time.sleep(POLL_S)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def add_argument(p):
    p.add_argument("--lock-timeout", type=float, default=None, metavar="SECONDS",
                   help="when another xlopt is writing the same file, wait at most this long, then fail "
                        "(default: wait until it has finished)")
