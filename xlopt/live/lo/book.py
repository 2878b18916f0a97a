"""xlopt.core.buttons' book interface over one sheet of a workbook open in LibreOffice."""
import math
import re
from contextlib import contextmanager

from xlopt.core.cells import col_index, col_letters, parse_ref
from xlopt.core.errors import BadInput
from xlopt.live.lo.doc import finite

LOG_KEYS = ("epoch", "rmse", "const", "slope", "lr")


class UnoBook:
    """The book interface of `xlopt.buttons` (see engine.MemoryBook) over one sheet of a Doc."""

    def __init__(self, doc, sheet):
        from xlopt.live.press import fallback_refs
        if sheet not in doc.sheet_names():
            raise BadInput(f"the workbook has no sheet {sheet!r}; it has {', '.join(doc.sheet_names())}")
        self.doc, self.name = doc, sheet
        self._names = doc.names(sheet)
        # the lesson's own workbook names fewer cells (basic's lr, the betas, the data): take those
        # from its layout; and where a sheet has no log names, keep its log in memory
        self._fallback = fallback_refs(self._names, sheet)
        self._names.update(self._fallback)
        self._memory_log = None if (self.has("epochlog") or self.has("rmses")) else []
        self._auto = True

    def has(self, name):
        return name in self._names

    def _need(self, name):
        if name not in self._names:
            raise BadInput(f"sheet {self.name!r} has no name {name!r}")

    def address(self, name):
        """The cell(s) behind a name, e.g. 'D2' or 'J32:K32', for messages that name the cell."""
        self._need(name)
        return self._names[name].replace("$", "")

    def get(self, name):
        self._need(name)
        if name not in self._fallback:
            return self.doc.read(self.name, name)
        cell = self.address(name)
        try:
            return self.doc.read(self.name, cell)
        except BadInput as e:  # name the cell as the layout names it
            raise BadInput(re.sub(rf"cell ({cell.split(':')[0]}|\w+\d+)\b", rf"cell \1 ({name})", str(e), count=1)) from None

    def set(self, name, value):
        self._need(name)
        self.doc.write(self.name, self.address(name) if name in self._fallback else name, value)

    def calculate(self):
        self.doc.calculate_all()

    @contextmanager
    def manual(self):
        old = self._auto
        if old:
            self.doc.set_auto_calc(False)
            self._auto = False
        try:
            yield self
        finally:
            if old:
                self.doc.set_auto_calc(True)
                self._auto = True
                self.doc.calculate_all()

    def _block(self):
        """(first data row, last data row, columns to check, last row to read, summary cells), 0-based."""
        from xlopt.core import buttons, sheets
        sheet = sheets.BY_NAME.get(self.name) or sheets.get(buttons.kind_of(self))
        r0, _, r1, _ = parse_ref(self._names["data_x"])
        cols = sorted({2, 3} | {col_index(c.letter) for c in sheet.columns})
        summary_cells = [parse_ref(self._names[sm.key])[:2] for sm in sheet.summaries if sm.key in self._names]
        bottom = max([r1] + [r for r, _ in summary_cells])
        return r0, r1, cols, bottom, summary_cells

    def _first_bad(self):
        """(1-based data row, cell) of the first cell of the pass that is not a finite number (one read)."""
        r0, r1, cols, bottom, summary_cells = self._block()
        rows = self.doc.read_raw(self.name, f"{col_letters(cols[0])}{r0 + 1}:{col_letters(cols[-1])}{bottom + 1}")
        spots = [(r, c) for r in range(r0, r1 + 1) for c in cols] + summary_cells
        for r, c in spots:
            if not finite(rows[r - r0][c - cols[0]]):
                return min(r, r1) - r0 + 1, f"{col_letters(c)}{r + 1}"
        return None, None

    def first_bad_row(self):
        return self._first_bad()[0]

    def first_bad_cell(self):
        """The first cell of the pass that is not a finite number, e.g. 'G10'."""
        return self._first_bad()[1]

    def read_log(self):
        if self._memory_log is not None:
            return [dict(e) for e in self._memory_log]
        if self.has("epochlog"):
            out = []
            for row in self.doc.read_raw(self.name, "epochlog"):
                if not finite(row[0]):
                    break
                e = {k: (v if finite(v) else math.nan) for k, v in zip(LOG_KEYS, row)}
                e["epoch"] = int(e["epoch"])
                out.append(e)
            return out
        out = []
        for i, row in enumerate(self.doc.read_raw(self.name, "rmses")):
            if not finite(row[0]):
                break
            out.append({"epoch": i + 1, "rmse": row[0]})  # the lesson's basic: rmse only
        return out

    def write_log(self, entries):
        if self._memory_log is not None:
            self._memory_log = [dict(e) for e in entries]
            return
        key = "epochlog" if self.has("epochlog") else "rmses"
        self._need(key)
        r0, c0, r1, c1 = parse_ref(self._names[key])
        if key == "rmses":  # the lesson's basic sheet logs rmse only, from the first epoch
            entries = [e for e in entries if e["epoch"] >= 1]
        if len(entries) > r1 - r0 + 1:
            entries = entries[:1] + entries[-(r1 - r0):] if key == "epochlog" else entries[-(r1 - r0 + 1):]
        self.doc.clear(self.name, key)
        if entries:
            cols = LOG_KEYS if key == "epochlog" else ("rmse",)
            rows = [[float(e[k]) for k in cols] for e in entries]
            ref = f"{col_letters(c0)}{r0 + 1}:{col_letters(c1)}{r0 + len(rows)}"
            self.doc._core.set(self.doc._h, self.name, ref, rows)
