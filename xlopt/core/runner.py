"""A headless session on one sheet: open a state file (or press Reset), type an lr, press Run, save.

Shared by `xlopt run` and `torch-side linreg` (which passes `make_book` to recalculate with torch),
so the same arguments and the same state file mean the same run in both.
"""
import contextlib
import csv
import math
import os

from xlopt.core import buttons, locks, problems, progress, sheets, state
from xlopt.core.console import regular_file
from xlopt.core.engine import Data, MemoryBook, blame_data
from xlopt.core.errors import BadInput, Diverged

FORMATS = ("table", "json", "csv")
MAX_EPOCHS = 100_000  # a documented bound: about a minute of the engine, a few of torch
HISTORY_KEYS = ("epoch", "const", "slope", "lr", "rmse")


# --- arguments ----------------------------------------------------------------------------------
def _add_common(p, state_help):
    p.add_argument("sheet", metavar="SHEET", help=f"one of {', '.join(sheets.SHEETS)}")
    p.add_argument("--problem", default=None, metavar="PROBLEM",
                   help=f"what the sheet minimises: one of {', '.join(problems.PROBLEMS)} (default "
                        f"{problems.DEFAULT}: the lesson's y = a*x + b on data; the others are functions of x, y)")
    p.add_argument("--state", metavar="FILE", help=state_help)
    p.add_argument("--format", default="table", choices=FORMATS,
                   help="table for people (default), json for programs, csv for pandas")
    p.add_argument("--data", default=None, metavar="lesson|random|FILE.csv",
                   help="data for a new state: the lesson's 29 rows (default), random rows like the data "
                        "sheet (y = 2x + 30, x in 1..100) from --seed, or a CSV with columns x,y")
    p.add_argument("--seed", type=int, default=0, help="seed for --data random (default 0)")
    p.add_argument("--rows", type=int, default=29, help="rows for --data random (default 29)")


def add_arguments_run(p):
    p.epilog = ("Without --state every run starts from the sheet's Reset. With --state FILE the run "
                "continues from FILE (Reset first if it does not exist) and saves the new state there, "
                "like pressing Run again later. Exit status: 2 bad input, 3 diverged (the state file is "
                "left as it was), 5 busy (--lock-timeout ran out while another xlopt wrote the state file).")
    _add_common(p, "continue from this state file and save to it (atomically)")
    p.add_argument("--epochs", type=int, default=buttons.EPOCHS_PER_CLICK,
                   help=f"epochs to run, 1 to {MAX_EPOCHS} (default 5: one click of Run)")
    p.add_argument("--lr", type=float, default=None, help="type this learning rate into the lr cell first")
    p.add_argument("--carry", choices=buttons.CARRIES, default=None,
                   help="lesson (default): carry the last row's inputs, as the lesson's macro does "
                        "(28 updates an epoch); full: carry its new b and new a")
    locks.add_argument(p)


def add_arguments_show(p):
    _add_common(p, "show the pass of this state file (default: the sheet right after Reset)")


# --- the work -------------------------------------------------------------------------------------
def load_data(args):
    problem = problems.get(getattr(args, "problem", None))
    if problem.is_function:
        if args.data is not None:
            raise BadInput(f"--data applies to the lesson's problem; {problem.name} is a function of x and y with "
                           "no data (each row is one step): drop --data, or drop --problem")
        return Data.steps()
    if args.data in (None, "lesson"):
        return Data.lesson()
    if args.data == "random":
        return Data.random(args.seed, args.rows)
    return read_csv(args.data)


def read_csv(path):
    regular_file(path, "data file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise BadInput(f"cannot read data file {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BadInput(f"data file {path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}; "
                       "a Latin-1 or UTF-16 file?): save it as CSV UTF-8") from None
    except csv.Error as e:
        raise BadInput(f"data file {path} is not a CSV of x,y numbers ({e})") from None
    if not rows or not {"x", "y"} <= set(rows[0]):
        raise BadInput(f"data file {path} needs a header with columns x and y")
    x, y = [], []
    for i, r in enumerate(rows, start=2):
        try:
            x.append(float(r["x"]))
            y.append(float(r["y"]))
        except (TypeError, ValueError):
            raise BadInput(f"data file {path}, line {i}: x={r['x']!r}, y={r['y']!r} is not a pair of numbers") from None
    return Data(x, y)


def open_book(args, make_book=None):
    """The book to act on and its carry: the state file's if it exists, else a fresh Reset."""
    problem = getattr(args, "problem", None)
    sheets.get(args.sheet, problem)  # unknown sheet or problem: one message before anything else
    if args.state and os.path.exists(args.state):
        if args.data is not None:
            raise BadInput(f"--data applies to a new state; {args.state} already holds its data")
        book, carry = state.load(args.state, args.sheet, problem)
        if make_book is not None:
            book = make_book(book.sheet, book.data, book.inputs, book.log)
    else:
        book = state.fresh(args.sheet, load_data(args), make_book or MemoryBook, problem)
        carry = "lesson"
    return book, getattr(args, "carry", None) or carry


def run(args, make_book=None):
    """Shared by `xlopt run` and `torch-side linreg` (make_book builds the torch book)."""
    if args.lr is not None and (not math.isfinite(args.lr) or args.lr <= 0):
        raise BadInput(f"--lr must be a finite number > 0, got {args.lr}")
    if args.epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {args.epochs}")
    if args.epochs > MAX_EPOCHS:
        raise BadInput(f"--epochs must be at most {MAX_EPOCHS}, got {args.epochs}; continue a longer run "
                       "in steps with --state FILE")
    if args.state:
        regular_file(args.state, "state file")  # before the lock: opening a FIFO blocks
    book = None
    with _state_lock(args):  # the whole read-modify-write: a second writer waits
        try:
            book, carry = open_book(args, make_book)
            if args.lr is not None:
                buttons.set_lr(book, args.lr)
            before = len(book.read_log())
            with progress.bar(args.epochs, f"{book.sheet.name} ({carry} carry)") as tick:  # a terminal only
                log = buttons.run(book, args.epochs, carry, tick)
        except Diverged as e:  # the data themselves may overflow, whatever the lr (Reset included)
            sheet, data = ((book.sheet, book.data) if book is not None else
                           (sheets.get(args.sheet, getattr(args, "problem", None)), load_data(args)))
            raise blame_data(e, sheet, data) from None
        if args.state:
            state.save(book, carry, args.state)
    return result_dict(book, carry, log[before:])


def _state_lock(args):
    if not args.state:
        return contextlib.nullcontext()
    return locks.locked(args.state, getattr(args, "lock_timeout", None), "state file")


def history_keys(problem):
    """The history's columns as JSON and CSV name them (x, y and loss on a function problem)."""
    keys = state.public_keys(problem)
    return tuple(keys.get(k, k) for k in HISTORY_KEYS)


def result_dict(book, carry, history):
    keys = state.public_keys(book.sheet.problem)
    out = {"sheet": book.sheet.name, "carry": carry}
    if not book.sheet.problem.lesson:
        out["problem"] = book.sheet.problem.name
    out.update({"history": [{keys.get(k, k): e[k] for k in HISTORY_KEYS} for e in history],
                "state": state.to_dict(book, carry)})
    return out


