"""A sheet's rule trees printed once as Python source and compiled: the engine's fast pass.

The columns of a sheet are evaluated on `expr.sym` symbols (as the Excel printer does), which gives
one expression tree per column built by the very functions in `xlopt.core.rules`. Those trees are
printed as Python with every operation bracketed, so Python evaluates exactly the operations the
rules perform, in the same order, and the values are the same to the bit. Two functions are made
from the same trees:

- `engine_pass(sheet)`: the whole 29-row loop on Python floats, one function, no dict per row, with
  the column sums the summaries read (`Summaries`) added up in the same loop, in one variant that
  keeps every row and one that keeps only the last. A row that raises (an overflowing `**`, a
  division by zero, a negative √) is evaluated again by the sheet's own column functions, which
  turn each failing cell into NaN as the workbook shows an error.
- `vector_pass(sheet, ops)`: the same loop over arrays of configurations (numpy or torch): every
  operand may be an array, `^` goes through `ops.pow` (libm's pow, see `xlopt.core.sweep_ops`) and
  √ through `ops.sqrt`. It keeps only the columns the summaries read, the last row's values, and
  a running sum of the cells `row_checks` names and of the last row's (a cheap "all finite?" test;
  an exact per-row scan is the `exact=True` variant, run only on the configurations whose sum was
  not finite).

The rule trees and their printing as Python are `xlopt.core.py_printer`'s.
"""
import math

from xlopt.core.expr import E, cos, sign, sin, sym
from xlopt.core.expr import sqrt as expr_sqrt, where as expr_where
from xlopt.core.py_printer import BIN, Hoist, compile_function, invariant, row_trees, signature, summary_columns, to_python


# --- which cells the cheap "all finite?" test must add ------------------------------------------
def _propagated(e):
    """Symbols whose non-finite value always makes `e` non-finite (inf or nan stays inf or nan
    through + − × and √, through a numerator and a base raised to a positive literal; not through a
    divisor, an exponent, a comparison or `where`)."""
    if not isinstance(e, E) or e.op == "num":
        return set()
    if e.op == "sym":
        return {e.args[0]}
    if e.op in ("+", "-", "*"):
        return _propagated(e.args[0]) | _propagated(e.args[1])
    if e.op == "/":
        return _propagated(e.args[0])
    if e.op in ("sqrt", "sq"):
        return _propagated(e.args[0])
    if e.op == "^":
        p = e.args[1]
        ok = isinstance(p, E) and p.op == "num" and not isinstance(p.args[0], bool) and p.args[0] > 0
        return _propagated(e.args[0]) if ok else set()
    return set()


def row_checks(sheet):
    """The columns whose every row the finiteness test adds; the last row's cells are added too.

    A cell that is not finite is caught when it reaches, by operations that keep it non-finite,
    either a summed column of its own row, or (within its row) a column that carries itself on to
    the next row (a state average, new b, new a): that column then stays non-finite down to the last
    row, whose cells are all added. Only the cells reaching neither need adding on every row."""
    trees = row_trees(sheet)
    keys = [k for k, _ in trees]
    feeds = {k: {s[4:] for s in _propagated(e) if s.startswith("col:")} for k, e in trees}  # k <- cols
    reads = {k: _propagated(e) for k, e in trees}
    nxt = {k: {"prev:" + k} for k in sheet.state}
    for k, s in ((sheet.new_b, "b"), (sheet.new_a, "a")):
        nxt.setdefault(k, set()).add(s)

    def reaches(start):
        """Columns (this row) that a non-finite `start` column makes non-finite, `start` included."""
        out, todo = {start}, [start]
        while todo:
            u = todo.pop()
            for d in keys:
                if d not in out and u in feeds[d]:
                    out.add(d)
                    todo.append(d)
        return out

    def carries(k):  # k's value at one row reaches k's value at the next
        starts = nxt.get(k, set())
        seeds = [d for d in keys if reads[d] & starts]
        return any(k in reaches(d) for d in seeds)

    carried = {k for k in keys if carries(k)}
    left = [k for k in keys if not (reaches(k) & carried)]
    return [k for k in left if reaches(k) == {k}]  # the rest reach one of these


def first_bad_row(cols, keys):
    """1-based first row where a column's value is not finite, or None."""
    if math.isfinite(sum(map(sum, (cols[k] for k in keys)))):  # all finite (an overflow: look closer)
        return None
    bad = None
    for k in keys:
        col = cols[k]
        if not all(map(math.isfinite, col)):
            i = next(i for i, v in enumerate(col) if not math.isfinite(v))
            bad = i + 1 if bad is None else min(bad, i + 1)
    return bad


