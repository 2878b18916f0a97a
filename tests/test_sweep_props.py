"""A sweep equals separate `xlopt run`s of each of its settings, to the bit (hypothesis).

Random grids over random sheets; a few configurations drawn from each are run again through the
CLI: `xlopt run SHEET --lr LR --epochs N --carry C`, from a state file whose β cells were typed in
before Reset when the grid sets them. Every epoch's rmse, the final const/slope/lr, and the epoch and
row of a divergence (exit 3) must be identical.
"""
import contextlib
import io
import json
import os
import re
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from xlopt.cli import main as xlopt
from xlopt.core import buttons, problems, sheets, state, sweep, sweep_grid
from xlopt.core.engine import Data, MemoryBook, default_inputs
from xlopt.core.errors import Diverged

# lr ranges around each sheet's own default: from 1/100 of it (barely moves) to 20 times (diverges)
LRS = {name: (s.lr_default / 100, s.lr_default * 20) for name, s in sheets.BY_NAME.items()}


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = xlopt([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def separate_run(name, cfg, epochs, carry, folder):
    """`xlopt run` of one setting: β typed in, Reset pressed (a state file), then --lr, Run."""
    argv = ["run", name, "--epochs", epochs, "--carry", carry, "--format", "json"]
    hypers = {k: v for k, v in cfg.items() if k != "lr"}
    if hypers:
        inputs = dict(default_inputs(sheets.get(name)), **hypers)
        book = MemoryBook(sheets.get(name), Data.lesson(), inputs)
        buttons.reset(book)
        path = os.path.join(folder, f"s{len(os.listdir(folder))}.json")
        state.save(book, carry, path)
        argv += ["--state", path]
    if "lr" in cfg:
        argv += ["--lr", repr(cfg["lr"])]
    return cli(*argv)


@st.composite
def grids(draw):
    name = draw(st.sampled_from(sheets.SHEETS))
    sheet = sheets.get(name)
    names = draw(st.lists(st.sampled_from(sweep_grid.param_names(sheet)), min_size=1, max_size=2, unique=True))
    specs = []
    for n in names:
        lo, hi = LRS[name] if n == "lr" else (0.05, 0.999)
        vals = draw(st.lists(st.floats(lo, hi), min_size=1, max_size=4))
        specs.append(f"{n}={','.join(repr(v) for v in vals)}")
    return name, ",".join(specs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids(), epochs=st.integers(1, 7), carry=st.sampled_from(buttons.CARRIES), data=st.data())
def test_sweep_equals_separate_runs(grid, epochs, carry, data):
    name, spec = grid
    axes = sweep_grid.parse_grid(sheets.get(name), [spec])
    r = sweep.run(name, axes, epochs, carry)
    picks = data.draw(st.lists(st.integers(0, r.n - 1), min_size=1, max_size=3, unique=True))
    with tempfile.TemporaryDirectory() as folder:
        for i in picks:
            cfg = {k: float(v[i]) for k, v in r.configs.items()}
            code, out, err = separate_run(name, cfg, epochs, carry, folder)
            if code == 3:
                m = re.search(r"epoch (\d+), data row (\d+)", err)
                assert (r.div_epoch[i], r.div_row[i]) == (int(m[1]), int(m[2])), (cfg, err)
                ran = int(m[1]) - 1
                if ran >= 1:
                    code, out, err = separate_run(name, cfg, ran, carry, folder)
                    hist = json.loads(out)["history"]
                    assert [h["rmse"] for h in hist] == r.rmse[:ran, i].tolist()
                continue
            assert code == 0, err
            hist = json.loads(out)["history"]
            assert r.div_epoch[i] == -1, cfg
            assert [h["rmse"] for h in hist] == r.rmse[:, i].tolist()
            assert (hist[-1]["const"], hist[-1]["slope"], hist[-1]["lr"]) == (
                r.final["const"][i], r.final["slope"][i], r.final["lr"][i])
            rec = r.record(i)
            best = min(range(epochs), key=lambda e: (hist[e]["rmse"], e))
            assert (rec["best_rmse"], rec["best_epoch"]) == (hist[best]["rmse"], best + 1)
            hit = next((e + 1 for e, h in enumerate(hist) if h["rmse"] <= r.threshold), None)
            assert rec["hit_epoch"] == hit


def _own_run(sheet, cfg, epochs, carry):
    """One configuration pressed by hand: β typed in, Reset, lr typed in, Run; (rmses, diverged at)."""
    book = MemoryBook(sheet, Data.of(sheet.problem), dict(default_inputs(sheet), **{k: v for k, v in cfg.items() if k != "lr"}))
    rmses = []
    try:
        buttons.reset(book)
        buttons.set_lr(book, cfg["lr"])
        for _ in range(epochs):
            rmses.append(buttons.run(book, 1, carry)[-1]["rmse"])
    except Diverged as e:
        return rmses, (e.epoch, e.row)
    return rmses, (-1, 0)


@pytest.mark.slow
@pytest.mark.parametrize("problem", (None,) + problems.FUNCTIONS)
@pytest.mark.parametrize("carry", buttons.CARRIES)
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_every_configuration_of_a_grid_equals_its_own_run(name, carry, problem):
    """Exhaustive, not drawn: lr over three decades around the sheet's own, each β at its default and
    0.5 — the grids where squares once differed on AVX-512 (13 of 120 settings) — to the bit; on the
    lesson's problem and on every function (rastrigin's cos and sin: libm per element, as the engine)."""
    sheet = sheets.get(name, problem)
    lr0 = default_inputs(sheet)["lr"]
    specs = [f"lr={lr0 / 30!r},{lr0 / 3!r},{lr0 * 3!r}"]
    specs += [f"{h}={default_inputs(sheet)[h]!r},0.5" for h in sheet.hyper if h in sweep_grid.param_names(sheet)]
    r = sweep.run(name, sweep_grid.parse_grid(sheet, [",".join(specs)]), 12, carry, problem=problem)
    assert r.n >= 3
    for i in range(r.n):
        cfg = {k: float(v[i]) for k, v in r.configs.items()}
        rmses, (ep, row) = _own_run(sheet, cfg, 12, carry)
        assert (int(r.div_epoch[i]), int(r.div_row[i]) if ep > 0 else 0) == (ep, row), cfg
        done = len(rmses)
        assert r.rmse[:done, i].tolist() == rmses, cfg
