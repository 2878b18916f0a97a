"""The paths sheet of a function problem: every optimizer's (x, y) on the contours of f.

f has no data to paste, so its contour lines are fixed numbers, traced once here (contourpy, the
contour tracer matplotlib draws with) over the problem's window and written as a table of points;
the paths are the optimizer sheets' own cells (the log per epoch, the rows of this epoch), so the
charts follow every press of Run.
"""
import numpy as np

from xlopt.core import sheets
from xlopt.core.cells import col_letters
from xlopt.writers.charts import colour, dash, explicit
from xlopt.writers.paths import CHART_H, CHART_W, GAP, NAME, _series_line

GRID = 161          # points a side of the grid f is traced on
N_LEVELS = 9
TABLE_ROW = 60      # the contour points from here down: a (x, y) column pair per level
MIN_ROW = 45        # the minima's table


def levels(problem, z):
    """Contour levels: log-spaced above the minimum where f is a valley (log_scale), else linear."""
    lo, hi = float(np.nanmin(z)), float(np.nanpercentile(z, 90))
    if problem.log_scale:
        base = min(lo, 0.0)
        return [base + v for v in np.geomspace(max(hi - base, 1e-12) * 1e-4, hi - base, N_LEVELS)]
    return list(np.linspace(lo, hi, N_LEVELS + 2)[1:-1])


def surface(problem, n=GRID):
    """(xs, ys, f on the grid) over the problem's window, by the problem's own loss rule."""
    x0, x1, y0, y1 = problem.window
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    Z = np.asarray(problem.loss(X, Y, 0.0, 0.0), dtype=float)
    return xs, ys, Z


