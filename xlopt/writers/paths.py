"""The paths sheet: every optimizer's path of (b, a) on the contours of the loss, with live formulas.

The loss of the data, L(b, a) = Σ(y − b − a·x)², is a quadratic in b and a, so its level sets are
ellipses around the least-squares point (b*, a*): with H = [[n, Σx], [Σx, Σx²]] = RᵀR (R upper
triangular: r11 = √n, r12 = Σx/√n, r22 = √(Σx² − r12²)), L = L* + (p − p*)ᵀ H (p − p*), and the
level where the lesson's rmse (√L) is r is the ellipse p = p* + √(r² − L*) · R⁻¹ (cos θ, sin θ).
Every number the sheet draws is a formula over the first optimizer sheet's data columns, so pasting
new data there moves the contours; the paths are the sheets' own cells (each row's b and a for the
current epoch, the log's const and slope per epoch), so a chart follows every press of Run.

`cells` lists every formula cell with the value the engine's arithmetic gives, for the builder
(cached values) and `xlopt check` (LibreOffice's recalculated values compared with them).
"""
import math
from dataclasses import dataclass

from xlopt.core import sheets
from xlopt.core.cells import col_letters
from xlopt.writers.charts import colour, dash, explicit

NAME = "paths"
LEVELS = (200.0, 100.0, 50.0, 25.0, 10.0, 5.0)  # rmse of each contour: input cells a learner may change
THETA_STEP = 10                                  # degrees between contour points (37 points a level)
# the charts fill rows 2-41, what they show is explained in rows 43-51, the numbers behind them
# follow from row 53
TEXT_ROW = 43
NOTES_ROW = 53
GEOMETRY_ROW = 55                                # A55:B65, labels in A and formulas in B
LEVEL_ROW = 68                                   # A68: the levels' title, the levels from A69 down
TABLE_ROW = 55                                   # D55: θ, then a (b, a) column pair per level (D56 down)
FIT_ROW = 77                                     # the fitted lines' table, from A77



@dataclass(frozen=True)
class Cell:
    address: str
    formula: str
    value: float
    what: str     # a kind: cells of one kind are compared against the size of that kind's values


def data_refs(n):
    """The x and y columns of the first optimizer sheet, as absolute references."""
    first, last, _ = sheets.get(sheets.SHEETS[0]).rows(n)
    q = f"'{sheets.SHEETS[0]}'"
    return f"{q}!$A${first}:$A${last}", f"{q}!$B${first}:$B${last}"


GEOMETRY = (  # key, label, formula template ({x}, {y}: the data ranges; {key}: that key's cell)
    ("n", "n (rows)", "=COUNT({x})"),
    ("sx", "sum x", "=SUM({x})"),
    ("sxx", "sum x^2", "=SUMSQ({x})"),
    ("sy", "sum y", "=SUM({y})"),
    ("sxy", "sum x*y", "=SUMPRODUCT({x},{y})"),
    ("a_star", "a* (least squares)", "=({n}*{sxy}-{sx}*{sy})/({n}*{sxx}-{sx}^2)"),
    ("b_star", "b* (least squares)", "=({sy}-{a_star}*{sx})/{n}"),
    ("l_star", "L* = smallest loss", "=SUMPRODUCT(({y}-{b_star}-{a_star}*{x})^2)"),
    ("r11", "r11 = SQRT(n)", "=SQRT({n})"),
    ("r12", "r12 = sum x / r11", "=({sx})/{r11}"),
    ("r22", "r22", "=SQRT({sxx}-{r12}^2)"),
)


def geometry_cells():
    return {key: f"B{GEOMETRY_ROW + i}" for i, (key, _, _) in enumerate(GEOMETRY)}


def geometry_values(x, y):
    """The engine's values of the geometry cells, in the formulas' own order of operations."""
    n = float(len(x))
    sx = sy = sxx = sxy = 0.0
    for xi, yi in zip(x, y):
        sx += xi
        sxx += xi * xi
        sy += yi
        sxy += xi * yi
    a = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    b = (sy - a * sx) / n
    lstar = 0.0
    for xi, yi in zip(x, y):
        r = yi - b - a * xi
        lstar += r * r
    r11 = math.sqrt(n)
    r12 = sx / r11
    r22 = math.sqrt(sxx - r12 * r12)
    return dict(n=n, sx=sx, sxx=sxx, sy=sy, sxy=sxy, a_star=a, b_star=b, l_star=lstar, r11=r11, r12=r12, r22=r22)


