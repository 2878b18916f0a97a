"""SIGTERM and SIGHUP end a command exactly as Ctrl-C does: one line on stderr, everything cleaned up.

`timeout`, `kill`, a closed terminal or a cancelled CI job send SIGTERM or SIGHUP, whose default
action ends Python at once: no `finally`, no `with` exit, so a private soffice, its profile folder
and a temp file beside the workbook would be left behind. `guarded` turns them into `Terminated`, a
KeyboardInterrupt, so the same clean-up runs (LibreOffice's `with` block, the atomic writers' temp
files, the locks) and the command prints one line and exits 128 + the signal's number. It covers
start-up too: building the parser imports the sub-commands (torch takes a second or two).
"""
import signal
import sys
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program was, like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame):
    raise Terminated(signum)


def install():
    """SIGTERM/SIGHUP raise Terminated from now on (main thread only; elsewhere a no-op)."""
    for s in SIGNALS:
        try:
            signal.signal(s, _raise)
        except (ValueError, OSError):
            pass


@contextmanager
def deferred():
    """No Ctrl-C, SIGTERM or SIGHUP during the block (a clean-up must finish); restored after."""
    old = {}
    for s in (signal.SIGINT,) + SIGNALS:
        try:
            old[s] = signal.signal(s, signal.SIG_IGN)
        except (ValueError, OSError):
            pass  # not the main thread
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def describe(e):
    """('interrupted' or 'terminated (SIGTERM)', exit status) of a KeyboardInterrupt."""
    if isinstance(e, Terminated):
        return f"terminated ({signal.Signals(e.signum).name})", 128 + e.signum
    return "interrupted", 130


def guarded(prog, body):
    """Run body() -> exit status; any interrupt prints one line '<prog>: interrupted; ...'.

    prog: the name to print, or a callable returning it (the sub-command may not be parsed yet)."""
    install()
    try:
        return body()
    except KeyboardInterrupt as e:
        what, code = describe(e)
        name = prog() if callable(prog) else prog
        try:
            with deferred():
                print(f"{name}: {what}; no file was changed", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        return code
