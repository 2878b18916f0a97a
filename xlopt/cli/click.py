"""xlopt click: press Run or Reset in a workbook without Excel, through LibreOffice.

Opens the workbook in a private headless LibreOffice, runs the same macro logic as the Excel buttons
(`xlopt.macros.press`: every input read and checked, the button pressed on an in-memory copy first,
then on the sheet, whose own formulas LibreOffice recalculates), and saves. The file is written only
when everything succeeded, through a temp file moved into place: on any error it is untouched.
An .xlsm keeps its buttons, charts, names and VBA project byte for byte (`xlopt.live.keep_parts`).
"""
import os
import re
import time
import zipfile

from xlopt.core import buttons, locks, progress, sheets, state, workbook_file
from xlopt.live import press
from xlopt.core.atomic import replacing
from xlopt.core.cells import col_index, parse_ref
from xlopt.core.errors import BadInput, Diverged

SUFFIXES = (".xlsx", ".xlsm")
MAX_TIMES = 1000  # a documented bound: 5000 epochs, minutes of LibreOffice


def add_arguments(p):
    p.epilog = ("The carry mode is the workbook's name `carry` (=\"lesson\" or =\"full\"; the lesson's own "
                "workbook has none: lesson) unless --carry overrides it. Exit status: 2 bad input (a cell, "
                "a name, the file), 3 diverged, 4 LibreOffice missing, 5 busy (--lock-timeout ran out while "
                "another xlopt wrote the workbook); the workbook is then left as it was.")
    p.add_argument("button", choices=press.BUTTONS, help="run: five epochs a press; reset: start over")
    p.add_argument("workbook", metavar="WORKBOOK", help="an .xlsx or .xlsm (xlopt build, or the lesson's graddesc.xlsm)")
    p.add_argument("--sheet", required=True, metavar="SHEET", help=f"the sheet whose button to press: {', '.join(sheets.SHEETS)}")
    p.add_argument("--times", type=int, default=1, help=f"press it this many times, 1 to {MAX_TIMES} (default 1)")
    p.add_argument("--carry", choices=buttons.CARRIES, default=None,
                   help="override the workbook's carry mode for this press")
    locks.add_argument(p)


