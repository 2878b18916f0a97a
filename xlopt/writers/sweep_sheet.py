"""Add (or replace) a sheet `sweep_SHEET` in an existing workbook, leaving everything else as it was.

XlsxWriter writes a one-sheet workbook holding the sweep's table, colour scale and charts (in
memory); `xlopt.writers.graft` grafts it into the target's zip. It is written through
xlopt.core.zip_parts: under the workbook lock (a second writer waits, then adds to what the first
one saved), to a temp file beside it that is moved into place.
"""
import io
import math

import numpy as np

from xlopt.core import zip_parts
from xlopt.writers.charts import colour, explicit
from xlopt.writers.graft import check_target, graft_changes
from xlopt.writers.sweep_plot import panels

NEIGHBOURS = 4


def sheet_name(r):
    """sweep_SHEET on the lesson's problem, sweep_SHEET_PROBLEM on a function (Excel: 31 characters)."""
    return (f"sweep_{r.sheet}" + (f"_{r.problem}" if r.function else ""))[:31]

# --- the sheet, written by XlsxWriter -------------------------------------------------------------
def _fmt(v):
    return f"{v:.3g}"


def render(r):
    """The sweep sheet as a one-sheet .xlsx (bytes)."""
    import xlsxwriter
    bio = io.BytesIO()
    wb = xlsxwriter.Workbook(bio, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    name = sheet_name(r)
    ws = wb.add_worksheet(name)
    F = {"title": wb.add_format({"bold": True, "font_size": 13}),
         "note": wb.add_format({"italic": True, "font_color": "#595959"}),
         "head": wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"}),
         "cell": wb.add_format({"num_format": "0.00E+00", "border": 1, "align": "center"}),
         "best": wb.add_format({"num_format": "0.00E+00", "bold": True, "border": 5, "align": "center"}),
         "bestline": wb.add_format({"bold": True, "bg_color": "#D9E1F2"}),
         "label": wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                 "num_format": "@"}),
         "div": wb.add_format({"bg_color": "#7F7F7F", "font_color": "#FFFFFF", "border": 1, "align": "center",
                               "font_size": 9}),
         "num": wb.add_format({"num_format": "General"}),
         **{c: wb.add_format({"bg_color": c, "border": 1, "align": "center"}) for c in SCALE}}
    best = r.best()
    ws.write_string(0, 0, f"{r.sheet}: sweep of {r.n} configurations", F["title"])
    for i, line in enumerate(r.settings_lines()):
        ws.write_string(1 + i, 0, line)
    ws.write_string(3, 0, f"Cells: the final {r.loss_name} (colour by rank: green = lowest, red = highest); grey 'div eN': the "
                    "values stopped being finite at epoch N; bold frame: the best setting.", F["note"])
    if best is not None:
        ws.write_string(4, 0, "best: " + ", ".join(f"{k} = {_fmt(v[best])}" for k, v in r.configs.items()) +
                        f" -> final {r.loss_name} {r.final['rmse'][best]:.6g} (best {r.best_rmse[best]:.6g} at epoch "
                        f"{int(r.best_epoch[best])})", F["bestline"])
    else:
        ws.write_string(4, 0, "every configuration diverged", F["head"])
    z = r.final["rmse"]
    _legend(ws, z, F, r.loss_name)
    row = 6
    a0 = r.axes[0]
    if len(r.axes) == 1:
        ws.write_string(row, 0, a0.name, F["head"])
        ws.write_string(row, 1, f"final {r.loss_name}", F["head"])
        ws.write_string(row, 2, f"{a0.name} (number)", F["head"])
        for i, v in enumerate(r.grid[a0.name]):
            ws.write_string(row + 1 + i, 0, _fmt(v), F["label"])
            _cell(ws, row + 1 + i, 1, r, i, z, best, F)
            ws.write_number(row + 1 + i, 2, v)  # the chart's x: the value itself beside its label
        n = len(r.grid[a0.name])
        ws.conditional_format(row + 1, 1, row + n, 1, _scale())
        c = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
        c.add_series({"name": f"final {r.loss_name}", "categories": [name, row + 1, 2, row + n, 2],
                      "values": [name, row + 1, 1, row + n, 1], "line": {"color": colour(0), "width": 2},
                      "marker": {"type": "circle", "size": 5, "fill": {"color": colour(0)}, "border": {"color": colour(0)}},
                      "smooth": False})
        c.set_x_axis({"name": a0.name, "log_base": 10 if a0.spacing == "log" else None})
        c.set_y_axis({"name": f"final {r.loss_name}", "log_base": 10 if np.nanmin(z, initial=1) > 0 else None})
        c.set_title({"name": f"{r.sheet}: final {r.loss_name} after {r.epochs} epochs"})
        c.set_legend({"none": True})
        ws.insert_chart(row, 5, c)
        row += n + 3
        width, chart_row = 3, 6 + 18  # below the final-rmse chart
        ws.set_column(0, 0, 14)
        ws.set_column(1, 1 + NEIGHBOURS, 13)
    else:
        a1 = r.axes[1]
        width, chart_row = len(r.grid[a1.name]) + 1, 6
        for title, idx in panels(r):
            if title:
                ws.write_string(row, 0, title, F["title"])
                row += 1
            ws.write_string(row, 0, f"{a0.name} \\ {a1.name}", F["head"])
            for j, v in enumerate(r.grid[a1.name]):
                ws.write_string(row, 1 + j, _fmt(v), F["label"])
            for i, v in enumerate(r.grid[a0.name]):
                ws.write_string(row + 1 + i, 0, _fmt(v), F["label"])
                for j in range(idx.shape[1]):
                    _cell(ws, row + 1 + i, 1 + j, r, idx[i, j], z, best, F)
            ws.conditional_format(row + 1, 1, row + idx.shape[0], idx.shape[1], _scale())
            row += idx.shape[0] + 2
        ws.set_column(0, 0, 14)
        ws.set_column(1, width, 9)
    _epoch_chart(wb, ws, r, best, row, name, F, chart_col=width + 2, chart_row=chart_row)
    ws.activate()
    wb.close()
    return bio.getvalue()


