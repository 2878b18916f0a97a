"""Print a run's history and a sheet's pass: a table for people, JSON for programs, CSV for pandas."""
import csv
import json
import math
import sys

from xlopt.core import problems, sheets
from xlopt.core.runner import HISTORY_KEYS  # noqa: F401  (re-exported)


# --- output -------------------------------------------------------------------------------------
def emit(result, fmt, out=None):
    out = out or sys.stdout
    keys = tuple(result["history"][0]) if result["history"] else HISTORY_KEYS
    if fmt == "json":
        json.dump(result, out)
        out.write("\n")
    elif fmt == "csv":
        _csv(result["history"], keys, out)
    else:
        h = result["history"]
        if "problem" in result:  # a function of x and y: its minimum
            m = problems.get(result["problem"]).minimum
            truth = f" on {result['problem']}; minimum at x = {m[0]:g}, y = {m[1]:g}"
        else:
            line = true_line(result["state"]["data"])  # the lesson's and random data; not a user's own CSV
            truth = f"; true b = {line[0]:g}, a = {line[1]:g}" if line else ""
        out.write(f"{result['sheet']} ({result['carry']} carry): {len(h)} epochs, "
                  f"now at epoch {h[-1]['epoch'] if h else 0}{truth}\n")
        out.write(table(h, keys))


def true_line(data):
    """(true b, true a) when the data are the lesson's or random rows (y = TRUE_B + x·TRUE_A exactly,
    as Data.lesson and Data.random make them), else None: a user's own data have no known line."""
    b, a = sheets.TRUE_B, sheets.TRUE_A
    if all(y == b + x * a for x, y in zip(data["x"], data["y"])):
        return b, a
    return None


def _csv(rows, keys, out):
    w = csv.writer(out, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow([repr(r[k]) if isinstance(r[k], float) else r[k] for k in keys])


def _cell(v):
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return str(v)


def table(rows, keys, titles=None):
    titles = titles or keys
    cells = [[_cell(r[k]) for k in keys] for r in rows]
    widths = [max([len(t)] + [len(c[i]) for c in cells]) for i, t in enumerate(titles)]
    line = lambda cs: "  ".join(c.rjust(w) for c, w in zip(cs, widths)) + "\n"
    return line(titles) + "".join(line(c) for c in cells)


def pass_rows(book):
    """The current pass as one dict per data row, keys in the sheet's column order (A, B, C, …)."""
    sheet, p = book.sheet, book.pass_
    cols = sorted(sheet.columns, key=lambda c: (len(c.letter), c.letter))
    keys = ["row", "x", "y", "b", "a"] + [c.key for c in cols]
    head = ["step", "-", *sheet.problem.labels] if sheet.problem.is_function else ["x", "y", "intercept", "slope"]
    titles = ["row", *head] + [c.title for c in cols]
    first, _, _ = sheet.rows(len(book.data.x))
    rows = []
    for i, (x, y) in enumerate(zip(book.data.x, book.data.y)):
        r = {"row": first + i, "x": x, "y": y}
        r.update({k: p.cols[k][i] for k in keys[3:]})
        rows.append(r)
    return rows, keys, titles