def contour_lines(problem):
    """[(level, [(x, y) or None (a break between pieces), ...])], one list per level."""
    import contourpy
    xs, ys, Z = surface(problem)
    gen = contourpy.contour_generator(xs, ys, Z, line_type=contourpy.LineType.Separate)
    out = []
    for level in levels(problem, Z):
        pts = []
        for seg in gen.lines(level):
            step = max(1, len(seg) // 60)  # at most about 60 points a piece: the chart stays light
            pts += [tuple(map(float, p)) for p in seg[::step]] + [tuple(map(float, seg[-1])), None]
        out.append((level, pts))
    return out


def write_sheet(wb, ws, f, problem, books):
    names = list(books)
    n = len(next(iter(books.values())).data.x)
    ws.write_string("A1", f"paths: every optimizer's (x, y) on the contours of {problem.formula} - they follow "
                          "each sheet's Run", f["title"])
    ws.write_string(f"A{MIN_ROW}", "minimum", f["head"])
    ws.write_string(f"B{MIN_ROW}", "x", f["head"])
    ws.write_string(f"C{MIN_ROW}", "y", f["head"])
    for i, (mx, my) in enumerate(problem.minima):
        ws.write_number(f"B{MIN_ROW + 1 + i}", mx, f["_"])
        ws.write_number(f"C{MIN_ROW + 1 + i}", my, f["_"])
    ws.merge_range(f"E{MIN_ROW}:P{MIN_ROW + 3}",
                   "The contour lines below are f's level sets, traced once over the window the charts show (f "
                   "has no data, so they never move). Left: each sheet's (x, y) after every epoch of its log; "
                   "right: this epoch, row by row. Press Run on any sheet and come back.", f["wrap"])
    lines = contour_lines(problem)
    ws.write_string(f"A{TABLE_ROW - 1}", "contour points", f["head"])
    for i, (level, pts) in enumerate(lines):
        cx, cy = 2 * i, 2 * i + 1
        ws.write_string(TABLE_ROW - 1, cx, f"x, f={level:.3g}", f["head"])
        ws.write_string(TABLE_ROW - 1, cy, "y", f["head"])
        for j, p in enumerate(pts):
            if p is not None:
                ws.write_number(TABLE_ROW + j, cx, p[0], f["_"])
                ws.write_number(TABLE_ROW + j, cy, p[1], f["_"])
    x0, x1, y0, y1 = problem.window
    # the tick labels at the chart's low edges, not on the axes through (0, 0) across the contours
    axes = ({"name": "x", "min": x0, "max": x1, "num_format": "General", "major_gridlines": {"visible": False},
             "label_position": "low"},
            {"name": "y", "min": y0, "max": y1, "num_format": "General", "major_gridlines": {"visible": False},
             "label_position": "low"})
    marker = lambda c: {"type": "circle", "size": 4, "fill": {"color": c}, "border": {"color": c}}  # noqa: E731
    for title, dx, cols, rows in (("each sheet's (x, y) after every epoch (the log), on the contours of f", 0, ("D", "E"), "log"),
                                  ("this epoch, row by row: each row's x and y", CHART_W + GAP, ("C", "D"), "rows")):
        ch = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
        for i, (level, pts) in enumerate(lines):
            last = TABLE_ROW + len(pts)
            lx, ly = col_letters(2 * i), col_letters(2 * i + 1)
            ch.add_series(dict(_series_line("#A6A6A6", 0.75, "dash" if i % 2 else None), name=f"f {level:.3g}",
                               categories=f"='{NAME}'!${lx}${TABLE_ROW + 1}:${lx}${last}",
                               values=f"='{NAME}'!${ly}${TABLE_ROW + 1}:${ly}${last}"))
        for k, name in enumerate(names):
            sheet = sheets.get(name, problem)
            if rows == "log":
                _, r0, _, r1 = sheet.log_rows(n)
            else:
                r0, r1, _ = sheet.rows(n)
            ch.add_series(dict(_series_line(colour(k), 1.5, dash(k), marker(colour(k))), name=name,
                               categories=f"='{name}'!${cols[0]}${r0}:${cols[0]}${r1}",
                               values=f"='{name}'!${cols[1]}${r0}:${cols[1]}${r1}"))
        last_min = MIN_ROW + len(problem.minima)
        ch.add_series(dict(_series_line("#000000", 0, marker={"type": "diamond", "size": 9, "fill": {"color": "#000000"},
                                                               "border": {"color": "#000000"}}),
                           name="minimum", categories=f"='{NAME}'!$B${MIN_ROW + 1}:$B${last_min}",
                           values=f"='{NAME}'!$C${MIN_ROW + 1}:$C${last_min}"))
        ch.set_title({"name": title, "name_font": {"size": 11}})
        ch.set_x_axis(axes[0])
        ch.set_y_axis(axes[1])
        ch.set_legend({"position": "right", "font": {"size": 8}, "delete_series": list(range(len(lines)))})
        ch.show_blanks_as("gap")
        ch.set_size({"width": CHART_W, "height": CHART_H})
        ws.insert_chart("A2", ch, {"x_offset": 2 + dx, "y_offset": 4})
    loss = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    for k, name in enumerate(names):
        _, r0, _, r1 = sheets.get(name, problem).log_rows(n)
        loss.add_series(dict(_series_line(colour(k), 1.5, dash(k), marker(colour(k))), name=name,
                             categories=f"='{name}'!$B${r0}:$B${r1}", values=f"='{name}'!$C${r0}:$C${r1}"))
    log = problem.log_scale and min(problem.loss(x, y, 0.0, 0.0) for x, y in problem.minima) >= 0
    loss.set_title({"name": f"loss (mean f over an epoch's steps) per epoch{' (log scale)' if log else ''}",
                    "name_font": {"size": 11}})
    loss.set_x_axis({"name": "epoch", "min": 0, "num_format": "0"})
    loss.set_y_axis({"name": "loss" + (" (log)" if log else ""), "num_format": "General", **({"log_base": 10} if log else {})})
    loss.set_legend({"position": "right", "font": {"size": 8}})
    loss.show_blanks_as("gap")
    loss.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart("A22", loss, {"x_offset": 2, "y_offset": 8})
    ws.set_column("A:P", 9)
