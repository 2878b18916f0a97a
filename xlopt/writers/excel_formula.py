"""Print the rules as spreadsheet formulas, and say which engine value each formula cell must show.

A sheet's columns are evaluated on `expr.sym` symbols instead of floats: the same rule functions
that compute the engine's numbers build an expression tree, which `to_excel` prints. Symbols stand
for cells of the row being printed (x -> A7, a column computed earlier in the row -> its cell), for
the previous row's cell of a carried state column (until that column is computed in this row), and
for the sheet's defined names (lr, mom, sqr_mom, ...).

`sheet_cells` lists every formula cell of an optimizer sheet with its engine value, so the builder
(cached values) and the checker (recalculated values) read one map.
"""
import math
from dataclasses import dataclass

from xlopt.core import rules, sheets
from xlopt.core.expr import E, sym
from xlopt.writers import panel

# binary operators: precedence; Excel and LibreOffice associate left to right
PREC = {">": 0, "<": 0, "+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
ATOM = 9
# functions: template per op
FUNCS = {"sqrt": "SQRT({})", "sign": "SIGN({})", "sum": "SUM({})", "sumsq": "SUMSQ({})", "where": "IF({},{},{})",
         "cos": "COS({})", "sin": "SIN({})", "pi": "PI()"}


class NoTemplate(ValueError):
    """An expression op the Excel printer has no template for."""


def _num(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise NoTemplate(f"cannot print the number {v!r} in a formula")
    if float(v).is_integer() and abs(v) < 1e15:
        s = str(int(v))
    else:
        s = repr(float(v)).upper()  # 1e-05 -> 1E-05
    return f"({s})" if v < 0 else s


def _prec(e):
    return PREC["^"] if e.op == "sq" else PREC.get(e.op, ATOM)


def to_excel(e, ref):
    """Formula text (no leading '=') of expression `e`; `ref(name)` gives a symbol's cell or name.

    Brackets appear only where precedence or left-to-right association needs them: the left
    operand is bracketed when it binds looser, the right one when it binds looser or equally
    (a-(b-c), a+(b+c) keep the tree's order of evaluation exactly).
    """
    if not isinstance(e, E):
        raise NoTemplate(f"not an expression: {e!r}")
    if e.op == "sym":
        return ref(e.args[0])
    if e.op == "num":
        return _num(e.args[0])
    if e.op in FUNCS:
        return FUNCS[e.op].format(*(to_excel(a, ref) for a in e.args))
    if e.op == "sq":  # x^2: Excel and LibreOffice square exactly, as the engine's x*x does
        (base,) = e.args
        text = to_excel(base, ref)
        return (f"({text})" if _prec(base) < PREC["^"] else text) + "^2"
    if e.op in PREC:
        left, right = e.args
        p = PREC[e.op]
        lt, rt = to_excel(left, ref), to_excel(right, ref)
        if _prec(left) < p:
            lt = f"({lt})"
        if _prec(right) <= p:
            rt = f"({rt})"
        return lt + e.op + rt
    raise NoTemplate(f"no Excel template for the operation {e.op!r}")


def _refs(table):
    def ref(name):
        try:
            return table[name]
        except KeyError:
            raise NoTemplate(f"symbol {name!r} has no cell or name in this sheet") from None
    return ref


# --- one data row -------------------------------------------------------------------------------
PREV = "@prev"  # suffix: the previous row's cell of a carried state column


def row_expressions(sheet):
    """Column letter -> expression of one data row, from the sheet's rules on symbols."""
    env = {k: sym(k) for k in ("x", "y", "b", "a", "lr")}
    env.update({h: sym(h) for h in sheet.hyper})
    env.update({k: sym(k + PREV) for k in sheet.state})
    out = {}
    for c in sheet.columns:
        out[c.letter] = c.fn(env)
        env[c.key] = sym(c.key)  # later columns read this column's cell, not its expression
    return out


def row_refs(sheet, r):
    """Symbol -> cell text for data row r."""
    t = {"x": f"A{r}", "y": f"B{r}", "b": f"C{r}", "a": f"D{r}", "lr": "lr"}
    t.update({h: h for h in sheet.hyper})
    t.update({c.key: f"{c.letter}{r}" for c in sheet.columns})
    t.update({k + PREV: f"{letter}{r - 1}" for k, letter in sheet.state.items()})
    return t


def carried_in(sheet, r):
    """Row r's b and a: the top values on the first row, the previous row's new b / new a after."""
    first = sheets.FIRST_ROW
    if r == first:
        return {"C": "const", "D": "slope"}
    return {"C": f"{sheet.letter(sheet.new_b)}{r - 1}", "D": f"{sheet.letter(sheet.new_a)}{r - 1}"}


def summary_expressions(sheet, n):
    """(summary, cell, expression, refs) for each summary cell, printed over whole column ranges."""
    first, last, s = sheet.rows(n)
    env, table = {}, {"lr": "lr", "const": "const", "slope": "slope"}
    env.update({k: sym(k) for k in ("lr", "const", "slope")})
    for h in sheet.hyper:
        env[h], table[h] = sym(h), h
    for c in sheet.columns:
        env[c.key] = sym("col:" + c.key)
        table["col:" + c.key] = f"{c.letter}{first}:{c.letter}{last}"
    for t in sheet.targets:
        cells = [f"{sheet.state[k]}{s}" for k in t.keys]
        env[t.name] = tuple(sym(c) for c in cells)
        table.update({c: c for c in cells})
    for e in sheet.extras:
        env[e.name], table[e.name] = sym(e.name), e.name
    out = []
    for sm in sheet.summaries:
        out.append((sm, f"{sm.letter}{s + sm.row_offset}", sm.fn(env)))
        env[sm.key], table[sm.key] = sym(sm.key), sm.key  # a later summary reads it by its name
    return [(sm, cell, e, _refs(dict(table))) for sm, cell, e in out]


# --- every formula cell of a sheet ---------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    address: str
    formula: str   # with the leading '='
    value: float   # the engine's value for the given pass
    what: str      # column key, 'b'/'a', 'state', summary key, ...


def _state_row(sheet):
    """Row 3's state cells: each points at its target cell (J3 = J33), as in the lesson."""
    out = []
    for t in sheet.targets:
        for j, k in enumerate(t.keys):
            out.append((t.name, j, sheet.state[k]))
    return out


def panel_cells(sheet, n, true_ba, rmse, epoch):
    """The control panel's formula cells (xlopt.writers.panel) and the chart's reference lines:
    (address, formula, value, what). `epoch` is the log's last epoch (the panel counts them)."""
    p = panel.layout(sheet)
    head, reset, e0, e1 = sheet.log_rows(n)
    ref = reference_cells(sheet, n)
    return [
        (p.true_b, "=data!$C$1", float(true_ba[0]), "true_b"),
        (p.true_a, "=data!$C$2", float(true_ba[1]), "true_a"),
        (p.rmse, f"={sheet.rmse_key}", rmse, "panel_rmse"),
        (p.epoch, f"=MAX(B{reset}:B{e1})", float(epoch), "panel_epoch"),
        (ref["end"], f"={p.epoch}", float(epoch), "panel_epoch"),
        (ref["b0"], f"={p.true_b}", float(true_ba[0]), "true_b"),
        (ref["b1"], f"={p.true_b}", float(true_ba[0]), "true_b"),
        (ref["a0"], f"={p.true_a}", float(true_ba[1]), "true_a"),
        (ref["a1"], f"={p.true_a}", float(true_ba[1]), "true_a"),
    ]


def reference_cells(sheet, n):
    """The little table beside the log that draws the true b and a as lines across the chart:
    epoch 0 and the last epoch (`start` holds a plain 0), each with the true b and a."""
    head = sheet.log_rows(n)[0]
    return {"title": f"I{head}", "start": f"I{head + 1}", "end": f"I{head + 2}",
            "b0": f"J{head + 1}", "b1": f"J{head + 2}", "a0": f"K{head + 1}", "a1": f"K{head + 2}"}


def sheet_cells(sheet, n, pass_=None, inputs=None, true_ba=(sheets.TRUE_B, sheets.TRUE_A), epoch=0):
    """Every formula cell of an optimizer sheet with n data rows, in sheet order.

    With `pass_` and `inputs` (from `engine.compute_pass`), each cell carries the engine's value;
    without them the values are nan (formula text only). `epoch`: the log's last epoch.
    """
    first, last, s = sheet.rows(n)
    known = pass_ is not None
    cells = []
    for target, j, letter in _state_row(sheet):
        cells.append(Cell(f"{letter}{first - 1}", f"={letter}{s}",
                          inputs[target][j] if known else math.nan, "state"))
    exprs = row_expressions(sheet)
    for i, r in enumerate(range(first, last + 1)):
        ref = _refs(row_refs(sheet, r))
        for letter, key in (("C", "b"), ("D", "a")):
            cells.append(Cell(f"{letter}{r}", "=" + carried_in(sheet, r)[letter],
                              pass_.cols[key][i] if known else math.nan, key))
        for c in sorted(sheet.columns, key=lambda c: (len(c.letter), c.letter)):
            cells.append(Cell(f"{c.letter}{r}", "=" + to_excel(exprs[c.letter], ref),
                              pass_.cols[c.key][i] if known else math.nan, c.key))
    for sm, cell, e, ref in summary_expressions(sheet, n):
        cells.append(Cell(cell, "=" + to_excel(e, ref), pass_.summary[sm.key] if known else math.nan, sm.key))
    for d in sheet.display:
        env = {h: sym(h) for h in sheet.hyper}
        cells.append(Cell(d.address, "=" + to_excel(d.fn(env), _refs({h: c for h, (c, _) in sheet.hyper.items()})),
                          d.fn(inputs) if known else math.nan, d.key))
    rmse = pass_.summary[sheet.rmse_key] if known else math.nan
    cells += [Cell(*c) for c in panel_cells(sheet, n, true_ba, rmse, epoch)]
    return cells


def data_y_expression():
    """The data sheet's y = true b + true a·x (rules.predict), printed for row r by `data_y_formula`."""
    return rules.predict(sym("a"), sym("b"), sym("x"))


def data_y_formula(r):
    return "=" + to_excel(data_y_expression(), _refs({"a": "$C$2", "b": "$C$1", "x": f"B{r}"}))
