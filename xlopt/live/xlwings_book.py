"""The buttons' book over one sheet of a workbook open in Excel, through xlwings: the shared
named-range book (xlopt.live.named_book) over a driver of one or two Excel round trips a call."""
import re

from xlopt.core import buttons
from xlopt.core.cells import cells_of
from xlopt.live.named_book import NamedRangeBook

EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!")


def split_ref(refers_to):
    """'=adam!$D$2' or "='my sheet'!$J$33:$K$33" -> ('adam', '$D$2'); a constant -> (None, None)."""
    m = re.fullmatch(r"=?(?:'((?:[^']|'')+)'|([^'!=]+))!(\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?\d+)?)", refers_to or "")
    if not m:
        return None, None
    return (m.group(1) or "").replace("''", "'") or m.group(2), m.group(3)


def sheet_names(sheet):
    """{name: stored text} of the sheet-scoped names of this sheet: its cells, its constants
    (`sheetkind`) and its broken names (#REF!), one pass over the names."""
    out = {}
    prefixes = (f"{sheet.name}!", f"'{sheet.name}'!")
    for n in sheet.names:
        if "!" not in n.name:
            continue
        scope, local = n.name.rsplit("!", 1)
        if scope.strip("'").replace("''", "'") != sheet.name:
            continue
        where, ref = split_ref(n.refers_to)
        if ref:
            if where == sheet.name:
                out[local] = ref
        else:
            text = (n.refers_to or "").lstrip("=")
            for p in prefixes:
                text = text[len(p):] if text.startswith(p) else text
            out[local] = text
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


def _raw(v):
    """An Excel value as the named book reads it: float, '' (empty), text or ('error', text)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return ("error", v) if v in EXCEL_ERRORS else v
    if isinstance(v, bool):
        return str(v)
    return float(v) if isinstance(v, (int, float)) else v


class XlwingsDriver:
    """A1 reads and writes on one sheet of a workbook open in Excel."""

    def __init__(self, sheet):
        self.sheet, self.app, self.name = sheet, sheet.book.app, sheet.name
        self.round_trips = 0

    def raw_names(self):
        return sheet_names(self.sheet)

    def read(self, ref):
        self.round_trips += 1
        rows = self.sheet.range(ref.replace("$", "")).options(err_to_str=True, ndim=2).value
        return [[_raw(v) for v in row] for row in rows]

    def write(self, ref, rows):
        self.round_trips += 1
        self.sheet.range(ref.replace("$", "")).value = rows

    def calculate(self):
        self.round_trips += 1
        self.app.calculate()

    def is_auto(self):
        self.round_trips += 1
        return self.app.calculation != "manual"

    def set_auto(self, on):
        self.round_trips += 1
        self.app.calculation = "automatic" if on else "manual"


class XlwingsBook(NamedRangeBook):
    """One sheet of a workbook open in Excel: names, calculation mode, the epoch log."""

    def __init__(self, sheet):
        super().__init__(XlwingsDriver(sheet))
        self.app = sheet.book.app
