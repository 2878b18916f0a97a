"""Write the graddesc workbook: the lesson's sheets with live formulas printed from the rules.

Every optimizer sheet is laid out by `xlopt.sheets` and its formula text comes from
`xlopt.excel_formula.sheet_cells`; each formula is stored with the engine's value after Reset as its
cached result, so the file opens showing what Reset shows (also in viewers that never recalculate).
"""
import datetime
import os

from xlopt.core import problems, sheets, state
from xlopt.writers import xlsm
from xlopt.core.engine import Data
from xlopt.core.atomic import replacing
from xlopt.core.errors import BadInput
from xlopt.writers import panel, paths, paths_f
from xlopt.writers.excel_formula import reference_cells, sheet_cells
from xlopt.writers.formats import add_formats, cell_format
from xlopt.writers.instructions import write_data_sheet, write_function_sheet, write_instructions
from xlopt.writers.sheet_charts import add_charts

CARRIES = ("lesson", "full")
INSTRUCTIONS = "instructions"
DATA = "data"
CREATED = datetime.datetime(2024, 1, 1)  # fixed document date: builds are byte for byte repeatable

PANEL_ROWS = (30, 24)       # points: rows 1-2 hold the buttons and the watch line
BUTTON_COLS = ("A:B", 7.5)  # the buttons' width is A+B's
COLUMNS = ("C:P", 9)        # General shows what fits: about 8 significant digits; A-M in a 1366x768 window


# --- an optimizer sheet --------------------------------------------------------------------------
def _labels(sheet):
    """Label cells left of each β; b, a, lr and the panel carry their labels in their formats."""
    return {f"{chr(ord(cell[0]) - 1)}{cell[1:]}": h for h, (cell, _) in sheet.hyper.items()}


def _panel(ws, f, sheet):
    """Rows 1-2: heights for the buttons, the watch line merged over its free run (xlopt.writers.panel)."""
    for r, h in enumerate(PANEL_ROWS):
        ws.set_row(r, h)
    first, last = panel.layout(sheet).watch
    ws.merge_range(f"{first}:{last}", "watch: " + panel.watch_line(sheet), f["watch"])


