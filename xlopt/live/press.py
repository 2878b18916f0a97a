"""The checked press: read and validate every input, dry-run on an in-memory copy, then write.

Any back end shares it (`xlopt click` with a LibreOffice book, the Excel macros with an xlwings
book). `press` computes everything first and writes once: it reads every input through the sheet's
names, checks them (one message naming the sheet and the cell), and presses the same button on an
in-memory copy of the sheet, so bad cells and divergence are found before anything is written. Only
then does it press the button on the real sheet, which recalculates its own formulas; should that
still fail, every name it wrote gets its old value back.
"""
import math
from dataclasses import dataclass

from xlopt.core import buttons, sheets
from xlopt.core.cells import cells_of
from xlopt.core.engine import Data, MemoryBook, blame_data, default_inputs
from xlopt.core.errors import BadInput, Diverged
from xlopt.core.sheet import BETAS

BUTTONS = ("run", "reset")


# --- the shared procedure ---------------------------------------------------------------------------
@dataclass
class Inputs:
    """Everything a sheet's pass depends on, read once through its names."""
    layout: object   # xlopt.sheets.Sheet
    data: Data
    values: dict     # const, slope, lr, β's, targets, prev_grad2
    log: list
    unusable: tuple = ()  # names whose cells held no usable number (read leniently: their defaults)

    def memory_book(self):
        return MemoryBook(self.layout, self.data, dict(self.values), [dict(e) for e in self.log])


def where(book, name, offset=0):
    """'sheet 'adam', cell D2 (lr)' where the book knows its cells, else 'sheet 'adam', name lr'."""
    address = getattr(book, "address", None)
    if address is None:
        return f"sheet {book.name!r}, name {name}"
    cells = cells_of(address(name))
    return f"sheet {book.name!r}, cell {cells[min(offset, len(cells) - 1)]} ({name})"


