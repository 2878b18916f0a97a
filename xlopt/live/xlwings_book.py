"""The buttons' book interface over one sheet of a workbook open in Excel, through xlwings.

Every read and write goes through the sheet's defined names (sheet scope, as the lesson's workbook
and ours define them). The lesson's own graddesc.xlsm lacks a few names that ours carry (basic's lr
in F1, the β cells, the data columns): those, and only those, fall back to the cells where the sheet
layout puts them. Each method is one or two round trips to Excel, whatever the number of rows.
"""
import math
import re
from contextlib import contextmanager

from xlopt.core import buttons, sheets
from xlopt.core.cells import cells_of, col_letters, parse_ref
from xlopt.core.errors import BadInput
from xlopt.live.press import fallback_refs

LOG_COLUMNS = ("epoch", "rmse", "const", "slope", "lr")  # the columns of `epochlog`


def split_ref(refers_to):
    """'=adam!$D$2' or "='my sheet'!$J$33:$K$33" -> ('adam', '$D$2'); a constant -> (None, None)."""
    m = re.fullmatch(r"=?(?:'((?:[^']|'')+)'|([^'!=]+))!(\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?\d+)?)", refers_to or "")
    if not m:
        return None, None
    return (m.group(1) or "").replace("''", "'") or m.group(2), m.group(3)


def sheet_names(sheet):
    """{name: '$C$1'} of the sheet-scoped names that refer to cells of this sheet (one pass over names)."""
    out = {}
    for n in sheet.names:
        _, local = n.name.rsplit("!", 1) if "!" in n.name else (None, n.name)
        where, ref = split_ref(n.refers_to)
        if ref and where == sheet.name:
            out[local] = ref
    return out


def workbook_carry(book):
    """The workbook-scope name `carry` (="lesson" or ="full"); the lesson's workbook has none: lesson."""
    for n in book.names:
        if n.name == "carry":
            return buttons.parse_carry(n.refers_to, " (Formulas > Name Manager)")
    return "lesson"


def cell_of(ref, offset=0):
    """'$J$33:$K$33', 1 -> 'K33' (the offset-th cell, row by row); '$D$2' -> 'D2'."""
    cells = cells_of(ref)
    return cells[min(offset, len(cells) - 1)]


def _split(cell):
    """'K33' -> (11, 33): 1-based column and row, as Excel counts them."""
    r, c, _, _ = parse_ref(cell)
    return c + 1, r + 1


def _letters(col):
    return col_letters(col - 1)


def check_number(sheet, name, ref, value, offset=0):
    """A finite float from a cell's value, or BadInput naming the sheet and the cell."""
    where = f"sheet {sheet!r}, cell {cell_of(ref, offset)} ({name})"
    if isinstance(value, bool) or value is None or value == "":
        raise BadInput(f"{where} is empty; type a number there (or press Reset)")
    if isinstance(value, str):
        kind = "an error" if value.startswith("#") else "text"
        raise BadInput(f"{where} holds {kind} {value!r}, not a number; type a number there (or press Reset)")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where} holds {value!r}, not a number") from None
    if not math.isfinite(v):
        raise BadInput(f"{where} holds {v}, not a finite number")
    return v


