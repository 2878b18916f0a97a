"""A sheet's state as a JSON file: everything needed to press Run again later.

The pass itself is not stored: it is a function of the top values, so a loaded state recalculates
to exactly the numbers the sheet showed.
"""
import json
import math
import os

from xlopt.core import buttons, sheets
from xlopt.core.atomic import write_text
from xlopt.core.console import regular_file
from xlopt.core.engine import Data, MemoryBook
from xlopt.core.errors import BadInput
from xlopt.core.sheet import BETAS

FORMAT = "xlopt-state"
VERSION = 1


def fresh(sheet_name, data=None, make_book=MemoryBook, problem=None):
    """A new book of that sheet with Reset pressed, as the lesson starts (make_book: e.g. TorchBook)."""
    sheet = sheets.get(sheet_name, problem)
    book = make_book(sheet, data or Data.of(sheet.problem), None, None)
    buttons.reset(book)
    return book


def public_keys(problem):
    """The book's own keys -> the names JSON uses: a function's parameters are x and y and its summary
    the loss; the lesson's problem keeps const, slope and rmse (the identity)."""
    return {"const": problem.params[0], "slope": problem.params[1], "rmse": problem.loss_key}


def renamed(d, keys):
    return {keys.get(k, k): v for k, v in d.items()}


def to_dict(book, carry):
    """The state file's contents; a function problem's file names its problem (the lesson's files
    name none, as before problems)."""
    problem = book.sheet.problem
    keys = public_keys(problem)
    out = {"format": FORMAT, "version": VERSION, "sheet": book.sheet.name, "carry": carry}
    if not problem.lesson:
        out["problem"] = problem.name
    out.update({"data": {"x": book.data.x, "y": book.data.y}, "inputs": renamed(book.inputs, keys),
                "log": [renamed(e, keys) for e in book.log]})
    return out


def from_dict(d, where="state"):
    """Validate and rebuild a book, naming the first thing that is wrong."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise BadInput(f"{where} is not an xlopt state file (no \"format\": \"{FORMAT}\")")
    if d.get("version") != VERSION:
        raise BadInput(f"{where} has state version {d.get('version')!r}; this xlopt reads version {VERSION}")
    try:
        sheet = sheets.get(d["sheet"], d.get("problem"))
        data = Data(d["data"]["x"], d["data"]["y"])
        back = {v: k for k, v in public_keys(sheet.problem).items()}
        inputs, log = d["inputs"], d["log"]
        if isinstance(inputs, dict):
            inputs = renamed(inputs, back)
        if isinstance(log, list):
            log = [renamed(e, back) if isinstance(e, dict) else e for e in log]
        defaults = MemoryBook(sheet, data).inputs
        need = set(defaults)
        if not isinstance(inputs, dict) or set(inputs) != need:
            raise BadInput(f"{where}: inputs {sorted(inputs)} do not match sheet {sheet.name!r} ({sorted(need)})")
        for k, v in inputs.items():
            want = len(defaults[k]) if isinstance(defaults[k], list) else None
            got = len(v) if isinstance(v, list) else None
            if want != got:
                raise BadInput(f"{where}: input {k!r} holds {v!r}; it must be "
                               + (f"a list of {want} numbers" if want else "one number")
                               + " - fix it, or delete the file to start from Reset")
            for n in (v if isinstance(v, list) else [v]):
                if not isinstance(n, (int, float)) or isinstance(n, bool) or not math.isfinite(n):
                    raise BadInput(f"{where}: input {k!r} holds {v!r}, not a finite number")
        lr = inputs.get("lr")
        if isinstance(lr, (int, float)) and not lr > 0:
            raise BadInput(f"{where}: lr is {lr!r}; lr must be a finite number > 0 (the sheets never make "
                           "another) - fix the value, or delete the file to start from Reset")
        for k in BETAS:
            v = inputs.get(k)
            if isinstance(v, (int, float)) and not 0 <= v < 1:
                raise BadInput(f"{where}: {k} (a beta) is {v!r}; it must be a number in [0, 1) - fix the "
                               "value, or delete the file to start from Reset")
        if not isinstance(log, list) or not log or not all(isinstance(e, dict) and "epoch" in e for e in log):
            raise BadInput(f"{where}: the epoch log is missing or malformed")
        _check_log(log, where)
        carry = d.get("carry", "lesson")
        if carry not in buttons.CARRIES:
            raise BadInput(f"{where}: carry {carry!r} is not one of {', '.join(buttons.CARRIES)}")
        book = MemoryBook(sheet, data, inputs, log)
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(f"{where} is corrupt ({type(e).__name__}: {e}); delete it to start from Reset") from None
    return book, carry


LOG_KEYS = ("epoch", "rmse", "const", "slope", "lr")


def _check_log(log, where):
    """Each entry: a whole epoch count >= 0, counting up, and numbers (rmse may be NaN: the lesson's
    sheets without an rmse cell log it so)."""
    for i, e in enumerate(log):
        bad = next((k for k in LOG_KEYS if k not in e or isinstance(e[k], bool)
                    or not isinstance(e[k], (int, float))), None)
        if bad is None and (not float(e["epoch"]).is_integer() or e["epoch"] < 0
                            or (i and e["epoch"] <= log[i - 1]["epoch"])):
            bad = "epoch"
        if bad is not None:
            raise BadInput(f"{where}: entry {i + 1} of the epoch log has {bad} = {e.get(bad)!r}; each entry "
                           f"needs numbers {', '.join(LOG_KEYS)} (whole epochs >= 0, counting up) - fix it, or "
                           "delete the file to start from Reset")


def load(path, sheet_name=None, problem=None):
    regular_file(path, "state file")
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except RecursionError:
        raise BadInput(f"state file {path} is corrupt (nested too deeply to be a state file); delete it "
                       "to start from Reset") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"state file {path} is corrupt (not JSON: {e}); delete it to start from Reset") from None
    except UnicodeDecodeError:
        raise BadInput(f"state file {path} is corrupt (not text); delete it to start from Reset") from None
    except OSError as e:
        raise BadInput(f"cannot read state file {path}: {e.strerror}") from None
    book, carry = from_dict(d, f"state file {path}")
    if sheet_name is not None and book.sheet.name != sheet_name:
        raise BadInput(f"state file {path} belongs to sheet {book.sheet.name!r}, not {sheet_name!r}: "
                       f"use another --state file or run {book.sheet.name}")
    mine, asked = book.sheet.problem.name, sheets.get(book.sheet.name, problem).problem.name
    if mine != asked:
        raise BadInput(f"state file {path} belongs to problem {mine!r}, not {asked!r}: use another --state "
                       f"file, or run it with --problem {mine}")
    return book, carry


def save(book, carry, path):
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise BadInput(f"cannot write state file {path}: folder {d} does not exist")
    try:
        write_text(path, json.dumps(to_dict(book, carry), indent=1) + "\n")
    except OSError as e:
        raise BadInput(f"cannot write state file {path}: {e.strerror}") from None
