"""torch-side's errors, and the argument checks every layer raises them from.

Each error is raised where the input is checked, with one message that names the input and the fix;
`torch_side.cli.command_main` prints it as one line and exits with its ``exit_code``. Anything else
that escapes a command (a plain ValueError from a bug included) is a bug: its traceback, exit 1.

  TorchSideError (xlopt.core.errors.XloptError)
    UsageError        a value on the command line cannot be used             exit 2  (ValueError)
    DataError         the dataset or an input file is missing or damaged     exit 2  (ValueError)
      DatasetMissingError   no Fashion-MNIST where it was looked for         exit 2  (FileNotFoundError)
    CheckpointError   a checkpoint this run cannot resume                    exit 2  (ValueError)
    DeviceError       a device asked for is not there, or failed             exit 2  (RuntimeError)
    DivergedError     the loss stopped being finite                          exit 3  (RuntimeError)

Each also derives from the built-in exception it replaces, so ``except ValueError`` in a caller
(and the tests' ``pytest.raises``) keep working.
"""
import math
import os

from xlopt.core.errors import BadInput, XloptError

__all__ = ["TorchSideError", "UsageError", "DataError", "DatasetMissingError", "CheckpointError",
           "DeviceError", "DivergedError", "is_device_failure", "check_out", "check_png",
           "check_device", "at_most", "finite_in", "positive"]


class TorchSideError(XloptError):
    """Base: the command prints str(e) alone and exits with ``exit_code``."""
    exit_code = 2


class UsageError(TorchSideError, BadInput, ValueError):
    """A value the user gave (an option, a name, a path) cannot be used."""


class DataError(TorchSideError, ValueError):
    """The dataset or an input file is damaged, or too small for what was asked."""


class DatasetMissingError(DataError, FileNotFoundError):
    """No Fashion-MNIST where it was looked for: names the folders and how to get it."""


class CheckpointError(TorchSideError, ValueError):
    """The checkpoint cannot be resumed by this run (other model, schedule or format)."""


class DeviceError(TorchSideError, RuntimeError):
    """The device asked for is not there (cuda without a GPU), or it failed."""


class DivergedError(TorchSideError, RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and batch."""
    exit_code = 3


def is_device_failure(err):
    """A RuntimeError from torch about the GPU (CUDA out of memory, a driver error): the one test of
    "cuda" in a message, case-insensitive."""
    return isinstance(err, RuntimeError) and "cuda" in str(err).lower()


# --- argument checks shared by the commands: before any work, nothing created ------------------------
def _writable_ancestor(path, flag):
    """The nearest existing folder above `path`; UsageError if a file is in the way or it is read-only."""
    p = os.path.abspath(path)
    parent = os.path.dirname(p)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UsageError(f"{flag} {path}: {parent} is a file, not a folder; choose another place")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in {parent} (a read-only file system or folder); "
                         "choose another place")
    return parent


def check_out(path, flag="--out", what="the outputs"):
    """An output folder: a folder or nothing yet, under a folder that can be written."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {path} is a file, not a folder; name a folder for {what}")
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{flag} {path}: cannot write in it (a read-only file system or folder); "
                             "choose another place")
        return
    _writable_ancestor(path, flag)


def check_png(path, flag="--out"):
    """An output file: not a folder, in an existing folder that can be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path} is a folder; name the .png file to write")
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise UsageError(f"{flag} {path}: {folder} is a file, not a folder")
        raise UsageError(f"{flag} {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in {folder} (a read-only file system or folder)")


def check_device(device, flag="--device"):
    """cpu, cuda, cuda:N or auto; anything else (tpu, mps here) one message."""
    d = str(device)
    if d in ("cpu", "cuda", "auto") or (d.startswith("cuda:") and d[5:].isdigit()):
        return
    raise UsageError(f"{flag} {d}: choose cpu, cuda (cuda:N) or auto")


def at_most(value, bound, flag, fix=""):
    if value > bound:
        raise UsageError(f"{flag} must be at most {bound}, got {value}" + (f"; {fix}" if fix else ""))


def positive(args, *names):
    """Each named option, where given, a positive integer."""
    for k in names:
        v = getattr(args, k, None)
        if v is not None and v <= 0:
            raise UsageError(f"--{k.replace('_', '-')} must be a positive integer, got {v}")


def finite_in(value, flag, low, high, low_open=True, high_open=True, what=""):
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise UsageError(f"{flag} must be a number in {lo}{low:g}, {high:g}{hi}{what}, got {value}")
