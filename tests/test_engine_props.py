"""Property tests: the engine equals a direct, hand-written per-row loop for random data and hypers.

The loops below are written out sheet by sheet from the spec's table, independently of
xlopt.sheets' column wiring, so a wrongly wired column (previous vs updated average, new b vs
new a) makes them disagree. Arithmetic order is the spec's, so agreement is exact; squares are x·x
(as the engine's `expr.square`: libm's pow(x, 2) differs from x·x in about 0.09 % of cases).
"""
import math

from hypothesis import given, settings, strategies as st

from xlopt.core import buttons, sheets
from xlopt.core.engine import Data, MemoryBook, compute_pass

xs = st.lists(st.integers(1, 100), min_size=2, max_size=40)
unit = st.floats(0.05, 0.99)
small_lr = st.floats(1e-6, 1e-4)


def direct(name, x, y, top):
    b, a, lr = top["const"], top["slope"], top["lr"]
    top = dict(top)  # adam_bc counts its steps in it
    m = list(top.get("momtarget", [0, 0]))
    s = list(top.get("gradtarget", [0, 0]))
    err = []
    for xi, yi in zip(x, y):
        if name == "basic":
            pred = b + a * xi
            err.append((yi - pred) * (yi - pred))
            gb = 2 * (pred - yi)
            ga = gb * xi
            b, a = b - gb * lr, a - ga * lr
            continue
        pred = b + a * xi
        err.append((yi - pred) * (yi - pred))
        gb = 2 * (a * xi + b - yi)
        ga = gb * xi
        if name == "momentum":
            beta = top["mom"]
            m = [m[0] * beta + (1 - beta) * gb, m[1] * beta + (1 - beta) * ga]
            b, a = b - m[0] * lr, a - m[1] * lr
        elif name == "nesterov":
            beta = top["mom"]
            m = [m[0] * beta + (1 - beta) * gb, m[1] * beta + (1 - beta) * ga]
            step = [m[0] * beta + (1 - beta) * gb, m[1] * beta + (1 - beta) * ga]  # the look-ahead
            b, a = b - step[0] * lr, a - step[1] * lr
        elif name == "adam_bc":
            b1, b2, eps = top["mom"], top["sqr_mom"], top["eps"]
            step = top["_t"] = top.get("_t", top["steptarget"][0]) + 1
            m = [m[0] * b1 + (1 - b1) * gb, m[1] * b1 + (1 - b1) * ga]
            s = [s[0] * b2 + (1 - b2) * (gb * gb), s[1] * b2 + (1 - b2) * (ga * ga)]
            c1, c2 = 1 - b1 ** step, math.sqrt(1 - b2 ** step)
            b, a = b - lr / c1 * m[0] / (math.sqrt(s[0]) / c2 + eps), a - lr / c1 * m[1] / (math.sqrt(s[1]) / c2 + eps)
        elif name == "lion":
            b1, b2, wd = top["mom"], top["beta2"], top["wd"]
            c = [m[0] * b1 + (1 - b1) * gb, m[1] * b1 + (1 - b1) * ga]
            sgn = [(v > 0) - (v < 0) for v in c]
            b, a = b * (1 - lr * wd) - lr * sgn[0], a * (1 - lr * wd) - lr * sgn[1]
            m = [m[0] * b2 + (1 - b2) * gb, m[1] * b2 + (1 - b2) * ga]
        elif name == "rmsprop":
            beta = top["sqr_mom"]
            nb, na = b - gb * lr / math.sqrt(s[0]), a - ga * lr / math.sqrt(s[1])
            s = [s[0] * beta + (1 - beta) * (gb * gb), s[1] * beta + (1 - beta) * (ga * ga)]
            b, a = nb, na
        elif name in ("adam", "adam_ann"):
            b1, b2 = top["mom"], top["sqr_mom"]
            m = [m[0] * b1 + (1 - b1) * gb, m[1] * b1 + (1 - b1) * ga]
            s = [s[0] * b2 + (1 - b2) * (gb * gb), s[1] * b2 + (1 - b2) * (ga * ga)]
            b, a = b - m[0] * lr / math.sqrt(s[0]), a - m[1] * lr / math.sqrt(s[1])
        elif name == "adagrad":
            eps = top["eps"]
            s = [s[0] + gb * gb, s[1] + ga * ga]  # the sum first: this row's gradient included
            b, a = b - gb * lr / (math.sqrt(s[0]) + eps), a - ga * lr / (math.sqrt(s[1]) + eps)
        elif name == "schedfree":  # Defazio et al. 2024, Algorithm 1, one row = one step
            b1, b2, eps, wd, wu = top["mom"], top["sqr_mom"], top["eps"], top["wd"], top["warmup"]
            t = top["_t"] = top.get("_t", top["steptarget"][0]) + 1
            lr_t = lr * math.sqrt(1 - b2 ** t) * (t / max(t, wu))
            wsum = top["_w"] = top.get("_w", top["wsumtarget"][0]) + lr_t * lr_t
            c = lr_t * lr_t / wsum
            z, xx = top.get("_z", top["ztarget"]), top.get("_x", top["xtarget"])
            s = [s[0] * b2 + (1 - b2) * (gb * gb), s[1] * b2 + (1 - b2) * (ga * ga)]
            z = top["_z"] = [z[0] - lr_t * gb / (math.sqrt(s[0]) + eps) - lr_t * wd * b,
                             z[1] - lr_t * ga / (math.sqrt(s[1]) + eps) - lr_t * wd * a]
            xx = top["_x"] = [xx[0] * (1 - c) + c * z[0], xx[1] * (1 - c) + c * z[1]]
            b, a = z[0] * (1 - b1) + b1 * xx[0], z[1] * (1 - b1) + b1 * xx[1]
        else:
            raise AssertionError(f"no hand-written loop for sheet {name!r}")
    total = 0.0
    for e in err:
        total += e
    return b, a, m, s, math.sqrt(total)


