"""The two charts right of an optimizer sheet's data, over its log: rmse per epoch, and b and a per epoch."""
from xlopt.writers.charts import explicit
from xlopt.writers.excel_formula import reference_cells

CHART_COL = "Q"             # charts from Q5 down, right of the widest sheet's columns
_EPOCH_AXIS = {"name": "epoch", "min": 0, "num_format": "0", "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}}}
COLOURS = {"rmse": "#C00000", "const": "#1F77B4", "slope": "#FF7F0E", "true": "#7F7F7F"}


def _line(colour, dash=None, width=1.75):
    return {"color": colour, "width": width, **({"dash_type": dash} if dash else {})}


def _series(**kw):
    """A straight (never smoothed) scatter series: LibreOffice draws splines unless told."""
    return dict(kw, smooth=False)


def _chart_col(sheet):
    """CHART_COL, or two columns right of a wider sheet's last column (schedfree's T: V)."""
    return max(CHART_COL, chr(ord(sheet.column_letters()[-1]) + 2))


def add_charts(wb, ws, sheet, n):
    """rmse per epoch on a log axis; b and a per epoch on their own axes with the true values as
    dashed lines. Both follow the whole log (blanks are gaps, so no false point at 0)."""
    head, reset, e0, e1 = sheet.log_rows(n)
    q = f"'{sheet.name}'"
    ref = reference_cells(sheet, n)

    def rng(col, r0=reset, r1=e1):
        return f"={q}!${col}${r0}:${col}${r1}"

    def cells(a, b):
        (ca, ra), (cb, rb) = (_split(a), _split(b))
        return f"={q}!${ca}${ra}:${cb}${rb}"

    c1 = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    c1.add_series(_series(**{"name": "rmse", "categories": rng("B"), "values": rng("C"), "line": _line(COLOURS["rmse"]),
                   "marker": {"type": "circle", "size": 3, "fill": {"color": COLOURS["rmse"]},
                              "border": {"color": COLOURS["rmse"]}}}))
    c1.set_title({"name": f"{sheet.name}: {sheet.rmse_key} per epoch (log scale)", "name_font": {"size": 11}})
    c1.set_x_axis(_EPOCH_AXIS)
    c1.set_y_axis({"name": f"{sheet.rmse_key} (log)", "log_base": 10, "num_format": "General",
                   "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}}})
    c1.set_legend({"none": True})
    c1.show_blanks_as("gap")
    c1.set_size({"width": 600, "height": 320})
    ws.insert_chart(f"{_chart_col(sheet)}5", c1)

    c2 = explicit(wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    pb, pa = sheet.problem.labels
    true = "true" if sheet.problem.lesson else "min"
    mb, ma = sheet.problem.minimum
    names = ("const (b)", "slope (a)") if sheet.problem.lesson else (pb, pa)
    for key, col, colour, axis in ((names[0], "D", COLOURS["const"], False), (names[1], "E", COLOURS["slope"], True)):
        c2.add_series(_series(name=key, categories=rng("B"), values=rng(col), line=_line(colour), y2_axis=axis,
                              marker={"type": "circle", "size": 3, "fill": {"color": colour}, "border": {"color": colour}}))
    for key, (a, b), colour, axis in ((f"{true} {pb}", (ref["b0"], ref["b1"]), COLOURS["const"], False),
                                      (f"{true} {pa}", (ref["a0"], ref["a1"]), COLOURS["slope"], True)):
        c2.add_series(_series(name=key, categories=cells(ref["start"], ref["end"]), values=cells(a, b),
                              line=_line(colour, "dash", 1.25), marker={"type": "none"}, y2_axis=axis))
    c2.set_title({"name": f"{pb} (left axis) -> {true} {pb} = {mb:g};  {pa} (right axis) -> {true} {pa} = {ma:g}",
                  "name_font": {"size": 11}})
    c2.set_x_axis(_EPOCH_AXIS)
    c2.set_y_axis({"name": "b (const)" if sheet.problem.lesson else pb,
                   "num_format": "General", "name_font": {"color": COLOURS["const"]},
                   "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}}})
    c2.set_y2_axis({"name": "a (slope)" if sheet.problem.lesson else pa,
                    "num_format": "General", "name_font": {"color": COLOURS["slope"]}})
    c2.set_legend({"position": "bottom"})
    c2.show_blanks_as("gap")
    c2.set_size({"width": 600, "height": 320})
    ws.insert_chart(f"{_chart_col(sheet)}22", c2)


def _split(cell):
    letters = cell.rstrip("0123456789")
    return letters, cell[len(letters):]