def level_cells(levels=LEVELS):
    return [f"A{LEVEL_ROW + 1 + i}" for i in range(len(levels))]


def thetas():
    return list(range(0, 360 + THETA_STEP, THETA_STEP))


def contour_columns(i):
    """The (b, a) columns of level i in the contour table (θ is column D)."""
    return col_letters(4 + 2 * i), col_letters(5 + 2 * i)


def contour_point(g, level, theta_deg):
    """(b, a) on the contour where rmse = level, at angle θ (the formulas' order of operations)."""
    t = theta_deg * math.pi / 180
    k = math.sqrt(max(level * level - g["l_star"], 0.0))
    return (g["b_star"] + k * (math.cos(t) / g["r11"] - math.sin(t) * g["r12"] / (g["r11"] * g["r22"])),
            g["a_star"] + k * math.sin(t) / g["r22"])


def fit_table():
    """Rows of the fitted-lines table: (label, key), first the data's x range, the true line, then a sheet each."""
    return [("x", "x"), ("true line", "true")] + [(name, name) for name in sheets.SHEETS]


def cells(x, y, levels=LEVELS, tops=None, true_ba=(sheets.TRUE_B, sheets.TRUE_A)):
    """Every formula cell of the paths sheet with the engine's value.

    tops: sheet name -> (const, slope) now on that sheet (None: nan, formula text only)."""
    n = len(x)
    xr, yr = data_refs(n)
    gc = geometry_cells()
    g = geometry_values(x, y)
    out = []
    for key, _, tpl in GEOMETRY:
        out.append(Cell(gc[key], tpl.format(x=xr, y=yr, **gc), g[key], "geometry_" + key))
    row0 = TABLE_ROW + 1
    for j, th in enumerate(thetas()):
        r = row0 + j
        for i, (lc, level) in enumerate(zip(level_cells(levels), levels)):
            cb, ca = contour_columns(i)
            k = f"SQRT(MAX(${lc[0]}${lc[1:]}^2-{_abs(gc['l_star'])},0))"
            t = f"RADIANS($D{r})"
            b, a = contour_point(g, level, th)
            out.append(Cell(f"{cb}{r}", f"={_abs(gc['b_star'])}+{k}*(COS({t})/{_abs(gc['r11'])}-SIN({t})*"
                                        f"{_abs(gc['r12'])}/({_abs(gc['r11'])}*{_abs(gc['r22'])}))", b, "contour_b"))
            out.append(Cell(f"{ca}{r}", f"={_abs(gc['a_star'])}+{k}*SIN({t})/{_abs(gc['r22'])}", a, "contour_a"))
    xmin, xmax = min(x), max(x)
    first = FIT_ROW + 1
    for i, (_, key) in enumerate(fit_table()):
        r = first + i
        if key == "x":
            out += [Cell(f"B{r}", f"=MIN({xr})", float(xmin), "fit_x"), Cell(f"C{r}", f"=MAX({xr})", float(xmax), "fit_x")]
            continue
        if key == "true":
            b0, a0, src = float(true_ba[0]), float(true_ba[1]), ("data!$C$1", "data!$C$2")
        else:
            b0, a0 = tops[key] if tops else (math.nan, math.nan)
            src = (f"'{key}'!$C$1", f"'{key}'!$C$2")
        for col, xv in (("B", xmin), ("C", xmax)):
            out.append(Cell(f"{col}{r}", f"={src[0]}+{src[1]}*{col}${first}", b0 + a0 * xv, "fit_y"))
    return out


def _abs(cell):
    letters = cell.rstrip("0123456789")
    return f"${letters}${cell[len(letters):]}"


def extent(x, y, levels=LEVELS):
    """(b_min, b_max, a_min, a_max) of the largest contour, padded: the charts' fixed axes."""
    g = geometry_values(x, y)
    pts = [contour_point(g, max(levels), th) for th in range(0, 360, 2)]
    bs, as_ = [p[0] for p in pts], [p[1] for p in pts]
    pad_b, pad_a = 0.05 * (max(bs) - min(bs)), 0.05 * (max(as_) - min(as_))
    return min(bs) - pad_b, max(bs) + pad_b, min(as_) - pad_a, max(as_) + pad_a


