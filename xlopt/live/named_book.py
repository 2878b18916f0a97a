"""The buttons' book interface over one sheet of a live workbook, through its defined names.

One adapter for every live back end: a small driver (LibreOffice over UNO, Excel over xlwings)
reads and writes A1 ranges, recalculates and switches calculation modes; this class does the rest —
which definition the sheet follows (its `sheetkind` name, else the lesson's layout), the names the
lesson's own file lacks (taken from the cells its layout gives them), the checks of every input
and of the pass (only over the columns the sheet really has), and the epoch log.

A driver offers: `name`; raw_names() -> {name: stored text}; read(ref) -> rows of cells, each a
float, '' (empty), a str (text) or ('error', text); write(ref, rows) (None clears a cell);
calculate(); is_auto(); set_auto(on) (on: also recalculate).
"""
import math
from contextlib import contextmanager

from xlopt.core import recognise
from xlopt.core.cells import cells_of, col_index, col_letters, parse_ref
from xlopt.core.errors import BadInput
from xlopt.core.sheet import FIRST_ROW

LOG_KEYS = ("epoch", "rmse", "const", "slope", "lr")  # the columns of `epochlog`


def finite(v):
    return isinstance(v, float) and math.isfinite(v)


def check_number(where, value, reset_restores=True):
    """A finite float from a cell's raw value, or BadInput naming the sheet and the cell.

    reset_restores: the cell is one Reset writes, so the message offers Reset as the other fix."""
    hint = " (or press Reset)" if reset_restores else ""
    if isinstance(value, tuple):
        raise BadInput(f"{where} shows the error {value[1]}, not a number; fix that cell{hint}")
    if value is None or value == "":
        raise BadInput(f"{where} is empty; type a number there{hint}")
    if isinstance(value, str):
        raise BadInput(f"{where} holds text {value!r}, not a number; type a number there{hint}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where} holds {value!r}, not a number")
    v = float(value)
    if not math.isfinite(v):
        raise BadInput(f"{where} holds {v}, not a finite number")
    return v


