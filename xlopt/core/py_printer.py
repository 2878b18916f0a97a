"""The Python printer: a sheet's rule trees, each printed as Python source with every operation bracketed.

The columns of a sheet are evaluated on `expr.sym` symbols (as the Excel printer does), which gives
one expression tree per column built by the very functions in `xlopt.core.rules`; printed with
every operation bracketed, Python evaluates exactly the operations the rules perform, in the same
order. `xlopt.core.compiled` makes the engine's and the sweep's passes from this source.

Symbols: x, y, b, a (the row's inputs), lr and the hyper-parameters, `prev:k` for a carried state
column k not yet computed in this row (the previous row's value), `col:k` for a column computed
earlier in the row.
"""
import itertools
import math

from xlopt.core.expr import E, sym

BIN = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**", ">": ">", "<": "<"}


def row_trees(sheet):
    """[(column key, expression)] of one data row, in the sheet's evaluation order."""
    env = {k: sym(k) for k in ("x", "y", "b", "a", "lr")}
    env.update({h: sym(h) for h in sheet.hyper})
    env.update({k: sym("prev:" + k) for k in sheet.state})
    out = []
    for c in sheet.columns:
        out.append((c.key, c.fn(env)))
        env[c.key] = sym("col:" + c.key)
    return out


def summary_columns(sheet):
    """The columns the sheet's summaries read (evaluated on symbols)."""
    env = {"lr": sym("lr"), "const": sym("const"), "slope": sym("slope")}
    env.update({e.name: sym(e.name) for e in sheet.extras})
    env.update({h: sym(h) for h in sheet.hyper})
    env.update({c.key: sym("col:" + c.key) for c in sheet.columns})
    env.update({t.name: (sym(t.name + ":0"), sym(t.name + ":1")) for t in sheet.targets})
    used = []
    for sm in sheet.summaries:
        e = sm.fn(env)
        used += [s[4:] for s in (e.symbols() if isinstance(e, E) else []) if s.startswith("col:")]
        env[sm.key] = sym(sm.key)
    return list(dict.fromkeys(used))


def _var(name):
    if name.startswith("prev:"):
        return "p_" + name[5:]
    if name.startswith("col:"):
        return "c_" + name[4:]
    if name in ("x", "y", "b", "a"):
        return name
    return "h_" + name


class Hoist:
    """Sub-trees that read only lr and the hyper-parameters: the same in every row, so each is
    computed once before the loop (`k0 = (1 - h_mom)`), with the same operations in the same order."""

    def __init__(self, invariant):
        self.invariant, self.names, self.lines = set(invariant), {}, []

    def __call__(self, e, pow_fn):
        if e.op in ("sym", "num") or not set(e.symbols()) <= self.invariant:
            return None
        key = repr(e)
        if key not in self.names:
            self.names[key] = f"k{len(self.names)}"
            self.lines.append(f"{self.names[key]} = {to_python(e, pow_fn)}")
        return self.names[key]


def to_python(e, pow_fn=None, hoist=None):
    """Python source of expression `e`, every operation bracketed (the tree's order, exactly)."""
    if not isinstance(e, E):
        e = E("num", e)
    if hoist is not None:
        name = hoist(e, pow_fn)
        if name is not None:
            return name
    if e.op == "sym":
        return _var(e.args[0])
    if e.op == "num":
        v = e.args[0]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"cannot print the number {v!r}")
        return f"({v!r})" if v < 0 else repr(v)
    if e.op == "sqrt":
        return f"_sqrt({to_python(e.args[0], pow_fn, hoist)})"
    if e.op == "sign":
        return f"_sign({to_python(e.args[0], pow_fn, hoist)})"
    if e.op in ("cos", "sin"):
        return f"_{e.op}({to_python(e.args[0], pow_fn, hoist)})"
    if e.op == "pi":
        return repr(math.pi)
    if e.op == "sq":  # x·x with x evaluated once: one correctly rounded product on every machine
        t = f"_s{next(_TEMPS)}"
        return f"(({t} := {to_python(e.args[0], pow_fn, hoist)}) * {t})"
    if e.op == "where":
        return f"_where({', '.join(to_python(a, pow_fn, hoist) for a in e.args)})"
    if e.op in BIN:
        left, right = (to_python(a, pow_fn, hoist) for a in e.args)
        if e.op == "^" and pow_fn:
            return f"{pow_fn}({left}, {right})"
        if e.op in "+-*/":  # 2 * float is 2.0 * float, without int's detour through float's method
            a, b = e.args
            if _small_int(a) and _surely_float(b):
                left = repr(float(a.args[0])) if a.args[0] >= 0 else f"({float(a.args[0])!r})"
            elif _small_int(b) and _surely_float(a):
                right = repr(float(b.args[0])) if b.args[0] >= 0 else f"({float(b.args[0])!r})"
        return f"({left} {BIN[e.op]} {right})"
    raise ValueError(f"no Python template for the operation {e.op!r}")


_TEMPS = itertools.count()


def _small_int(e):
    return (isinstance(e, E) and e.op == "num" and isinstance(e.args[0], int) and not isinstance(e.args[0], bool)
            and abs(e.args[0]) <= 2 ** 53)


def _surely_float(e):
    """True when `e` is a Python float whatever the inputs hold (a data value, or arithmetic with one)."""
    if not isinstance(e, E):
        return isinstance(e, float)
    if e.op == "sym":
        return e.args[0] in ("x", "y")
    if e.op == "num":
        return isinstance(e.args[0], float)
    if e.op == "/":
        return True
    if e.op == "sq":
        return _surely_float(e.args[0])
    if e.op in ("+", "-", "*"):
        return _surely_float(e.args[0]) or _surely_float(e.args[1])
    return False


def invariant(sheet):
    return ["lr"] + list(sheet.hyper)


def signature(sheet):
    return ["b", "a", "h_lr"] + [f"h_{h}" for h in sheet.hyper] + [f"p_{k}" for k in sheet.state]


def compile_function(src, name, glob):
    code = compile(src, f"<xlopt.compiled {name}>", "exec")
    ns = dict(glob)
    exec(code, ns)
    return ns[name]