# --- writing the sheet (XlsxWriter) ----------------------------------------------------------------
TEXT = (
    "paths: where each optimizer goes. Left: each sheet's (b, a) after every epoch of its log, on the "
    "contours of the loss (rmse 200 ... 5). Right: this epoch, row by row (each row's b and a). Below: "
    "every sheet's rmse per epoch, and the data with the true line and each sheet's current line. Press "
    "Run on any sheet and come back: the charts follow its cells.",
    "Why the valley is long and narrow: the loss is a quadratic in b and a, and a's gradient is about x "
    "times b's (x is 9 to 99 here), so the contours are ellipses stretched along b. Plain SGD with an lr "
    "small enough for a crawls along b; RMSProp and Adam divide each step by the size of its own "
    "gradients, so b and a move alike.",
    "How the contours are drawn (formulas below, from the first optimizer sheet's data): with n, sum x, "
    "sum x^2 the loss is L* + (p - p*)' H (p - p*), H = [[n, sum x], [sum x, sum x^2]] = R'R; the "
    "contour where rmse = r is p* + SQRT(r^2 - L*) * R^-1 (COS t, SIN t). Change a level in A69:A74.",
)


def _series_line(colour, width=1.5, dash=None, marker=None):
    """A straight scatter series; width 0: markers only, no line."""
    line = {"none": True} if width == 0 else {"color": colour, "width": width, **({"dash_type": dash} if dash else {})}
    return {"line": line, "smooth": False, "marker": marker or {"type": "none"}}


# chart size in XlsxWriter's pixels (7 a character); LibreOffice draws a character of column width
# about 10 pixels wide, so two of these side by side fill a 1366-pixel Calc window
CHART_W, CHART_H, GAP = 435, 380, 6


def write_sheet(wb, ws, f, data, books, true_ba=(sheets.TRUE_B, sheets.TRUE_A), levels=LEVELS):
    """The paths sheet: charts over rows 2-45, the formulas behind them below.

    books: sheet name -> its MemoryBook after Reset (for the cached values)."""
    x, y = data.x, data.y
    tops = {name: (b.inputs["const"], b.inputs["slope"]) for name, b in books.items()}
    ws.write_string("A1", "paths: every optimizer's (b, a) on the loss contours - they follow each sheet's Run", f["title"])
    ws.write_string(f"A{NOTES_ROW}", "The numbers behind the charts", f["sheadline"])
    for i, text in enumerate(TEXT):
        ws.merge_range(f"A{TEXT_ROW + 3 * i}:P{TEXT_ROW + 2 + 3 * i}", text, f["wrap"])
    for i, (_, label, _) in enumerate(GEOMETRY):
        ws.write_string(f"A{GEOMETRY_ROW + i}", label, f["label"])
    ws.write_string(f"A{LEVEL_ROW}", "contour levels (rmse)", f["head"])
    for cell, level in zip(level_cells(levels), levels):
        ws.write_number(cell, level, f["input"])
    ws.write_string(f"D{TABLE_ROW}", "t (degrees)", f["head"])
    for i, level in enumerate(levels):
        cb, ca = contour_columns(i)
        ws.write_formula(f"{cb}{TABLE_ROW}", f'="b, rmse "&${level_cells(levels)[i][0]}${level_cells(levels)[i][1:]}',
                         f["head"], f"b, rmse {level:g}")
        ws.write_string(f"{ca}{TABLE_ROW}", "a", f["head"])
    for j, th in enumerate(thetas()):
        ws.write_number(f"D{TABLE_ROW + 1 + j}", th, f["epoch"])
    ws.write_string(f"A{FIT_ROW}", "lines y = b + a*x", f["head"])
    ws.write_string(f"B{FIT_ROW}", "at x min", f["head"])
    ws.write_string(f"C{FIT_ROW}", "at x max", f["head"])
    for i, (label, _) in enumerate(fit_table()):
        ws.write_string(f"A{FIT_ROW + 1 + i}", label, f["label"])
    for c in cells(x, y, levels, tops, true_ba):
        ws.write_formula(c.address, c.formula, f["_"], c.value)
    ws.set_column("A:A", 20)
    ws.set_column("B:P", 9)
    _charts(wb, ws, data, books, levels)


def _contours(chart, levels, grey="#A6A6A6"):
    first, last = TABLE_ROW + 1, TABLE_ROW + len(thetas())
    for i, level in enumerate(levels):
        cb, ca = contour_columns(i)
        chart.add_series(dict(_series_line(grey, 0.75, "dash" if i % 2 else None),
                              name=f"rmse {level:g}", categories=f"='{NAME}'!${cb}${first}:${cb}${last}",
                              values=f"='{NAME}'!${ca}${first}:${ca}${last}"))