# --- the engine's pass with its summaries, on floats -----------------------------------------------
class Summaries:
    """The summary cells as one compiled function: `fn(sums, inputs) -> {key: value}`.

    A summary's tree (its function evaluated on symbols) may read the inputs, the targets, the
    earlier summaries, and whole columns only through `colsum` / `colsumsq`; those sums are added up
    in the row loop, left to right (`t += v`, `t += v * v`, exactly as `expr.colsum` and
    `expr.colsumsq` do), and `sums` holds them in the order of `self.sums` [(kind, column)]. √ and
    `where` are `expr.sqrt` (with a shortcut for floats) and `expr.where`, and a summary that
    raises is NaN, as in `engine.summaries`. A definition this cannot print gives `None` from
    `plan`."""

    def __init__(self, sums, fn):
        self.sums, self.fn = sums, fn

    @classmethod
    def plan(cls, sheet):
        try:
            return cls._build(sheet)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            return None

    @classmethod
    def _build(cls, sheet):
        env = {k: sym("in:" + k) for k in ("lr", "const", "slope", *sheet.hyper, *(e.name for e in sheet.extras))}
        env.update({t.name: tuple(sym(f"tg:{t.name}:{i}") for i in range(len(t.keys))) for t in sheet.targets})
        env.update({k: sym("col:" + k) for k in ("b", "a", *(c.key for c in sheet.columns))})
        names = set(env) | {sm.key for sm in sheet.summaries}
        if not all(str(k).isidentifier() for k in names):
            raise ValueError("a name that is not an identifier")
        sums, lines = [], []

        def py(e):
            if not isinstance(e, E):
                e = E("num", e)
            if e.op in ("sum", "sumsq"):
                col = e.args[0]
                if not (isinstance(col, E) and col.op == "sym" and col.args[0].startswith("col:")):
                    raise ValueError("a sum over something other than a column")
                key = (e.op, col.args[0][4:])
                if key not in sums:
                    sums.append(key)
                return f"S[{sums.index(key)}]"
            if e.op == "sym":
                name = e.args[0]
                if name.startswith("in:"):
                    return f"I[{name[3:]!r}]"
                if name.startswith("tg:"):
                    _, t, i = name.split(":")
                    return f"I[{t!r}][{int(i)}]"
                if name.startswith("sm:"):
                    return "s_" + name[3:]
                raise ValueError(f"a summary reads the column {name} as a whole")
            if e.op == "num":
                return to_python(e)
            if e.op == "sqrt":
                return f"_sqrt({py(e.args[0])})"
            if e.op == "where":
                return f"_where({', '.join(py(a) for a in e.args)})"
            if e.op in BIN:
                return f"({py(e.args[0])} {BIN[e.op]} {py(e.args[1])})"
            raise ValueError(f"no Python template for the operation {e.op!r}")

        for sm in sheet.summaries:
            src = py(sm.fn(env))
            env[sm.key] = sym("sm:" + sm.key)
            lines += ["    try:", f"        s_{sm.key} = {src}",
                      "    except (OverflowError, ZeroDivisionError):", f"        s_{sm.key} = _nan"]
        out = ", ".join(f"{sm.key!r}: s_{sm.key}" for sm in sheet.summaries)
        src = "\n".join(["def _summ(S, I):"] + lines + [f"    return {{{out}}}", ""])
        return cls(sums, compile_function(src, "_summ", {"_sqrt": _summary_sqrt, "_where": expr_where,
                                                     "_nan": math.nan, "_sign": sign}))


def _summary_sqrt(v):
    """`expr.sqrt`, with its float case first."""
    if type(v) is float:
        return math.sqrt(v) if v >= 0 else math.nan
    return expr_sqrt(v)


_ENGINE = {}


def engine_pass(sheet):
    """(rows_fn, last_fn, summaries) for the engine, both fns called as
    fn(X, Y, b, a, lr, *hypers, *state, slow), or returning None when a row-invariant sub-expression
    raises (the caller then evaluates every row slowly).

    rows_fn returns (rows, sums, chk), last_fn (last row, sums, chk) and keeps no other row: a row
    is a tuple (b, a, each column in the sheet's evaluation order); sums: the column sums
    `summaries.sums` asks for (none when `summaries` is None: the caller evaluates them from whole
    columns); chk: a sum that is finite when every cell is (`row_checks`), else compute the bad row
    from the columns (it may also be an overflow of finite cells)."""
    got = _ENGINE.get(id(sheet))
    if got is None or got[0] is not sheet:  # keyed by identity: a Sheet holds dicts, so it is unhashable
        summ = Summaries.plan(sheet)
        got = _ENGINE[id(sheet)] = (sheet, (_build_engine(sheet, summ, True), _build_engine(sheet, summ, False), summ))
    return got[1]


