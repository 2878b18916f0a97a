"""The Excel printer: formula text and engine numbers come from the same rule definitions."""
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlopt.core import rules, sheets, state
from xlopt.core.engine import Data, compute_pass
from xlopt.writers.excel_formula import (NoTemplate, _refs, data_y_formula, row_expressions, sheet_cells,
                                 summary_expressions, to_excel)
from xlopt.core.expr import E, sym


def name(x):
    return x


def test_ewma_prints_and_computes_from_one_definition():
    text = to_excel(rules.ewma(sym("J3"), sym("F4"), sym("mom")), name)
    assert text == "J3*mom+(1-mom)*F4"
    book = state.fresh("momentum")
    p = book.pass_
    # the same function on floats gives the engine's J4, bit for bit
    assert rules.ewma(book.inputs["momtarget"][0], p.cols["g_b"][0], book.inputs["mom"]) == p.cols["m_b"][0]


@pytest.mark.parametrize("tree, text", [
    (sym("a") - (sym("b") - sym("c")), "a-(b-c)"),
    (sym("a") + (sym("b") + sym("c")), "a+(b+c)"),
    ((sym("a") - sym("b")) - sym("c"), "a-b-c"),
    ((sym("a") + sym("b")) * sym("c"), "(a+b)*c"),
    (sym("a") * sym("b") / sym("c"), "a*b/c"),
    (sym("a") * (sym("b") / sym("c")), "a*(b/c)"),
    (sym("a") / (sym("b") * sym("c")), "a/(b*c)"),
    (sym("a") - sym("b") * sym("c"), "a-b*c"),
    ((sym("a") * sym("b")) ** 2, "(a*b)^2"),
    (sym("a") * sym("b") ** 2, "a*b^2"),
    (sym("a") ** (sym("b") - 1), "a^(b-1)"),
    (sym("a") * -2, "a*(-2)"),
    (sym("a") + 0.01, "a+0.01"),
    (sym("a") * 1e-05, "a*1E-05"),
    (E("sqrt", sym("a") + sym("b")), "SQRT(a+b)"),
    (E("sum", sym("F4:F32")), "SUM(F4:F32)"),
    (E("sumsq", sym("K4:K32")), "SUMSQ(K4:K32)"),
])
def test_brackets_only_where_needed(tree, text):
    assert to_excel(tree, name) == text


def test_an_op_without_a_template_raises():
    with pytest.raises(NoTemplate, match="no Excel template"):
        to_excel(E("exp", sym("a")), name)
    with pytest.raises(NoTemplate, match="has no cell"):
        to_excel(sym("nowhere"), _refs({}))
    with pytest.raises(NoTemplate, match="number"):
        to_excel(E("num", math.inf), name)


def test_rows_reference_computed_cells_and_previous_state():
    rms = row_expressions(sheets.get("rmsprop"))
    ref = {"x": "A4", "y": "B4", "b": "C4", "a": "D4", "g_b": "F4", "s_b@prev": "J3"}
    # rmsprop divides by the previous row's average: J3, not J4
    assert to_excel(rms["H"], lambda s: ref.get(s, s)) == "C4-g_b*lr/SQRT(J3)".replace("g_b", "F4")
    cells = {c.address: c.formula for c in sheet_cells(sheets.get("adam"), 29)}
    assert cells["H4"] == "=C4-J4*lr/SQRT(L4)"      # adam: the updated m and s of this row
    assert cells["J4"] == "=J3*mom+(1-mom)*F4"
    assert cells["L4"] == "=L3*sqr_mom+(1-sqr_mom)*F4^2"
    assert cells["J3"] == "=J33" and cells["C4"] == "=const" and cells["C5"] == "=H4" and cells["D5"] == "=I4"
    basic = {c.address: c.formula for c in sheet_cells(sheets.get("basic"), 29)}
    assert basic["G4"] == "=(C4+0.01+A4*D4-B4)^2"
    assert basic["I4"] == "=((D4+0.01)*A4+C4-B4)^2"
    assert basic["M4"] == "=D4-L4*lr" and basic["N4"] == "=C4-K4*lr"
    assert basic["F33"] == "=SQRT(SUM(F4:F32))" and basic["L33"] == "=SQRT(SUMSQ(L4:L32))"
    ann = {c.address: c.formula for c in sheet_cells(sheets.get("adam_ann"), 29)}
    assert ann["N33"] == "=SQRT(L33)+SQRT(M33)" and ann["N34"] == "=avg_grad2/prev_grad2"
    assert ann["O33"] == "=SQRT(SUM(O4:O32))"
    assert {c.address: c.formula for c in sheet_cells(sheets.get("momentum"), 29)}["K1"] == "=1-J1"
    assert data_y_formula(5) == "=$C$1+$C$2*B5"


def test_summaries_name_earlier_summaries():
    texts = [to_excel(e, ref) for _, _, e, ref in summary_expressions(sheets.get("adam_ann"), 29)]
    assert texts == ["SQRT(SUM(O4:O32))", "SQRT(L33)+SQRT(M33)", "avg_grad2/prev_grad2"]


# --- the printed text, evaluated as written, gives the engine's numbers bit for bit -------------
_RANGE = re.compile(r"([A-Z]+)(\d+):([A-Z]+)(\d+)")
_CELL = re.compile(r"\$?([A-Z]+)\$?(\d+)")