class NamedRangeBook:
    """One sheet of a live workbook: names, calculation mode, checks, the epoch log."""

    def __init__(self, driver):
        self.driver, self.name = driver, driver.name
        refs, consts = recognise.split_names(driver.raw_names())
        self.sheet = recognise.sheet_of(self.name, refs, consts, self._filled(refs))
        self._fallback = recognise.fallback_names(self.sheet, refs, consts)
        self._refs = dict(refs, **self._fallback)
        self.columns = recognise.present_columns(self.sheet, consts)
        self._memory_log = None if (self.has("epochlog") or self.has("rmses")) else []

    def _filled(self, refs):
        """filled(letters) -> [bool]: which of those columns hold something in the first data row."""
        def filled(letters):
            if "lastconst" not in refs:
                return [False] * len(letters)
            lo, hi = min(letters, key=col_index), max(letters, key=col_index)
            cells = self.driver.read(f"{lo}{FIRST_ROW}:{hi}{FIRST_ROW}")[0]
            return [cells[col_index(c) - col_index(lo)] != "" for c in letters]
        return filled

    @property
    def round_trips(self):
        return getattr(self.driver, "round_trips", 0)

    # --- the book interface ---------------------------------------------------------------------
    def has(self, name):
        return name in self._refs

    def address(self, name):
        """The cell(s) behind a name, e.g. 'D2' or 'J32:K32', for messages that name the cell."""
        try:
            return self._refs[name]
        except KeyError:
            raise BadInput(f"sheet {self.name!r} has no defined name {name!r}: it is not one of the "
                           "lesson's optimizer sheets, or its names were deleted") from None

    def get(self, name):
        ref = self.address(name)
        cells = cells_of(ref)
        flat = [v for row in self.driver.read(ref) for v in row]
        restores = name in self.sheet.reset_restores
        values = [check_number(f"sheet {self.name!r}, cell {c} ({name})", v, restores) for c, v in zip(cells, flat)]
        return values if ":" in ref else values[0]  # a range, even of one cell, reads as a list

    def set(self, name, value):
        ref = self.address(name)
        r0, c0, r1, c1 = parse_ref(ref)
        values = [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]
        width = c1 - c0 + 1
        if len(values) != width * (r1 - r0 + 1):
            raise BadInput(f"sheet {self.name!r} {name}: {len(values)} values for {width * (r1 - r0 + 1)} cells")
        self.driver.write(ref, [values[i:i + width] for i in range(0, len(values), width)])

    def calculate(self):
        self.driver.calculate()

    @contextmanager
    def manual(self):
        """Manual calculation inside; the mode as it was afterwards (automatic recalculates then)."""
        old = self.driver.is_auto()
        if old:
            self.driver.set_auto(False)
        try:
            yield self
        finally:
            if old:
                self.driver.set_auto(True)

    # --- the checks of the pass ------------------------------------------------------------------
    def _first_bad(self):
        """(1-based data row, cell) of the first cell of the pass that is not a finite number, one read."""
        if "data_x" not in self._refs:
            return None, None
        r0, _, r1, _ = parse_ref(self._refs["data_x"])
        computed = {c.letter for c in self.sheet.columns} | {"C", "D"}
        cols = sorted(col_index(c) for c in self.columns if c in computed)
        summary = [parse_ref(self._refs[sm.key])[:2] for sm in self.sheet.summaries if sm.key in self._refs]  # named: present
        lo, hi = min(cols + [c for _, c in summary]), max(cols + [c for _, c in summary])
        bottom = max([r1] + [r for r, _ in summary])
        rows = self.driver.read(f"{col_letters(lo)}{r0 + 1}:{col_letters(hi)}{bottom + 1}")
        for r, c in [(r, c) for r in range(r0, r1 + 1) for c in cols] + summary:
            if not finite(rows[r - r0][c - lo]):
                return min(r, r1) - r0 + 1, f"{col_letters(c)}{r + 1}"
        return None, None

    def first_bad_row(self):
        return self._first_bad()[0]

    def first_bad_cell(self):
        """The first cell of the pass that is not a finite number, e.g. 'G10'."""
        return self._first_bad()[1]

    # --- the log -----------------------------------------------------------------------------------
    def read_log(self):
        if self._memory_log is not None:
            return [dict(e) for e in self._memory_log]
        if self.has("epochlog"):
            out = []
            for row in self.driver.read(self._refs["epochlog"]):
                if not finite(row[0]):
                    break
                e = {k: (v if finite(v) else math.nan) for k, v in zip(LOG_KEYS, row)}
                e["epoch"] = int(e["epoch"])
                out.append(e)
            return out
        out = []
        for i, row in enumerate(self.driver.read(self._refs["rmses"])):
            if not finite(row[0]):
                break
            out.append({"epoch": i + 1, "rmse": row[0]})  # the lesson's basic: rmse only
        return out

    def write_log(self, entries):
        """The log's rows (when the area is full: the Reset row and the latest epochs); the rest cleared."""
        if self._memory_log is not None:
            self._memory_log = [dict(e) for e in entries]
            return
        key = "epochlog" if self.has("epochlog") else "rmses"
        r0, c0, r1, c1 = parse_ref(self._refs[key])
        size = r1 - r0 + 1
        if key == "rmses":  # the lesson's basic sheet logs rmse only, from the first epoch
            entries = [e for e in entries if e["epoch"] >= 1][-size:]
        elif len(entries) > size:
            entries = entries[:1] + entries[-(size - 1):]
        cols = LOG_KEYS if key == "epochlog" else ("rmse",)
        rows = [[float(e[k]) for k in cols] for e in entries]
        self.driver.write(self._refs[key], rows + [[None] * len(cols)] * (size - len(rows)))