class XlwingsBook:
    """One sheet of a workbook open in Excel: names, calculation mode, the epoch log."""

    def __init__(self, sheet):
        self.sheet, self.app = sheet, sheet.book.app
        self.name = sheet.name
        self.round_trips = 0
        self._refs = sheet_names(sheet)
        self._log = []  # where a sheet has no log names (the lesson's sheets other than basic)
        self._refs.update(fallback_refs(self._refs, self.name))
        try:
            self.layout = sheets.get(buttons.kind_of(self))
        except BadInput:
            self.layout = None  # not an optimizer sheet: the buttons say so with one message

    # --- the book interface ---------------------------------------------------------------------
    def has(self, name):
        return name in self._refs

    def address(self, name):
        return self._ref(name).replace("$", "")

    def get(self, name):
        ref = self._ref(name)
        value = self._read(ref)
        if isinstance(value, list):
            flat = [v for row in value for v in (row if isinstance(row, list) else [row])]
            return [check_number(self.name, name, ref, v, i) for i, v in enumerate(flat)]
        return check_number(self.name, name, ref, value)

    def set(self, name, value):
        ref = self._ref(name)
        self._write(ref, list(value) if isinstance(value, (list, tuple)) else float(value))

    def calculate(self):
        self.round_trips += 1
        self.app.calculate()

    @contextmanager
    def manual(self):
        """Manual calculation inside; Excel's mode as it was afterwards (automatic for the lesson)."""
        self.round_trips += 1
        old = self.app.calculation
        if old != "manual":
            self.round_trips += 1
            self.app.calculation = "manual"
        try:
            yield self
        finally:
            if old != "manual":
                self.round_trips += 1
                self.app.calculation = old

    def first_bad_row(self):
        """1-based data row of the first cell holding an error or a non-finite value; n if a summary does."""
        bad = self._first_bad()
        return bad and bad[0]

    def first_bad_cell(self):
        bad = self._first_bad()
        return bad and bad[1]

    def _first_bad(self):
        layout = self.layout
        if layout is None or "lastconst" not in self._refs:
            return None
        n = int(re.sub(r"\D", "", cell_of(self._refs["lastconst"]))) - sheets.FIRST_ROW + 1
        first, last, s = layout.rows(n)
        cols = sorted({_split(c.letter + "1")[0] for c in layout.columns} | {1, 2, 3, 4})
        lo, hi = _letters(min(cols)), _letters(max(cols))
        block = self._read(f"{lo}{first}:{hi}{last}", rows=True)
        for i, row in enumerate(block):
            for c in cols:
                if not _is_finite(row[c - min(cols)]):
                    return i + 1, f"{_letters(c)}{first + i}"
        summary = [k for k in (sm.key for sm in layout.summaries) if k in self._refs]
        if summary:
            refs = [self._refs[k] for k in summary]
            spots = [_split(cells_of(r)[0]) for r in refs]
            c0, c1 = min(c for c, _ in spots), max(c for c, _ in spots)
            r0, r1 = min(r for _, r in spots), max(r for _, r in spots)
            block = self._read(f"{_letters(c0)}{r0}:{_letters(c1)}{r1}", rows=True)
            for c, r in spots:
                if not _is_finite(block[r - r0][c - c0]):
                    return n, f"{_letters(c)}{r}"
        return None

    def read_log(self):
        if "epochlog" in self._refs:
            out = []
            for r in self._read(self._refs["epochlog"], rows=True):
                if not _is_number(r[0]):
                    break
                out.append(dict(zip(LOG_COLUMNS, r), epoch=int(r[0])))
            return out
        if "rmses" in self._refs:
            col = self._read(self._refs["rmses"], rows=True)
            return [{"epoch": i + 1, "rmse": r[0]} for i, r in enumerate(col) if _is_number(r[0])]
        return [dict(e) for e in self._log]

    def write_log(self, entries):
        """The log's rows (when the area is full: the Reset row and the latest epochs); the rest cleared."""
        if "epochlog" in self._refs:
            size = len(cells_of(self._refs["epochlog"])) // len(LOG_COLUMNS)
            keep = entries if len(entries) <= size else entries[:1] + entries[-(size - 1):]
            rows = [[e.get(k) for k in LOG_COLUMNS] for e in keep]
            self._write(self._refs["epochlog"], rows + [[None] * len(LOG_COLUMNS)] * (size - len(rows)))
        elif "rmses" in self._refs:
            size = len(cells_of(self._refs["rmses"]))
            rmses = [e["rmse"] for e in entries if e["epoch"] >= 1][-size:]
            self._write(self._refs["rmses"], [[v] for v in rmses] + [[None]] * (size - len(rmses)))
        else:
            self._log = [dict(e) for e in entries]

    # --- plumbing ---------------------------------------------------------------------------------
    def _ref(self, name):
        try:
            return self._refs[name]
        except KeyError:
            raise BadInput(f"sheet {self.name!r} has no defined name {name!r}: it is not one of the "
                           "lesson's optimizer sheets, or its names were deleted") from None

    def _read(self, ref, rows=False):
        self.round_trips += 1
        options = {"err_to_str": True, "ndim": 2} if rows else {"err_to_str": True}
        return self.sheet.range(ref.replace("$", "")).options(**options).value

    def _write(self, ref, value):
        self.round_trips += 1
        self.sheet.range(ref.replace("$", "")).value = value


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_finite(v):
    return _is_number(v) and math.isfinite(v)