def _optimizer_sheet(wb, ws, f, sheet, book):
    n = len(book.data.x)
    first, last, s = sheet.rows(n)
    names = sheet.names(n)
    inputs, p = book.inputs, book.pass_
    # top: inputs and labels
    for addr, text in _labels(sheet).items():
        ws.write_string(addr, text, f["label"])
    _panel(ws, f, sheet)
    ws.write_number("C1", inputs["const"], f["panel_const"])
    ws.write_number("C2", inputs["slope"], f["panel_slope"])
    ws.write_number(sheet.lr_cell, inputs["lr"], f["panel_lr"])
    for h, (cell, _) in sheet.hyper.items():
        ws.write_number(cell, inputs[h], f["input"])
    # titles: row 3, or row 2 above a state column (row 3 holds the carried-in state there)
    state_letters = set(sheet.state.values())
    for d in sheet.display:
        if d.note:
            ws.write_string(d.note[0], d.note[1], f["note"])
    heads = (("step", "-", "x", "y") if sheet.problem.is_function else ("x", "y", "b (const)", "a (slope)"))
    for letter, title in zip("ABCD", heads):
        ws.write_string(f"{letter}3", title, f["head"])
    for c in sheet.columns:
        ws.write_string(f"{c.letter}{2 if c.letter in state_letters else 3}", c.title, f["head"])
    for e in sheet.extras:  # a value cell in row 3, titled above it
        ws.write_string(f"{e.cell[0]}{int(e.cell[1:]) - 1}", e.title, f["head"])
        ws.write_number(e.cell, inputs[e.name], f["input"])
    # data values
    for i, (x, y) in enumerate(zip(book.data.x, book.data.y)):
        ws.write_number(f"A{first + i}", x, f["x"])
        ws.write_number(f"B{first + i}", y, f["y"])
    # the targets: values (what Reset left), read by row 3
    for tg in sheet.targets:
        for k, v in zip(tg.keys, inputs[tg.name]):
            ws.write_number(f"{sheet.state[k]}{s}", v, f["target"])
    # every formula, with the engine's value cached
    cells = sheet_cells(sheet, n, p, inputs, true_ba=sheet.problem.minimum, epoch=book.log[-1]["epoch"])
    for c in cells:
        fmt = f["state"] if c.what == "state" else cell_format(f, c.what)
        if c.address in panel_addresses(sheet):
            fmt = f["panel_" + c.what]
        elif c.what in ("panel_epoch", "true_b", "true_a"):  # the charts' reference lines: plain numbers
            fmt = f["ref"]
        ws.write_formula(c.address, c.formula, fmt, c.value)
    # labels under the totals and targets (the row below them when that is taken)
    _summary_labels(ws, f, sheet, n, {c.address for c in cells})
    # the log: header, the Reset entry, room for 69 epochs
    head, reset, e0, e1 = sheet.log_rows(n)
    ws.write_string(f"A{head}", "log", f["bold"])
    for letter, title in zip("BCDEF", ("epoch", sheet.rmse_key, *sheet.problem.params, "lr")):
        ws.write_string(f"{letter}{head}", title, f["head"])
    log_fmts = [f["epoch"], f["_"], f["_"], f["_"], f["_"]]
    for j, fmt in enumerate(log_fmts):  # the empty rows Run fills keep the log's number formats
        for r in range(reset - 1 + len(book.log), e1):
            ws.write_blank(r, 1 + j, None, fmt)
    for i, entry in enumerate(book.log):
        for j, key in enumerate(("epoch", "rmse", "const", "slope", "lr")):
            ws.write_number(reset - 1 + i, 1 + j, entry[key], log_fmts[j])  # 0-based row
    what = f"{sheet.rmse_key}, {', '.join(sheet.problem.params)}"
    ws.write_string(f"G{head}", f"<- Run appends one row per epoch ({what} and lr after it); "
                    f"the log keeps the latest {sheets.LOG_ROWS} epochs", f["note"])
    ref = reference_cells(sheet, n)
    ws.write_string(ref["title"], "epoch", f["head"])
    true = "true" if sheet.problem.lesson else "min"
    ws.write_string(ref["b0"].replace(str(head + 1), str(head)), f"{true} {sheet.problem.labels[0]}", f["head"])
    ws.write_string(ref["a0"].replace(str(head + 1), str(head)), f"{true} {sheet.problem.labels[1]}", f["head"])
    ws.write_number(ref["start"], 0, f["epoch"])
    # names
    for name, ref in names.items():
        wb.define_name(f"{sheet.name}!{name}", f"={sheet.name}!{ref}")
    wb.define_name(f"{sheet.name}!{sheets.KIND_NAME}", f'="{sheet.name}"')  # what this sheet is
    if not sheet.problem.lesson:  # and what it minimises (none: the lesson's problem, as before problems)
        wb.define_name(f"{sheet.name}!{sheets.PROBLEM_NAME}", f'="{sheet.problem.name}"')
    # look
    ws.set_column(BUTTON_COLS[0], BUTTON_COLS[1])
    ws.set_column(COLUMNS[0], COLUMNS[1])
    ws.freeze_panes(3, 0)
    add_charts(wb, ws, sheet, n)


def panel_addresses(sheet):
    p = panel.layout(sheet)
    return {p.true_b, p.true_a, p.rmse, p.epoch}


def _summary_labels(ws, f, sheet, n, formula_cells):
    """A label for each total and target: below it, else left of it, else two rows below."""
    first, last, s = sheet.rows(n)
    taken = set(formula_cells)
    taken |= {f"{sheet.state[k]}{s}" for tg in sheet.targets for k in tg.keys}
    ws.write_string(f"A{s}", "totals", f["label"])
    short = {"grad_b_norm": "|de/db|", "grad_a_norm": "|de/da|"}
    labels = [(sheet.state[tg.keys[0]], s, tg.name) for tg in sheet.targets]
    labels += [(sm.letter, s + sm.row_offset, short.get(sm.key, sm.key)) for sm in sheet.summaries]
    for letter, row, text in labels:
        left = chr(ord(letter) - 1)
        for addr, shown, fmt in ((f"{letter}{row + 1}", "^ " + text, f["note"]),
                                 (f"{left}{row}", text + " ->", f["label"]),
                                 (f"{letter}{row + 2}", "^^ " + text, f["note"])):
            if addr not in taken:
                taken.add(addr)
                ws.write_string(addr, shown, fmt)
                break


