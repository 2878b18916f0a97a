"""The control panel: what a learner sees first on an optimizer sheet, in its frozen rows 1-2.

Run and Reset sit over A1:B1 and A2:B2, as in the lesson's own file. Beside them, in the cells the
sheet's definition leaves free in rows 1-2 up to column K (what a 1366×768 screen shows at 100 %):
b and a (C1, C2), the true b and a, rmse, the epoch count and a "watch" line, the sheet's one-line
hint of what to look at. Labels live in the cells' number formats ("rmse = 201.9"), so each item is
one cell and the lesson's addresses (C1, C2, lr, the β cells, row 3's state) never move.
"""
from dataclasses import dataclass

from xlopt.core import sheets
from xlopt.core.cells import col_index, col_letters, parse_ref

LAST_VISIBLE = "M"          # the last column a 1366×768 Calc window shows at A1 (A:B 7.5, C:P 9 wide; measured)
BUTTON_CELLS = ("A1", "A2")  # Run over A1:B1, Reset over A2:B2
FIRST_FREE = "D"            # C holds b and a
MIN_WATCH = 3               # cells the watch line needs


@dataclass(frozen=True)
class Panel:
    true_b: str
    true_a: str
    rmse: str
    epoch: str
    watch: tuple  # (first, last) cell of the merged range in row 1 or 2


def taken(sheet):
    """Cells of rows 1-2 the definition uses: C1, C2, lr, each β and its label, displays and notes,
    extras and their titles, and the state columns' titles (row 2 above row 3's carried state)."""
    out = {"C1", "C2", sheet.lr_cell}
    for cell, _ in sheet.hyper.values():
        out |= {cell, _left(cell)}
    for d in sheet.display:
        out.add(d.address)
        if d.note:
            out.add(d.note[0])
    for e in sheet.extras:
        out |= {e.cell, _above(e.cell)}
    out |= {f"{letter}2" for letter in sheet.state.values()}
    return out


def _left(cell):
    r, c, _, _ = parse_ref(cell)
    return f"{col_letters(c - 1)}{r + 1}"


def _above(cell):
    r, c, _, _ = parse_ref(cell)
    return f"{col_letters(c)}{r}"


def _free(sheet, row):
    used = taken(sheet)
    return [f"{col_letters(c)}{row}" for c in range(col_index(FIRST_FREE), col_index(LAST_VISIBLE) + 1)
            if f"{col_letters(c)}{row}" not in used]


def _longest_run(cells):
    best, run = [], []
    for c in cells:
        if run and col_index(c.rstrip("0123456789")) != col_index(run[-1].rstrip("0123456789")) + 1:
            run = []
        run.append(c)
        if len(run) > len(best):
            best = list(run)
    return best


def layout(sheet):
    """Where each panel item goes on this sheet: the true b beside b (D1), the watch line in the
    longest free run of row 1, the true a, rmse and the epoch count in row 2's free cells (row 1's
    after them). An error names the sheet when rows 1-2 are too full."""
    row1, row2 = _free(sheet, 1), _free(sheet, 2)
    true_b = "D1" if "D1" in row1 else (row1 + row2)[0]
    row1, row2 = [c for c in row1 if c != true_b], [c for c in row2 if c != true_b]
    watch = _longest_run(row1)
    if len(watch) < MIN_WATCH:
        raise ValueError(f"sheet {sheet.name}: rows 1-2 up to column {LAST_VISIBLE} leave no {MIN_WATCH} free "
                         f"cells in a row for the watch line (free in row 1: {row1})")
    spare = row2 + [c for c in row1 if c not in watch]
    if len(spare) < 3:
        raise ValueError(f"sheet {sheet.name}: no room in rows 1-2 for the true a, rmse and the epoch count")
    return Panel(true_b, spare[0], spare[1], spare[2], (watch[0], watch[-1]))


def watch_line(sheet):
    """The sheet's hint: its definition's `watch`, else the first sentence of its instructions."""
    if sheet.watch:
        return sheet.watch
    text = sheet.instructions
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def every_layout():
    """{sheet: Panel} for every definition (a test builds this for each sheet)."""
    return {name: layout(sheets.get(name)) for name in sheets.SHEETS}
