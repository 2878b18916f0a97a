"""The engine's and the sweep's shortcuts give the plain computation's bits.

- the compiled summaries (column sums added up in the row loop) equal `engine.summaries` over whole
  columns, and the cheap finiteness test (`compiled.row_checks`) finds a bad row exactly when a full
  scan of every cell does, on random settings of every sheet (many of them diverging);
- a square is x·x over every magnitude, zero, subnormals, inf and nan, in every compiled pass.
"""
import math
import random
import re
import warnings

import numpy as np

from xlopt.core import compiled, py_printer, sheets
from xlopt.core.engine import Data, compute_pass, default_inputs, summaries


def _same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _random_inputs(sheet, rng):
    inp = default_inputs(sheet)
    inp["const"] = rng.choice([1.0, rng.uniform(-1e3, 1e3), 10.0 ** rng.uniform(-300, 300)])
    inp["slope"] = rng.choice([1.0, rng.uniform(-1e3, 1e3), 10.0 ** rng.uniform(-300, 300)])
    inp["lr"] = 10.0 ** rng.uniform(-8, 3)
    for h in sheet.hyper:
        inp[h] = rng.choice([rng.uniform(0, 1), 0.0, 1.0])
    for t in sheet.targets:
        inp[t.name] = [rng.choice([0.0, 1e4, 10.0 ** rng.uniform(-300, 300)]) for _ in t.keys]
    for e in sheet.extras:
        inp[e.name] = rng.choice([0.0, 1.0, rng.uniform(0, 100)])
    return inp


def test_compiled_summaries_and_bad_rows_match_full_columns():
    rng = random.Random(5)
    bad = 0
    for name in sheets.SHEETS:
        sheet = sheets.get(name)
        assert compiled.engine_pass(sheet)[2] is not None, f"{name}: summaries not compiled"
        for i in range(400):
            inp = _random_inputs(sheet, rng)
            p = compute_pass(sheet, Data.random(i) if i % 2 else Data.lesson(), inp)
            full = summaries(sheet, p.cols, inp)
            assert full.keys() == p.summary.keys()
            assert all(_same(full[k], p.summary[k]) for k in full), (name, inp, full, p.summary)
            assert p.bad_row == compiled.first_bad_row(p.cols, [c.key for c in sheet.columns]), (name, inp)
            bad += p.bad_row is not None
    assert bad > 100  # the test saw diverging passes


def test_a_square_is_x_times_x_in_every_compiled_pass_and_formula():
    """`expr.square` is evaluated x·x (no `**` left for a square) and printed x^2 in the workbook."""
    from xlopt.core.expr import square, sym
    from xlopt.writers.excel_formula import to_excel
    rng = np.random.default_rng(11)
    x = rng.uniform(1, 2, 400_000) * 2.0 ** rng.integers(-1074, 1024, 400_000).astype(float)
    x[::2] *= -1
    x[:12] = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 2.0 ** 64, 2.0 ** -63, 1e154, 1.5e-154, 86.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert square(x).view(np.uint64).tolist() == (x * x).view(np.uint64).tolist()
        assert np.array([square(v) for v in x[:1000].tolist()]).view(np.uint64).tolist() == \
            (x[:1000] * x[:1000]).view(np.uint64).tolist()
    for name in sheets.SHEETS:
        for _, e in py_printer.row_trees(sheets.get(name)):
            src = py_printer.to_python(e, "_pow")
            # pow only for β^t (adam_bc's and schedfree's bias corrections), never for a square
            exps = re.findall(r"_pow\([^,]+, ([^)]+)\)", src)
            assert "**" not in src and all(x.strip() not in ("2", "2.0") for x in exps), (name, src)
    assert to_excel(square(sym("y") - sym("pred")), {"y": "B4", "pred": "E4"}.get) == "(B4-E4)^2"
    assert to_excel(square(sym("g")) * 2, {"g": "F4"}.get) == "F4^2*2"
