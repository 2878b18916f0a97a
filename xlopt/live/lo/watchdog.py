"""Ends a private soffice when the xlopt that started it dies, however it dies (SIGKILL included).

    python watchdog.py PROFILE PIPE...     (stdin: a pipe whose other end only xlopt holds)

Started before soffice, in a session of its own (Ctrl-C in the terminal does not reach it). xlopt
writes soffice's process group on the first line, and "stop" on the second when it has ended
soffice itself. If instead the pipe closes first, xlopt died: this ends the whole group (oosplash
and soffice.bin: PR_SET_PDEATHSIG would reach only the first), then deletes the profile folder and
the OSL pipes LibreOffice left in /tmp. Imports nothing of xlopt, so it starts in a few ms.
"""
import os
import shutil
import signal
import sys
import time


def _alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def end_group(pgid, grace_s=3.0):
    """SIGTERM, then SIGKILL after grace_s (a stopped soffice ignores SIGTERM until continued)."""
    for sig in (signal.SIGTERM, signal.SIGCONT, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sig == signal.SIGCONT:
            end = time.monotonic() + grace_s
            while time.monotonic() < end and _alive(pgid):
                time.sleep(0.05)
    end = time.monotonic() + 5
    while time.monotonic() < end and _alive(pgid):
        time.sleep(0.05)


def remove(profile, pipes):
    shutil.rmtree(profile, ignore_errors=True)
    for p in pipes:
        try:
            os.remove(p)
        except OSError:
            pass


def main(argv):
    for s in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)
    profile, pipes = argv[1], argv[2:]
    first = sys.stdin.readline().strip()
    if first == "stop":
        return 0
    second = sys.stdin.readline().strip()
    if second == "stop":
        return 0
    if first.isdigit():  # xlopt died (the pipe closed) with soffice running
        end_group(int(first))
    remove(profile, pipes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