def _number(book, name, value, offset=0, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{where(book, name, offset)} holds {value!r}, not a finite number")
    if positive and value <= 0:
        raise BadInput(f"{where(book, name, offset)} holds {value!r}; the learning rate must be a number > 0")
    return float(value)


def read_inputs(book, lenient=()):
    """Read and check every input of the sheet (BadInput naming the sheet and cell on the first bad one).

    lenient: names whose cells may hold anything (text, an error, nothing, lr <= 0): they read as
    their defaults and are listed in `unusable` (what Reset writes anyway)."""
    layout = book.sheet
    values, unusable = {}, []
    for name, default in default_inputs(layout).items():
        if not book.has(name):
            raise BadInput(f"sheet {book.name!r} has no defined name {name!r}, which the {layout.name} "
                           "buttons need: restore it (Formulas > Name Manager) or rebuild the workbook")
        if name in lenient:
            try:
                v = book.get(name)
                v = [_number(book, name, x, i) for i, x in enumerate(v)] if isinstance(v, list) else \
                    _number(book, name, v, positive=(name == "lr"))
            except BadInput:
                values[name] = default
                unusable.append(name)
                continue
        else:
            v = book.get(name)
        if isinstance(default, list) and not isinstance(v, list):
            v = [v]  # a one-cell target (adam_bc's step count) read as a number
        if isinstance(default, list):
            if not isinstance(v, list) or len(v) != len(default):
                raise BadInput(f"{where(book, name)} should be {len(default)} cells, got {v!r}")
            values[name] = [_number(book, name, x, i) for i, x in enumerate(v)]
        else:
            values[name] = _number(book, name, v, positive=(name == "lr"))
            if name in BETAS and not 0 <= values[name] < 1:
                raise BadInput(f"{where(book, name)} holds {v!r}; {name} is a beta and must be a number in "
                               "[0, 1): type one such as 0.9 there")
    columns = []
    for name in ("data_x", "data_y"):
        if not book.has(name):
            raise BadInput(f"sheet {book.name!r} has no defined name {name!r} for its data column")
        v = book.get(name)
        v = v if isinstance(v, list) else [v]
        columns.append([_number(book, name, x, i) for i, x in enumerate(v)])
    if len(columns[0]) != len(columns[1]) or len(columns[0]) < 2:
        raise BadInput(f"sheet {book.name!r}: data_x and data_y need the same number (>= 2) of rows")
    return Inputs(layout, Data(*columns), values, book.read_log(), tuple(unusable))


def check_pass(book):
    """Refuse to carry a pass that already shows an error or a non-finite value (Reset is allowed)."""
    row = book.first_bad_row()
    if row is None:
        return
    finder = getattr(book, "first_bad_cell", None)
    cell = finder() if finder else None
    at = f"cell {cell}" if cell else f"data row {row} (sheet row {row + sheets.FIRST_ROW - 1})"
    raise BadInput(f"sheet {book.name!r} shows an error or a non-finite value at {at} before Run: "
                   "fix that cell, lower lr, or press Reset")


def _press(book, button, epochs, carry, tick=None, unusable=()):
    if button == "run":
        return buttons.run(book, epochs, carry, tick)
    if "lr" in unusable and book.sheet.reset.lr is None:  # Reset leaves lr alone, but it held no number
        book.set("lr", book.sheet.lr_default)
    buttons.reset(book)
    if tick is not None:
        tick()
    return book.read_log()


def _located(e, inputs, mem, present):
    """Diverged from the dry run, with the first cell that stopped being finite named."""
    row = e.row
    shown = [c for c in inputs.layout.columns if present is None or c.letter in present]
    for c in sorted(shown, key=lambda c: (len(c.letter), c.letter)):
        v = mem.pass_.cols[c.key][row - 1] if row - 1 < len(mem.pass_.cols[c.key]) else 0.0
        if not math.isfinite(v):
            cell = f"{c.letter}{row + sheets.FIRST_ROW - 1}"
            return Diverged(e.sheet, e.epoch, row, detail=f" (cell {cell}, {c.title})")
    return e


def restore(book, snap):
    values, log = snap
    with book.manual():
        for n, v in values.items():
            book.set(n, v)
        book.write_log(log)
        book.calculate()


def press(book, button, times=1, carry="lesson", tick=None):
    """Press Run (five epochs a time) or Reset on `book`, checked first on a copy; returns the log.

    tick: called after each epoch of Run (once for Reset) on the real book: a progress bar."""
    if button not in BUTTONS:
        raise BadInput(f"button must be one of {', '.join(BUTTONS)}, got {button!r}")
    if carry not in buttons.CARRIES:
        raise BadInput(f"carry must be one of {', '.join(buttons.CARRIES)}, got {carry!r}")
    if not isinstance(times, int) or times < 1:
        raise BadInput(f"--times must be at least 1, got {times}")
    # Reset writes the top, the targets and lr whatever they held: text typed there is what it is for
    inputs = read_inputs(book, book.sheet.reset_restores if button == "reset" else ())
    if button == "run" and carry == "full" and not book.has("lastnewconst"):
        raise BadInput(f"sheet {book.name!r} has no names lastnewconst/lastnewslope: carry 'full' needs "
                       "the last row's new b and new a; rebuild the workbook with xlopt build")
    if button == "run":
        check_pass(book)
    epochs = buttons.EPOCHS_PER_CLICK * times
    mem = inputs.memory_book()
    try:
        _press(mem, button, epochs, carry)
    except Diverged as e:  # the cell that overflowed; the data themselves, if no lr could help
        raise blame_data(_located(e, inputs, mem, getattr(book, "columns", None)), inputs.layout, inputs.data) from None
    snap = ({n: v for n, v in inputs.values.items() if n in inputs.layout.written and n not in inputs.unusable},
            inputs.log)
    try:
        return _press(book, button, epochs, carry, tick, inputs.unusable)
    except BaseException:
        restore(book, snap)
        raise