def _build_engine(sheet, summ, store):
    trees = row_trees(sheet)
    keys = [k for k, _ in trees]
    hoist = Hoist(invariant(sheet))
    body = [f"            c_{k} = {to_python(e, None, hoist)}" for k, e in trees]
    pre = ["    try:"] + [f"        {line}" for line in hoist.lines] + [
        "    except (OverflowError, ZeroDivisionError, ValueError):", "        return None"] if hoist.lines else []
    sums = summ.sums if summ is not None else []
    var = {"b": "b", "a": "a", **{k: "c_" + k for k in keys}}
    acc = [f"        t{i} += {var[c]}" if kind == "sum" else f"        t{i} += {var[c]} * {var[c]}"
           for i, (kind, c) in enumerate(sums)]
    acc += [f"        chk += c_{k}" for k in row_checks(sheet)]
    cells = ", ".join("c_" + k for k in keys)
    keep = [f"        ap((b, a, {cells}))"] if store else ["        lb = b; la = a"]
    out = "rows" if store else f"(lb, la, {cells})"
    src = "\n".join(
        [f"def _pass(X, Y, {', '.join(signature(sheet))}, _slow):"] + pre + [
            "    rows = []; ap = rows.append" if store else "    lb = la = None", "    chk = 0.0"] +
        [f"    t{i} = 0.0" for i in range(len(sums))] + [
            "    for x, y in zip(X, Y):",
            "        try:"] + body + [
            "        except (OverflowError, ZeroDivisionError, ValueError):",
            f"            ({cells},) = _slow(x, y, b, a, "
            f"{{{', '.join(f'{k!r}: p_{k}' for k in sheet.state)}}})"] + keep + acc + [
            f"        b = c_{sheet.new_b}; a = c_{sheet.new_a}"] + [
            f"        p_{k} = c_{k}" for k in sheet.state] + [
            f"    return {out}, ({''.join(f't{i}, ' for i in range(len(sums)))}), chk + {' + '.join('c_' + k for k in keys)}",
            ""])
    return compile_function(src, "_pass", {"_sqrt": math.sqrt, "_sign": sign, "_where": lambda c, a, b: a if c else b,
                                   "_cos": cos, "_sin": sin})


# --- the same pass over arrays of configurations --------------------------------------------------
_VECTOR = {}


def vector_pass(sheet, ops, exact=False):
    """fn(X, Y, b, a, lr, *hypers, *state) -> (columns the summaries read, last row's values, check).

    check: with exact=False a running sum of cells (`row_checks`: finite if every cell is finite, possibly
    not finite by overflow when they all are: then ask again with exact=True); with exact=True the
    1-based first row with a non-finite cell per configuration (0: none).
    """
    key = (id(sheet), ops.name, exact)
    got = _VECTOR.get(key)
    if got is None or got[0] is not sheet:
        got = _VECTOR[key] = (sheet, _build_vector(sheet, ops, exact))
    return got[1]


def _build_vector(sheet, ops, exact):
    trees = row_trees(sheet)
    keys = [k for k, _ in trees]
    keep = summary_columns(sheet)
    hoist = Hoist(invariant(sheet))
    body = [f"        c_{k} = {to_python(e, '_pow', hoist)}" for k, e in trees]
    if exact:
        finite = " & ".join(f"_finite(c_{k})" for k in keys)
        check = [f"        chk = _where((chk == 0) & ~({finite}), i + 1, chk)"]
        init = "    chk = 0"
    else:  # in place: no new array per cell; the last row's cells are added after the loop
        check = [f"        chk += c_{k}" for k in row_checks(sheet)]
        init = "    chk = _zeros(b)"
    init = "\n".join([init] + [f"    {line}" for line in hoist.lines])
    last = {"b": "lb", "a": "la", **{k: f"c_{k}" for k in keys}}
    src = "\n".join(
        [f"def _vpass(X, Y, {', '.join(signature(sheet))}):", init] +
        [f"    L_{k} = []" for k in keep] + [
            "    for i, (x, y) in enumerate(zip(X, Y)):"] + body + check +
        [f"        L_{k}.append(c_{k})" for k in keep] + [
            "        lb, la = b, a",
            f"        b = c_{sheet.new_b}; a = c_{sheet.new_a}"] +
        [f"        p_{k} = c_{k}" for k in sheet.state] + (
        [] if exact else [f"    chk += c_{k}" for k in keys]) + [
            f"    return {{{', '.join(f'{k!r}: L_{k}' for k in keep)}}}, "
            f"{{{', '.join(f'{k!r}: {v}' for k, v in last.items())}}}, chk", ""])
    return compile_function(src, "_vpass", {"_sqrt": ops.sqrt, "_pow": ops.pow, "_finite": ops.isfinite,
                                    "_where": ops.where, "_zeros": ops.zeros_like, "_sign": sign,
                                    "_cos": cos, "_sin": sin})
