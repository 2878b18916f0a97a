"""The workbook's cell formats: number formats that show what fits, the panel's labelled cells, the colours."""
from xlopt.core import problems

# Number formats: General for every computed value (it shows significant digits that fit the
# column and switches to scientific notation, so converged gradients read 1.2E-09, not 0.00, and
# nothing turns into ###); whole numbers for x, y and the epoch.
FMT_DEFAULT = "General"
# b and a (C, D) are not General: LibreOffice shows a formula that only refers to a cell (C4 = const)
# in that cell's format when its own is General, and const's carries the label "b = ".
FMTS = {"x": "0", "y": "0", "epoch": "0", "b": "0.0#####", "a": "0.0#####", "ref": "0.0###"}
# the panel's items carry their label in the number format, one cell each (xlopt.writers.panel)
def panel_fmts(problem):
    """The panel's formats, labelled in the problem's words (b, a, true b, rmse on the lesson's; x, y,
    min x, loss on a function)."""
    b, a = problem.labels
    true = "true" if problem.lesson else "min"
    loss = problem.loss_key
    return {"const": f'"{b} = "0.0###;"{b} = -"0.0###', "slope": f'"{a} = "0.0###;"{a} = -"0.0###',
            "lr": '[>=0.001]"lr = "General;"lr = "0.0E+00',
            "true_b": f'"{true} {b} "General', "true_a": f'"{true} {a} "General',
            # a function's loss runs down to 0 (below it on the saddle, shown "-loss 7.1E-02": only the
            # first section of a conditional format keeps the sign): digits below 1, not 0.00
            "panel_rmse": (f'[<0.001]"{loss} "0.0E+00;[<1000]"{loss} "0.00;"{loss} "0.0E+00' if problem.lesson
                           else f'[<0.001]"{loss} "0.0E+00;[<100]"{loss} "0.000;"{loss} "0.0E+00'),
            "panel_epoch": '"epoch "0'}


PANEL_FMTS = panel_fmts(problems.get(None))


def add_formats(wb, problem=None):
    """Every format the sheets use, by key; `problem` labels the panel's (None: the lesson's)."""
    f = {k: wb.add_format({"num_format": v}) for k, v in FMTS.items()}  # dict order: byte-stable files
    f["_"] = wb.add_format({"num_format": FMT_DEFAULT})
    inp = {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000", "num_format": FMT_DEFAULT}
    f["input"] = wb.add_format(inp)
    f["input_int"] = wb.add_format(dict(inp, num_format="0"))
    # inputs (b, a, lr) keep their yellow; the rest is bold on blue
    for k, v in panel_fmts(problems.get(None) if problem is None else problem).items():
        base = inp if k in ("const", "slope", "lr") else {"bg_color": "#DDEBF7", "border": 1, "border_color": "#9BC2E6"}
        f["panel_" + k] = wb.add_format(dict(base, num_format=v, bold=k in ("const", "slope"), valign="vcenter",
                                             **({} if k in ("const", "slope") else {"font_size": 10})))
    f["watch"] = wb.add_format({"italic": True, "font_size": 9, "text_wrap": True, "valign": "vcenter",
                                "font_color": "#1F3864", "bg_color": "#F2F2F2", "border": 1, "border_color": "#BFBFBF"})
    f["target"] = wb.add_format({"bg_color": "#E2EFDA", "num_format": FMT_DEFAULT, "border": 1, "border_color": "#70AD47"})
    f["state"] = wb.add_format({"italic": True, "font_color": "#375623", "num_format": FMT_DEFAULT})
    f["label"] = wb.add_format({"align": "right", "font_color": "#595959", "valign": "vcenter"})
    f["note"] = wb.add_format({"italic": True, "font_color": "#595959"})
    f["head"] = wb.add_format({"bold": True, "bottom": 1, "align": "center", "bg_color": "#D9E1F2"})
    f["title"] = wb.add_format({"bold": True, "font_size": 14})
    f["bold"] = wb.add_format({"bold": True})
    f["wrap"] = wb.add_format({"text_wrap": True, "valign": "top"})
    f["sheadline"] = wb.add_format({"bold": True, "font_size": 12})
    return f


def cell_format(f, key):
    """A column's number format: its own in FMTS, else General."""
    return f[key] if key in FMTS else f["_"]