def evaluate(formula, cells, names):
    """A tiny evaluator of the printed formulas: cells and names, + - * / ^, SQRT, SIGN, SUM, SUMSQ, IF."""
    def rng(m):
        col, r0, r1 = m.group(1), int(m.group(2)), int(m.group(4))
        return "[" + ",".join(repr(cells[f"{col}{r}"]) for r in range(r0, r1 + 1)) + "]"
    text = _RANGE.sub(rng, formula.lstrip("="))
    text = _CELL.sub(lambda m: f"(X({cells[m.group(1) + m.group(2)]!r}))", text)  # a cell is one operand
    text = _NUM.sub(lambda m: f"X({m.group(0)})", text)
    text = text.replace("^", "**")
    env = {k: X(v) if isinstance(v, float) else v for k, v in names.items()}
    env.update(SQRT=lambda v: X(math.sqrt(v)), SIGN=lambda v: X((v > 0) - (v < 0)), SUM=_sum, X=X,
               SUMSQ=lambda v: _sum([x * x for x in v]), IF=lambda c, a, b: a if c else b)
    return float(eval(text, {"__builtins__": {}}, env))


_NUM = re.compile(r"(?<![\w.])\d+\.?\d*(?:[eE][-+]?\d+)?(?![\w(])")


class X(float):
    """A number as Excel computes with it: x^2 is x·x exactly (not libm's pow), other ^ is pow."""
    def _op(f):
        return lambda a, b: X(f(float(a), float(b)))
    __add__, __radd__ = _op(lambda a, b: a + b), _op(lambda a, b: b + a)
    __sub__, __rsub__ = _op(lambda a, b: a - b), _op(lambda a, b: b - a)
    __mul__, __rmul__ = _op(lambda a, b: a * b), _op(lambda a, b: b * a)
    __truediv__, __rtruediv__ = _op(lambda a, b: a / b), _op(lambda a, b: b / a)
    __pow__ = _op(lambda a, b: a * a if b == 2 else a ** b)
    __rpow__ = _op(lambda a, b: b * b if a == 2 else b ** a)
    del _op

    def __neg__(self):
        return X(-float(self))


def _sum(v):
    t = 0.0
    for x in v:
        t += x
    return t


@pytest.mark.parametrize("name_", sheets.SHEETS)
@pytest.mark.parametrize("data", [Data.lesson(), Data.random(11, 17)], ids=["lesson", "random17"])
def test_printed_formulas_evaluate_to_the_engine_values(name_, data):
    book = state.fresh(name_, data)
    sheet, n = book.sheet, len(data.x)
    cells = sheet_cells(sheet, n, book.pass_, book.inputs)
    first, last, s = sheet.rows(n)
    values = {f"A{first + i}": x for i, x in enumerate(data.x)}
    values.update({f"B{first + i}": y for i, y in enumerate(data.y)})
    for target, keys in ((t.name, t.keys) for t in sheet.targets):
        values.update({f"{sheet.state[k]}{s}": v for k, v in zip(keys, book.inputs[target])})
    values.update({"J1": book.inputs.get("mom", 0.0)})
    values.update({c.address: c.value for c in cells})
    names = {k: v for k, v in book.inputs.items() if not isinstance(v, list)}
    names.update(book.pass_.summary)
    for c in cells:
        if c.formula.startswith("=data!") or c.what == "panel_epoch":  # the log's epochs: test_check_lo
            continue
        got = evaluate(c.formula, values, names)
        assert got == c.value or (math.isnan(got) and math.isnan(c.value)), (c.address, c.formula, got, c.value)


@st.composite
def trees(draw, depth=0):
    if depth > 3 or draw(st.booleans()):
        if draw(st.booleans()):
            return sym(draw(st.sampled_from("abcd")))
        return E("num", draw(st.sampled_from([1, 2, 0.5, 0.01, 3.25])))
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return E(op, draw(trees(depth + 1)), draw(trees(depth + 1)))


def tree_value(e, env):
    if e.op == "sym":
        return env[e.args[0]]
    if e.op == "num":
        return e.args[0]
    a, b = (tree_value(x, env) for x in e.args)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[e.op]


@settings(max_examples=300, deadline=None)
@given(trees())
def test_printing_keeps_the_order_of_evaluation(tree):
    env = {"a": 1.1, "b": -2.7, "c": 3.3, "d": 0.7}
    want = tree_value(tree, env)
    text = to_excel(tree, name)
    try:
        got = eval(text.replace("^", "**"), {"__builtins__": {}}, env)
    except ZeroDivisionError:
        got = math.nan
    assert got == want or (math.isnan(got) and math.isnan(want)), text


def test_compute_pass_and_cells_agree_on_edited_inputs():
    sheet = sheets.get("adam")
    data = Data.lesson()
    inputs = dict(state.fresh("adam").inputs, lr=0.3)
    p = compute_pass(sheet, data, inputs)
    cells = {c.address: c.value for c in sheet_cells(sheet, 29, p, inputs)}
    assert cells["H32"] == p.cols["new_b"][-1] and cells["N33"] == p.summary["rmse"]
