"""A tiny expression node, so one rule written as plain arithmetic can also be printed as a formula.

Called on floats, arrays or tensors, a rule computes values; called on `E` symbols, the same
operators build a tree that `xlopt.excel` renders as cell formulas. Arguments keep their order
(`a - b` stays `a - b`) because the workbook must evaluate left to right exactly as the engine does.
"""
import math
import sys


class E:
    __slots__ = ("op", "args")

    def __init__(self, op, *args):
        self.op, self.args = op, args

    def _bin(op, flip=False):
        def f(self, other):
            return E(op, lift(other), self) if flip else E(op, self, lift(other))
        return f

    __add__, __radd__ = _bin("+"), _bin("+", True)
    __sub__, __rsub__ = _bin("-"), _bin("-", True)
    __mul__, __rmul__ = _bin("*"), _bin("*", True)
    __truediv__, __rtruediv__ = _bin("/"), _bin("/", True)
    __pow__, __rpow__ = _bin("^"), _bin("^", True)
    __gt__, __lt__ = _bin(">"), _bin("<")  # comparisons build nodes too (for `where`); no __eq__
    del _bin

    def __repr__(self):
        if self.op == "sym":
            return self.args[0]
        if self.op == "num":
            return repr(self.args[0])
        return f"{self.op}({', '.join(map(repr, self.args))})"

    def symbols(self):
        """Names this expression reads, in first-use order."""
        if self.op == "sym":
            return [self.args[0]]
        out = []
        for a in self.args:
            if isinstance(a, E):
                out += [s for s in a.symbols() if s not in out]
        return out


def sym(name):
    return E("sym", name)


def lift(x):
    if isinstance(x, E):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return E("num", x)
    raise TypeError(f"cannot put {type(x).__name__} into a formula")


def sqrt(x):
    """√ for every operand kind a rule may see: node, float, ndarray or tensor."""
    if isinstance(x, E):
        return E("sqrt", x)
    if isinstance(x, float):
        return math.sqrt(x) if x >= 0 else math.nan
    return x ** 0.5 if isinstance(x, int) else x.sqrt() if hasattr(x, "sqrt") else _np_sqrt(x)


def square(x):
    """x², as its own node: printed `x^2` in a formula, evaluated x·x everywhere else.

    x·x is one correctly rounded multiplication on every machine (Python floats, numpy at any SIMD
    level, torch on CPU and CUDA), whereas `x ** 2` is libm's pow for a Python float (not correctly
    rounded, and it differs from x·x in about 0.09 % of cases) and SIMD code for a numpy array with
    an array exponent. The spreadsheet writes `^2`, which Excel and LibreOffice compute exactly too.
    """
    if isinstance(x, E):
        return E("sq", x)
    return x * x


def cos(x):
    """cos (Excel's COS), radians, for every operand kind a rule may see. A float goes through libm's
    cos (math.cos, NaN where it is not finite, as the cell shows #NUM!); an array element by element
    through the same libm call, never numpy's SIMD cos, so a sweep equals the engine to the bit."""
    return _trig(x, "cos", math.cos)


def sin(x):
    """sin (Excel's SIN), radians, as `cos` does it."""
    return _trig(x, "sin", math.sin)


def _trig(x, op, fn):
    if isinstance(x, E):
        return E(op, x)
    if isinstance(x, (int, float)):
        return fn(x) if math.isfinite(x) else math.nan
    if hasattr(x, "new_tensor"):  # torch: its own kernel (tests hold torch to 1e-12, not to the bit)
        return getattr(x, op)()
    import numpy as np
    out = np.full(np.shape(x), np.nan)
    flat, ok = np.ravel(x), np.isfinite(np.ravel(x))
    out.ravel()[ok] = [fn(v) for v in flat[ok].tolist()]
    return out


def pi(like):
    """π: Excel's PI() node where `like` is an expression (a formula must not carry 17 digits of π,
    which Excel would cut to 15), else the float math.pi."""
    return E("pi") if isinstance(like, E) else math.pi


def where(cond, a, b):
    """Element-wise choice: `a` where `cond` holds, else `b`, for every operand kind a rule may see.

    The scalar-only `a if cond else b` of a button, written so the same decision also runs over
    numpy arrays or torch tensors of configurations (a sweep). Both branches are evaluated, so
    they must be plain values; a NaN condition is False, as `if` reads it.
    """
    if isinstance(cond, (bool, int, float)) or type(cond).__name__ == "bool_":
        return a if cond else b
    if isinstance(cond, E) or isinstance(a, E) or isinstance(b, E):
        return E("where", lift(cond) if not isinstance(cond, E) else cond, lift(a), lift(b))
    if hasattr(cond, "new_tensor"):  # a torch tensor: torch is loaded already, the core never imports it
        return sys.modules["torch"].where(cond, a, b)
    import numpy as np
    return np.where(cond, a, b)


def _np_sqrt(x):
    import numpy as np
    return np.sqrt(x)


def sign(x):
    """−1, 0 or 1 (Excel's SIGN) for every operand kind a rule may see."""
    if isinstance(x, E):
        return E("sign", x)
    if isinstance(x, (int, float)):
        return math.nan if x != x else float((x > 0) - (x < 0))
    return x.sign() if hasattr(x, "sign") else _np_sign(x)


def _np_sign(x):
    import numpy as np
    return np.sign(x)


def colsum(col):
    """SUM over a column, left to right (a plain loop: Python 3.12's sum() compensates)."""
    if isinstance(col, E):
        return E("sum", col)
    t = 0.0
    for v in col:
        t += v
    return t


def colsumsq(col):
    """SUMSQ over a column, left to right."""
    if isinstance(col, E):
        return E("sumsq", col)
    t = 0.0
    for v in col:
        t += v * v
    return t

