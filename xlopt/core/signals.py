"""SIGTERM and SIGHUP end a command exactly as Ctrl-C does: one line on stderr, everything cleaned up.

`timeout`, `kill`, a closed terminal or a cancelled CI job send SIGTERM or SIGHUP, whose default
action ends Python at once: no `finally`, no `with` exit, so a private soffice, its profile folder
and a temp file beside the workbook would be left behind. `guarded` turns them into `Terminated`, a
KeyboardInterrupt, so the same clean-up runs (LibreOffice's `with` block, the atomic writers' temp
files, the locks) and the command prints one line and exits 128 + the signal's number. It covers
start-up too: building the parser imports the sub-commands (torch takes a second or two).

Start-up imports run `held()`: a signal there is remembered and raised once they are done. Raised
inside them it can land in C code that swallows it: torch's C start-up imports numpy and clears the
error, so numpy is left half-imported, the Ctrl-C is lost (the run goes on) or the next use fails
with some other error (a RecursionError in numpy's lazy `linalg`, an abort). And since every signal
is remembered, a failure after one is reported as that signal, not as a traceback or an "error:".

A signal the parent set to be ignored (`nohup` ignores SIGHUP, `cmd &` in a script ignores
SIGINT) stays ignored: a training run started under nohup survives its terminal closing.
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


_received = []  # signal numbers that came, first first


def _raise(signum, frame):
    _received.append(signum)
    raise Terminated(signum)


def _interrupt(signum, frame):
    _received.append(signum)
    raise KeyboardInterrupt


def install():
    """SIGINT raises KeyboardInterrupt and SIGTERM/SIGHUP raise Terminated from now on, each one
    remembered. A signal ignored by the parent stays ignored; any other handler (Python's, or one a
    library such as Ray set in this process) is replaced (main thread only; elsewhere a no-op)."""
    _received.clear()
    for s, ours in ((signal.SIGINT, _interrupt), *((s, _raise) for s in SIGNALS)):
        try:
            if signal.getsignal(s) is not signal.SIG_IGN:
                signal.signal(s, ours)
        except (ValueError, OSError):
            pass


def interruption():
    """The interrupt a received signal stands for (KeyboardInterrupt or Terminated), or None."""
    if not _received:
        return None
    s = _received[0]
    return KeyboardInterrupt() if s == signal.SIGINT else Terminated(s)


@contextmanager
def _handlers(choose):
    """For the block, each of our signals gets ``choose(current handler)`` (None: left as it is);
    every handler is put back after. held, kept and deferred differ only in ``choose``."""
    old = {}
    for s in (signal.SIGINT,) + SIGNALS:
        try:
            old[s] = current = signal.getsignal(s)
            new = choose(current)
            if new is not None:
                signal.signal(s, new)
        except (ValueError, OSError):
            old.pop(s, None)  # not the main thread
    try:
        yield
    finally:
        for s, h in old.items():
            try:
                signal.signal(s, h)
            except (ValueError, OSError, TypeError):
                pass  # not the main thread, or a handler set from C (None)


@contextmanager
def held():
    """Signals during the block are remembered, not raised, and raised when it ends (imports: see
    the module's docstring). Only our own handlers are held; an ignored signal stays ignored."""
    before = len(_received)
    with _handlers(lambda h: _remember if h in (_interrupt, _raise) else None):
        yield
    if len(_received) > before:
        raise interruption()


def kept():
    """The block may set its own handlers (ray.init makes SIGTERM a bare sys.exit); ours come back."""
    return _handlers(lambda h: None)


def _remember(signum, frame):
    _received.append(signum)


def reraise_if_interrupted(err):
    """Call where a failure is turned into a message: after a signal, the signal is the story."""
    e = interruption()
    if e is not None:
        raise e from err


def deferred():
    """No Ctrl-C, SIGTERM or SIGHUP during the block (a clean-up must finish); restored after."""
    return _handlers(lambda h: signal.SIG_IGN)


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
    except Exception:
        e = interruption()
        if e is None:
            raise
        what, code = describe(e)
    name = prog() if callable(prog) else prog
    try:
        with deferred():
            print(f"{name}: {what}; no file was changed", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return code
