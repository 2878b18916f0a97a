"""What both command lines check about their surroundings, and how they end their output.

Before any work: the working folder still exists (a relative path means nothing after `rm -rf .`)
and stdout is open (`>&-` leaves Python with no sys.stdout). After it: stdout is flushed here,
so a full disk (`> /dev/full`) is one message and a reader that went away (`| head`) ends the
command quietly, instead of Python's "Exception ignored" at exit. A write that fails for lack of
room or permission (a full disk, a read-only file system) is the user's to fix: one message.
"""
import errno
import os
import stat
import sys
from contextlib import contextmanager

from xlopt.core.errors import BadInput

ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM)


def check_surroundings():
    try:
        os.getcwd()
    except FileNotFoundError:
        raise BadInput("the working folder no longer exists (deleted or moved): cd to an existing folder "
                       "and run the command again") from None
    if sys.stdout is None:
        raise BadInput("standard output is closed (>&-): send it to a file, or to /dev/null") from None


class _Stdout:
    """sys.stdout, whose failed writes (a full disk) say they were stdout's; a reader gone away
    (BrokenPipeError) passes through for the command line to end quietly."""

    def __init__(self, stream):
        self._stream = stream

    def _guard(self, method, *args):
        try:
            return getattr(self._stream, method)(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            silence_stdout()
            raise BadInput(f"cannot write to standard output: {e.strerror}") from None

    def write(self, text):
        return self._guard("write", text)

    def flush(self):
        return self._guard("flush")

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout():
    """For the command: stdout's own failures become one message (see _Stdout); restored after."""
    real = sys.stdout
    sys.stdout = _Stdout(real) if real is not None else real
    try:
        yield
    finally:
        if sys.stdout is not real and isinstance(sys.stdout, _Stdout):
            sys.stdout = real


def prog(name, argv, commands):
    """'xlopt run' from the arguments, before they are parsed (or 'xlopt')."""
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    return f"{name} {first}" if first in commands else name


def flush_stdout():
    """Flush stdout: True when done or the reader went away (silenced), BadInput on a full disk."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as e:
        silence_stdout()
        raise BadInput(f"cannot write to standard output: {e.strerror}") from None


def silence_stdout():
    """Point stdout at /dev/null, so the interpreter's last flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def room_message(e):
    """One line for an OSError that says the disk is full or read-only, or None (then it is a bug)."""
    if not isinstance(e, OSError) or e.errno not in ROOM:
        return None
    if e.filename is None and getattr(e, "errno", None) == errno.ENOSPC:
        return f"cannot write: {e.strerror}; free some space and run again (no file was changed)"
    if e.filename is None:
        return None
    return f"cannot write {e.filename}: {e.strerror}; choose another place or free some space"


def regular_file(path, what):
    """Refuse what is not a plain file (a FIFO would block the read for ever, a folder cannot be read)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise BadInput(f"cannot read {what} {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode) else "not a plain file"
        raise BadInput(f"{what} {path} is {kind}; give a plain file")
    return True
