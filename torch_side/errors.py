"""One place that turns the commands' known failures into one line and an exit status.

Bad input, a missing or corrupt dataset, a refused checkpoint and an absent GPU exit 2; a
diverging run (NaN/inf loss) exits 3; anything else is a bug and keeps its traceback. A ValueError
counts as bad input only when our own code raised it with a message for the user (a `raise` in
torch_side or xlopt); one from inside numpy, torch or Python is a bug like any other. After a
signal, any of them is that signal's one line instead (xlopt.core.signals).
"""
import linecache
import math
import os
import sys

from xlopt.core.errors import BadInput
from xlopt.core.signals import reraise_if_interrupted

from torch_side.data import DatasetMissingError
from torch_side.learner import NonFiniteLossError

__all__ = ["command_main", "raised_by_us", "check_out", "check_png", "check_device", "at_most"]

OURS = (os.path.dirname(os.path.abspath(__file__)) + os.sep,  # torch_side/
        os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["xlopt.core.errors"].__file__))) + os.sep)  # xlopt/


def raised_by_us(err):
    """Did a `raise` statement in torch_side or xlopt raise `err` (a message meant for the user)?"""
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = os.path.abspath(tb.tb_frame.f_code.co_filename)
    if not path.startswith(OURS):
        return False
    return linecache.getline(path, tb.tb_lineno).lstrip().startswith("raise")


def command_main(name, run):
    """``main(args) -> int`` for ``torch-side NAME``, calling ``run(args)``."""
    def main(args):
        try:
            run(args)
        except DatasetMissingError as e:
            return _say(name, e, 2)
        except (ValueError, FileNotFoundError) as e:  # recipe, dataset, checkpoint errors: ours only
            if not raised_by_us(e):
                raise
            return _say(name, e, 2)
        except NonFiniteLossError as e:
            return _say(name, e, 3)
        except RuntimeError as e:
            if "cuda" in str(e).lower():
                return _say(name, e, 2)
            raise
        return 0
    return main


def _say(name, err, code):
    reraise_if_interrupted(err)  # a failure after Ctrl-C is the Ctrl-C's doing
    print(f"torch-side {name}: error: {err}", file=sys.stderr)
    return code


# --- argument checks shared by the commands: before any work, nothing created ------------------------
def _writable_ancestor(path, flag):
    """The nearest existing folder above `path`; BadInput if a file is in the way or it is read-only."""
    p = os.path.abspath(path)
    parent = os.path.dirname(p)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BadInput(f"{flag} {path}: {parent} is a file, not a folder; choose another place")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"{flag} {path}: cannot write in {parent} (a read-only file system or folder); "
                       "choose another place")
    return parent


def check_out(path, flag="--out"):
    """An output folder: a folder or nothing yet, under a folder that can be written."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInput(f"{flag} {path} is a file, not a folder; name a folder for the outputs")
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            raise BadInput(f"{flag} {path}: cannot write in it (a read-only file system or folder); "
                           "choose another place")
        return
    _writable_ancestor(path, flag)


def check_png(path, flag="--out"):
    """An output file: not a folder, in an existing folder that can be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BadInput(f"{flag} {path} is a folder; name the .png file to write")
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise BadInput(f"{flag} {path}: {folder} is a file, not a folder")
        raise BadInput(f"{flag} {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"{flag} {path}: cannot write in {folder} (a read-only file system or folder)")


def check_device(device, flag="--device"):
    """cpu, cuda, cuda:N or auto; anything else (tpu, mps here) one message."""
    d = str(device)
    if d in ("cpu", "cuda", "auto") or (d.startswith("cuda:") and d[5:].isdigit()):
        return
    raise BadInput(f"{flag} {d}: choose cpu, cuda (cuda:N) or auto")


def at_most(value, bound, flag, fix=""):
    if value > bound:
        raise BadInput(f"{flag} must be at most {bound}, got {value}" + (f"; {fix}" if fix else ""))


def finite_in(value, flag, low, high, low_open=True, high_open=True, what=""):
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise BadInput(f"{flag} must be a number in {lo}{low:g}, {high:g}{hi}{what}, got {value}")
