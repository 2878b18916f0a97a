"""Progress on stderr for long runs, only when stderr is a terminal.

    with progress.bar(total=epochs, desc="adam", unit="epoch") as tick:
        for ...: ...; tick()

When stderr is not a terminal (a pipe, a file, a test capturing it) nothing is printed and `tick`
costs one call. On a terminal it is a tqdm bar, the same as torch-side train's, that appears only
once the run has taken DELAY_S seconds (a short run prints nothing) and is cleared when it ends, so
stdout and the final messages look the same either way. tqdm is imported only then (the core needs
nothing outside the standard library otherwise; without tqdm there is simply no bar).
"""
import sys
from contextlib import contextmanager

DELAY_S = 2.0  # runs shorter than this show no bar


def is_terminal(stream=None):
    """Is `stream` (default: sys.stderr) an interactive terminal? Tests monkeypatch this."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or a stand-in without isatty
        return False


def noop(n=1):
    return None


@contextmanager
def bar(total, desc, unit="epoch", delay_s=None, stream=None):
    """Yield tick(n=1), which advances a bar on stderr (a no-op unless stderr is a terminal)."""
    stream = sys.stderr if stream is None else stream
    delay_s = DELAY_S if delay_s is None else delay_s
    if total is None or total < 1 or not is_terminal(stream):
        yield noop
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield noop
        return
    t = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False, delay=delay_s,
             dynamic_ncols=True, mininterval=0.2)
    try:
        yield t.update
    finally:
        t.close()