def _minimum(chart):
    gc = geometry_cells()
    chart.add_series(dict(_series_line("#000000", 0, marker={"type": "diamond", "size": 8, "fill": {"color": "#000000"},
                                                               "border": {"color": "#000000"}}),
                          name="least squares", categories=f"='{NAME}'!{_abs(gc['b_star'])}",
                          values=f"='{NAME}'!{_abs(gc['a_star'])}"))


def _charts(wb, ws, data, books, levels):
    b0, b1, a0, a1 = extent(data.x, data.y, levels)
    axes = ({"name": "b (const)", "min": round(b0), "max": round(b1), "num_format": "General",
             "major_gridlines": {"visible": False}},
            {"name": "a (slope)", "min": round(a0, 1), "max": round(a1, 1), "num_format": "General",
             "major_gridlines": {"visible": False}})
    n = len(data.x)
    names = list(books)
    marker = lambda c: {"type": "circle", "size": 4, "fill": {"color": c}, "border": {"color": c}}  # noqa: E731
    for title, dx, cols, rows in (
            ("each sheet's (b, a) after every epoch (the log), on the loss contours", 0, ("D", "E"), "log"),
            ("this epoch, row by row: each row's b and a", CHART_W + GAP, ("C", "D"), "rows")):
        ch = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
        _contours(ch, levels)
        for k, name in enumerate(names):
            sheet = sheets.get(name)
            if rows == "log":
                _, r0, _, r1 = sheet.log_rows(n)
            else:
                r0, r1, _ = sheet.rows(n)
            ch.add_series(dict(_series_line(colour(k), 1.5, dash(k), marker(colour(k))),
                               name=name, categories=f"='{name}'!${cols[0]}${r0}:${cols[0]}${r1}",
                               values=f"='{name}'!${cols[1]}${r0}:${cols[1]}${r1}"))
        _minimum(ch)
        ch.set_title({"name": title, "name_font": {"size": 11}})
        ch.set_x_axis(axes[0])
        ch.set_y_axis(axes[1])
        ch.set_legend({"position": "right", "font": {"size": 8}, "delete_series": list(range(1, len(levels)))})
        ch.show_blanks_as("gap")
        ch.set_size({"width": CHART_W, "height": CHART_H})
        ws.insert_chart("A2", ch, {"x_offset": 2 + dx, "y_offset": 4})
    rm = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    for k, name in enumerate(names):
        sheet = sheets.get(name)
        _, r0, _, r1 = sheet.log_rows(n)
        rm.add_series(dict(_series_line(colour(k), 1.5, dash(k), marker(colour(k))),
                           name=name, categories=f"='{name}'!$B${r0}:$B${r1}", values=f"='{name}'!$C${r0}:$C${r1}"))
    rm.set_title({"name": "rmse per epoch, every sheet (log scale)", "name_font": {"size": 11}})
    rm.set_x_axis({"name": "epoch", "min": 0, "num_format": "0"})
    rm.set_y_axis({"name": "rmse (log)", "log_base": 10, "num_format": "General"})
    rm.set_legend({"position": "right", "font": {"size": 8}})
    rm.show_blanks_as("gap")
    rm.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart("A22", rm, {"x_offset": 2, "y_offset": 8})
    fit = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    first, last, _ = sheets.get(sheets.SHEETS[0]).rows(n)
    q = f"'{sheets.SHEETS[0]}'"
    fit.add_series(dict(_series_line("#000000", 0, marker={"type": "circle", "size": 5, "fill": {"none": True},
                                                           "border": {"color": "#404040"}}),
                        name="data", categories=f"={q}!$A${first}:$A${last}", values=f"={q}!$B${first}:$B${last}"))
    xr = FIT_ROW + 1
    for i, (label, key) in enumerate(fit_table()[1:], start=1):
        r = FIT_ROW + 1 + i
        c = "#000000" if key == "true" else colour(i - 2)
        fit.add_series(dict(_series_line(c, 2.5 if key == "true" else 1.25, "dash" if key == "true" else dash(i - 2)),
                            name=label, categories=f"='{NAME}'!$B${xr}:$C${xr}", values=f"='{NAME}'!$B${r}:$C${r}"))
    fit.set_title({"name": "the data, the true line (dashed) and each sheet's line now", "name_font": {"size": 11}})
    fit.set_x_axis({"name": "x", "num_format": "General"})
    fit.set_y_axis({"name": "y", "num_format": "General"})
    fit.set_legend({"position": "right", "font": {"size": 8}})
    fit.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart("A22", fit, {"x_offset": 2 + CHART_W + GAP, "y_offset": 8})