# the sheets the loop above is written for: a new sheet needs no edit here (LibreOffice, torch and the
# sweep check it like every sheet); writing its loop and its name here adds this independent oracle
ORACLE = ("basic", "momentum", "nesterov", "adam_bc", "lion", "rmsprop", "adam", "adam_ann", "adagrad", "schedfree")
WRITTEN = [n for n in sheets.SHEETS if n in ORACLE]


def _top(name, const, slope, lr, beta1, beta2, mom0, sq0):
    book = MemoryBook(sheets.get(name), Data([1, 2], [1, 2]))
    top = dict(book.inputs, const=const, slope=slope, lr=lr)
    if "mom" in top:
        top["mom"] = beta1
    if "sqr_mom" in top:
        top["sqr_mom"] = beta2
    if "momtarget" in top:
        top["momtarget"] = [mom0, -mom0]
    if "gradtarget" in top:
        top["gradtarget"] = [sq0, sq0 * 3]
    if "wd" in top:
        top["wd"] = beta2 / 10
    if "steptarget" in top:
        top["steptarget"] = [float(int(mom0) % 7)]
    return top


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(WRITTEN), x=xs, const=st.floats(-50, 50), slope=st.floats(-5, 5),
       lr=small_lr, beta1=unit, beta2=unit, mom0=st.floats(-100, 100), sq0=st.floats(1, 1e5),
       tb=st.integers(-40, 40), ta=st.integers(-4, 4))
def test_pass_equals_direct_loop(name, x, const, slope, lr, beta1, beta2, mom0, sq0, tb, ta):
    y = [tb + ta * v for v in x]
    top = _top(name, const, slope, lr, beta1, beta2, mom0, sq0)
    p = compute_pass(sheets.get(name), Data(x, y), top)
    sheet = sheets.get(name)
    b, a, m, s, rmse = direct(name, x, y, top)
    assert (p.last(sheet.new_b), p.last(sheet.new_a)) == (b, a)
    assert p.summary["rmse"] == rmse
    if "momtarget" in top:
        assert [p.last("m_b"), p.last("m_a")] == m
    if "gradtarget" in top:
        assert [p.last(k) for k in sheet.target("gradtarget").keys] == s


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(["momentum", "adam"]), x=xs, lr=small_lr, beta1=unit, beta2=unit,
       epochs=st.integers(1, 6), carry=st.sampled_from(buttons.CARRIES))
def test_run_equals_direct_epochs(name, x, lr, beta1, beta2, epochs, carry):
    y = [30 + 2 * v for v in x]
    top = _top(name, 1.0, 1.0, lr, beta1, beta2, 0.0, 1e4)
    book = MemoryBook(sheets.get(name), Data(x, y), top, [{"epoch": 0}])
    buttons.run(book, epochs, carry)
    for _ in range(epochs):
        n = len(x)
        # lesson: the inputs of the last row (a pass over all rows but the last); full: all rows
        b, a, m, s, _ = direct(name, x[: n - 1] if carry == "lesson" else x, y, top)
        _, _, m, s, _ = direct(name, x, y, top)
        top = dict(top, const=b, slope=a, momtarget=m, **({"gradtarget": s} if "gradtarget" in top else {}))
    assert (book.get("const"), book.get("slope")) == (top["const"], top["slope"])
    assert book.get("momtarget") == top["momtarget"]
