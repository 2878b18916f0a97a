"""One definition per rule: the same function gives floats, numpy float64 arrays and formula trees."""
import inspect
import math
import operator

import numpy as np
import pytest

from xlopt.core import rules
from xlopt.core.expr import E, sym

RULES = [f for _, f in inspect.getmembers(rules, inspect.isfunction)
         if f.__module__ == rules.__name__ and f not in rules.MATRIX_RULES]  # element-wise: every operand kind
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": operator.pow,
       ">": operator.gt, "<": operator.lt, "sq": lambda v: v * v}


def evaluate(e, env):
    """Walk a formula tree the way a spreadsheet would, left to right."""
    if e.op == "sym":
        return env[e.args[0]]
    if e.op == "num":
        return e.args[0]
    if e.op == "sqrt":
        return math.sqrt(evaluate(e.args[0], env))
    if e.op == "sign":
        v = evaluate(e.args[0], env)
        return float((v > 0) - (v < 0))
    if e.op == "where":
        c, a, b = (evaluate(x, env) for x in e.args)
        return a if c else b
    return OPS[e.op](*(evaluate(a, env) for a in e.args))


def _args(f, rng):
    names = [p for p, v in inspect.signature(f).parameters.items() if v.default is inspect.Parameter.empty]
    vals = {n: float(rng.uniform(0.1, 0.9) if n in ("beta", "b1", "b2", "lr", "wd", "eps") else rng.uniform(1, 50))
            for n in names}
    if "t" in vals:
        vals["t"] = 3.0
    return names, vals


def test_every_rule_is_covered():
    assert len(RULES) >= 14


@pytest.mark.parametrize("f", RULES, ids=lambda f: f.__name__)
def test_float_numpy_and_formula_agree(f):
    rng = np.random.default_rng(0)
    names, vals = _args(f, rng)
    as_float = f(**vals)
    as_numpy = f(**{k: np.array([v, v]) for k, v in vals.items()})
    tree = f(**{k: sym(k) for k in names})
    assert isinstance(tree, E)
    assert set(tree.symbols()) == set(names)                 # the tree reads exactly its operands
    assert np.array_equal(as_numpy, [as_float, as_float])   # numpy float64: same bits
    assert evaluate(tree, vals) == as_float                  # the formula tree: same bits


@pytest.mark.parametrize("gradrat, lr", [(2.5, 0.25), (2.0, 1.0), (math.nan, 1.0)])
def test_anneal_lr_is_the_buttons_if(gradrat, lr):
    assert rules.anneal_lr(1.0, gradrat) == lr
    assert rules.anneal_lr(np.array([1.0, 1.0]), np.array([gradrat, 0.5])).tolist() == [lr, 1.0]
    assert rules.keep_best(np.array([1.0, 3.0]), np.array([2.0, 2.0])).tolist() == [1.0, 2.0]


def test_order_of_operations_is_kept():
    # the spreadsheet evaluates old - g*lr/sqrt(s) as ((g*lr)/sqrt(s)); the tree keeps that shape
    t = rules.scaled_step(sym("p"), sym("g"), sym("lr"), sym("s"))
    assert repr(t) == "-(p, /(*(g, lr), sqrt(s)))"
    t = rules.ewma(sym("m"), sym("g"), sym("beta"))
    assert repr(t) == "+(*(m, beta), *(-(1, beta), g))"