# --- the whole book ----------------------------------------------------------------------------
def _exact_worksheet_class():
    """XlsxWriter writes number cells with 16 significant digits; the Reset state (targets, the
    log) needs all 17 to be the engine's floats exactly. Formula results are already written exactly."""
    from xlsxwriter.worksheet import Worksheet

    class ExactWorksheet(Worksheet):
        def _xml_number_element(self, number, attributes=()):  # noqa: B006 (XlsxWriter's signature)
            attr = "".join(f' {k}="{self._escape_attributes(v)}"' for k, v in attributes)
            self.fh.write(f"<c{attr}><v>{float(number)!r}</v></c>")  # repr: the shortest exact digits

    return ExactWorksheet


def write(path, data=None, carry="lesson", macros=False, problem=None):
    """Write the workbook to `path` (no checks, no temp file: see `build`): every sheet on `problem`
    (a name; None: the lesson's)."""
    import xlsxwriter
    problem = problems.get(problem)
    data = data or Data.of(problem)
    if carry not in CARRIES:
        raise BadInput(f"--carry must be one of {', '.join(CARRIES)}, got {carry!r}")
    # in_memory: no temp files in $TMPDIR for a signal or a full disk to leave behind
    wb = xlsxwriter.Workbook(path, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    wb.set_properties({"title": "graddesc: gradient descent, momentum, RMSProp and Adam in a spreadsheet",
                       "subject": "fast.ai Lesson 18 graddesc workbook", "author": "xlopt",
                       "created": CREATED, "comments": "built by xlopt build"})
    wb.set_calc_mode("auto")
    wb.define_name("carry", f'="{carry}"')
    f = add_formats(wb, problem)
    wb.worksheet_class = _exact_worksheet_class()
    worksheets = {}
    worksheets[INSTRUCTIONS] = ws = wb.add_worksheet(INSTRUCTIONS)
    write_instructions(ws, f, carry, problem)
    worksheets[paths.NAME] = paths_ws = wb.add_worksheet(paths.NAME)
    worksheets[DATA] = ws = wb.add_worksheet(DATA)
    if problem.is_function:
        write_function_sheet(ws, f, problem)
    else:
        write_data_sheet(ws, f, data)
    books = {}
    for sheet in sheets.on(problem):
        books[sheet.name] = book = state.fresh(sheet.name, data, problem=problem)
        worksheets[sheet.name] = ws = wb.add_worksheet(sheet.name)
        _optimizer_sheet(wb, ws, f, sheet, book)
    if problem.is_function:
        paths_f.write_sheet(wb, paths_ws, f, problem, books)
    else:
        paths.write_sheet(wb, paths_ws, f, data, books)
    worksheets[INSTRUCTIONS].activate()
    if macros:
        xlsm.add_macros(wb, worksheets)
    wb.close()


SUFFIXES = (".xlsx", ".xlsm")


def _close_zips(err):
    """A write that failed (a full disk) leaves XlsxWriter's zip open: close it now, quietly, or the
    garbage collector tries again and prints "Exception ignored" with a traceback."""
    import zipfile
    seen = []
    while isinstance(err, BaseException) and err not in seen:  # FileCreateError wraps the OSError
        seen.append(err)
        tb = err.__traceback__
        while tb is not None:
            for v in list(tb.tb_frame.f_locals.values()):
                if isinstance(v, zipfile.ZipFile):
                    try:
                        v.close()
                    except OSError:
                        pass
                    v.fp = None
            tb = tb.tb_next
        err = err.__context__ or (err.args[0] if err.args else None)


def build(path, data=None, carry="lesson", force=False, problem=None):
    """Check the target, write to a temp file beside it and move it into place (all or nothing)."""
    path = os.path.abspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise BadInput(f"output {path} must end in .xlsx (formulas) or .xlsm (formulas and buttons)")
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise BadInput(f"output {path} is a folder; give a file name ending in {suffix}")
    if os.path.exists(path) and not force:
        raise BadInput(f"{path} exists; pass --force to overwrite it")
    if not os.path.isdir(folder):
        raise BadInput(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {path}: folder {folder} is not writable")
    from xlsxwriter.exceptions import FileCreateError
    try:
        with replacing(path, keep_suffix=True) as tmp:
            write(tmp, data, carry, macros=suffix == ".xlsm", problem=problem)
    except (OSError, FileCreateError) as e:  # XlsxWriter wraps the OSError of its final write
        _close_zips(e)
        e = getattr(e, "args", [e])[0] if isinstance(e, FileCreateError) else e
        raise BadInput(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    return path