SCALE = ("#63BE7B", "#FFEB84", "#F8696B")


def _scale():
    """Colour by rank (percentiles), so rmse values spanning many magnitudes spread over the colours."""
    return {"type": "3_color_scale", "min_type": "percentile", "min_value": 0, "mid_type": "percentile",
            "mid_value": 50, "max_type": "percentile", "max_value": 100,
            "min_color": SCALE[0], "mid_color": SCALE[1], "max_color": SCALE[2]}


def _legend(ws, rmse, F, loss="rmse"):
    """Row 6: the colour scale in the loss's units (lowest, median, highest final rmse of the grid)."""
    ok = rmse[np.isfinite(rmse)]
    if not ok.size:
        return
    ws.write_string(5, 0, "colours:", F["note"])
    for j, (what, v, c) in enumerate(zip(("lowest", "median", "highest"),
                                         (ok.min(), float(np.percentile(ok, 50)), ok.max()), SCALE)):
        ws.merge_range(5, 1 + 2 * j, 5, 2 + 2 * j, f"{what} {loss} {v:.3g}", F[c])


def _cell(ws, r0, c0, r, i, z, best, F):
    if r.div_epoch[i] >= 0:
        ws.write_string(r0, c0, f"div e{int(r.div_epoch[i])}", F["div"])
    else:
        ws.write_number(r0, c0, float(z[i]), F["best"] if i == best else F["cell"])


def neighbours(r, best, k=NEIGHBOURS):
    """The best configuration and up to k grid neighbours of it (one step along an axis)."""
    if best is None:
        return []
    shape = r.shape()
    pos = np.unravel_index(best, shape)
    out = [best]
    for ax in range(len(shape)):
        for step in (-1, 1):
            p = list(pos)
            p[ax] += step
            if 0 <= p[ax] < shape[ax] and len(out) <= k:
                out.append(int(np.ravel_multi_index(p, shape)))
    return out


def _epoch_chart(wb, ws, r, best, row, name, F, chart_col, chart_row=6):
    picks = neighbours(r, best)
    if not picks:
        return
    ws.write_string(row, 0, f"{r.loss_name} per epoch: the best setting and its neighbours in the grid", F["title"])
    head = row + 1
    ws.write_string(head, 0, "epoch", F["head"])
    for j, i in enumerate(picks):
        label = ", ".join(f"{k}={_fmt(v[i])}" for k, v in r.configs.items()) + (" (best)" if i == best else "")
        ws.write_string(head, 1 + j, label, F["head"])
    for e in range(r.epochs):
        ws.write_number(head + 1 + e, 0, e + 1)
        for j, i in enumerate(picks):
            v = r.rmse[e, i]
            if math.isfinite(v):
                ws.write_number(head + 1 + e, 1 + j, float(v), F["num"])
    c = explicit(wb.add_chart({"type": "scatter", "subtype": "straight"}))
    for j, i in enumerate(picks):
        c.add_series({"name": [name, head, 1 + j], "categories": [name, head + 1, 0, head + r.epochs, 0],
                      "values": [name, head + 1, 1 + j, head + r.epochs, 1 + j], "smooth": False,
                      "line": {"color": "#000000" if i == best else colour(j), "width": 3 if i == best else 1.5,
                               **({} if i == best else {"dash_type": "dash"})}})
    c.set_title({"name": f"{r.sheet}: {r.loss_name} per epoch, best and neighbours"})
    c.set_x_axis({"name": "epoch", "min": 0})
    positive = bool(np.all(r.rmse[np.isfinite(r.rmse)] > 0))
    c.set_y_axis({"name": r.loss_name, "log_base": 10 if positive else None})
    c.set_legend({"position": "bottom"})
    c.set_size({"width": 640, "height": 340})
    ws.insert_chart(chart_row, chart_col, c)



def add_to(path, r, lock_timeout_s=None):
    """Add or replace sheet sweep_SHEET in the workbook at `path` (under its lock, atomically)."""
    check_target(path)
    sheet = render(r)
    return zip_parts.update(path, lambda parts: graft_changes(parts, sheet, sheet_name(r)), lock_timeout_s)