# --- the work -------------------------------------------------------------------------------------
def workbook_carry(path):
    """The workbook-scope defined name `carry` read from the file (LibreOffice's Doc offers sheet names only)."""
    try:
        with zipfile.ZipFile(path) as z:
            raw = z.read("xl/workbook.xml")
        xml = raw.decode("utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return "lesson"  # LibreOffice's load names the real problem
    for attrs, value in re.findall(r"<definedName ([^>]*)>([^<]*)</definedName>", xml):
        if re.search(r'\bname="carry"', attrs) and "localSheetId" not in attrs:
            return buttons.parse_carry(value.replace("&quot;", '"'), f", or pass --carry ({path})")
    return "lesson"


def check_path(path):
    path = os.path.abspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise BadInput(f"{path}: xlopt click opens {' or '.join(SUFFIXES)} workbooks")
    if not os.path.isfile(path):
        raise BadInput(f"{path} does not exist" if not os.path.exists(path) else f"{path} is not a file")
    if not os.access(path, os.W_OK) or not os.access(os.path.dirname(path), os.W_OK):
        raise BadInput(f"cannot write {path}: permission denied (the file or its folder is read-only)")
    return path


def save(doc, path):
    """Save over `path` atomically, keeping what LibreOffice would drop or rewrite: the VBA project,
    the buttons (VML shapes, ctrlProps and their macros), the charts and the defined names."""
    from xlopt.live import keep_parts
    with replacing(path) as tmp:
        saved = tmp + os.path.splitext(path)[1]
        try:
            doc.save(saved)
            keep_parts.restore(path, saved, tmp)
        finally:
            if os.path.exists(saved):
                os.remove(saved)


def click(path, button, sheet, times=1, carry=None, lo=None, lock_timeout=None):
    """Press the button and save; returns a summary dict. `lo`: a running LibreOffice to reuse.

    The workbook is locked from its load to its save: a second writer waits (or, after
    `lock_timeout` seconds, fails with Busy) and then presses on what the first one saved."""
    path = check_path(path)
    if times < 1:
        raise BadInput(f"--times must be at least 1, got {times}")
    if times > MAX_TIMES:
        raise BadInput(f"--times must be at most {MAX_TIMES}, got {times}; press again in another call")
    presses = times if button == "run" else 1
    with locks.locked(path, lock_timeout, "workbook"), \
            progress.bar(presses, f"{sheet}: {button}", unit="press", delay_s=0) as tick:  # a terminal only
        return _click(path, button, sheet, times, carry, lo, tick)


def check_formulas(doc, book):
    """Refuse a sheet whose computed columns hold constants (formulas replaced by their values):
    Run would carry numbers the formulas no longer make, and save them."""
    present = set(getattr(book, "columns", ()) or ())
    try:
        _, _, last, _ = parse_ref(book.address("lastconst"))  # the last data row, in the lesson's file too
    except (BadInput, KeyError, AttributeError):
        return  # read_inputs names the missing name
    formulas = doc.formulas(book.name)
    columns = [c for c in book.sheet.columns if c.letter in present]
    if not columns:
        return
    lo_col = min(columns, key=lambda c: col_index(c.letter)).letter
    hi_col = max(columns, key=lambda c: col_index(c.letter)).letter
    values = doc.read_raw(book.name, f"{lo_col}{sheets.FIRST_ROW}:{hi_col}{last + 1}")
    for i, row in enumerate(range(sheets.FIRST_ROW, last + 2)):
        for c in columns:
            value = values[i][col_index(c.letter) - col_index(lo_col)]
            # a number where a formula belongs (text and errors: check_pass names them)
            if isinstance(value, float) and f"{c.letter}{row}" not in formulas:
                raise BadInput(f"sheet {book.name!r}, cell {c.letter}{row} ({c.title}) holds a number, not the "
                               "formula the sheet computes there (were the formulas replaced by their values?); "
                               "Run would save wrong numbers - undo that, or rebuild the workbook with xlopt build")


def _per_press(tick):
    """The bar advances once a press: every EPOCHS_PER_CLICK epochs of Run."""
    epochs = [0]

    def epoch_done():
        epochs[0] += 1
        if epochs[0] % buttons.EPOCHS_PER_CLICK == 0:
            tick()
    return epoch_done


def _click(path, button, sheet, times, carry, lo, tick=progress.noop):
    from xlopt.live.lo import LibreOffice, UnoBook

    if lo is None:
        workbook_file.check_parts(path)  # before LibreOffice drops what it cannot read
    carry = carry or workbook_carry(path)
    if lo is None:
        with LibreOffice() as own:
            return _click(path, button, sheet, times, carry, own, tick)
    doc = lo.load(path)
    try:
        book = UnoBook(doc, sheet)
        check_formulas(doc, book)
        before = len(book.read_log())
        log = press.press(book, button, times, carry, _per_press(tick) if button == "run" else tick)
        doc.calculate_all()
        names = state.public_keys(book.sheet.problem)  # x, y and loss on a function problem
        top = {names.get(k, k): book.get(k) for k in ("const", "slope", "lr", book.sheet.rmse_key) if book.has(k)}
        save(doc, path)
    finally:
        doc.close()
    return {"path": path, "sheet": sheet, "button": button, "carry": carry, "top": top,
            "log": log[before:] if button == "run" else log}


def main(args):
    t = time.perf_counter()
    try:
        r = _main_click(args)
    except Diverged as e:  # click has no --lr: the fix is the sheet's own lr cell
        e.args = (str(e).replace("try a smaller --lr", "type a smaller lr into the sheet's lr cell, then Reset"),)
        raise
    return _report(args, r, t)


def _main_click(args):
    return click(args.workbook, args.button, args.sheet, args.times, args.carry, lock_timeout=args.lock_timeout)


def _report(args, r, t):
    top = ", ".join(f"{k} {v:.6g}" for k, v in r["top"].items())
    what = (f"Run x{args.times} ({buttons.EPOCHS_PER_CLICK * args.times} epochs, carry {r['carry']})"
            if args.button == "run" else "Reset")
    epoch = r["log"][-1]["epoch"] if r["log"] else 0
    print(f"{r['sheet']}: {what} -> epoch {epoch}: {top}; saved {r['path']} "
          f"in {time.perf_counter() - t:.2f} s")
    return 0
