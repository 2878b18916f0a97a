"""`xlopt sweep`: grids, output formats, the PNG, bad input (exit 2, nothing written), libm's pow for β^t."""
import csv
import io
import json

import numpy as np
import pytest

from xlopt.core import problems, sheets, sweep_grid, sweep_ops


def test_the_one_power_left_is_libms_pow_once_per_pair():
    """adam_bc's β^t: math.pow (the engine's float **) on every element, never numpy's SIMD power."""
    import math
    rng = np.random.default_rng(3)
    base = rng.choice(rng.uniform(0, 1, 7), 5000)
    for t in (1.0, 2.0, 37.0, 1450.0):
        got = sweep_ops.NumpyOps.pow(base, np.full(base.size, t))
        assert got.tolist() == [math.pow(b, t) for b in base.tolist()]
    ts = rng.integers(1, 3000, base.size).astype(float)  # exponents that differ too
    assert sweep_ops.libm_pow(base, ts).tolist() == [math.pow(b, t) for b, t in zip(base.tolist(), ts.tolist())]
    assert sweep_ops.NumpyOps.pow(0.9, 3.0) == 0.9 ** 3.0


def test_grid_spec_forms():
    axes = sweep_grid.parse_grid(sheets.get("adam"), ["lr=1e-4..1:5:log,mom=0.5,0.9", "sqr_mom=0.5..0.99:3"])
    assert [a.name for a in axes] == ["lr", "mom", "sqr_mom"]
    assert axes[0].values()[0] == 1e-4 and axes[0].values()[-1] == 1.0 and len(axes[0].values()) == 5
    assert axes[1].values() == [0.5, 0.9]
    assert axes[2].values() == [0.5, 0.745, 0.99]
    configs = sweep_grid.grid_values(axes)
    assert len(configs["lr"]) == 30 and configs["lr"][:6].tolist() == [1e-4] * 6  # first axis slowest


@pytest.mark.parametrize("spec, words", [
    ("beta1=0.9", ["no hyper-parameter 'beta1'", "lr, mom, sqr_mom"]),
    ("lr=", ["empty SPEC"]),
    ("lr=0.1,,0.3", ["empty value"]),
    ("lr=1..2:x", ["COUNT"]),
    ("lr=1..2", ["malformed range"]),
    ("lr=1..2:3:cubic", ["spacing"]),
    ("lr=-1,1", ["lr must be > 0"]),
    ("lr=0..1:3:lin", ["lr must be > 0"]),
    ("lr=abc", ["not a number"]),
    ("lr=1,mom=0.9,lr=2", ["twice"]),
    ("lr=1e-9..1:100000000:log,mom=0.1..0.9:1000", ["configurations", "GiB", "Shrink the grid"]),
])
def test_bad_input_one_message_exit_2_nothing_written(xlopt_cli, tmp_path, spec, words):
    png = tmp_path / "h.png"
    code, out, err = xlopt_cli("sweep", "adam", "--grid", spec, "--plot", png)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words), err
    assert not png.exists() and list(tmp_path.iterdir()) == []


def test_formats(xlopt_cli):
    code, out, _ = xlopt_cli("sweep", "adam", "--grid", "lr=0.01,0.1,100", "--epochs", 8, "--format", "json")
    r = json.loads(out)
    assert code == 0 and r["grid"] == {"lr": [0.01, 0.1, 100.0]} and len(r["results"]) == 3
    assert r["best"]["lr"] == 0.1
    code, out, _ = xlopt_cli("sweep", "adam", "--grid", "lr=0.01,0.1,100", "--epochs", 8, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [float(x["lr"]) for x in rows] == [0.01, 0.1, 100.0]
    assert float(rows[1]["final_rmse"]) == r["results"][1]["final_rmse"]
    code, out, _ = xlopt_cli("sweep", "adam", "--grid", "lr=0.01,0.1", "--epochs", 8)
    assert code == 0 and "best: lr = 0.1" in out


def test_divergence_is_reported_with_epoch_and_row(xlopt_json):
    r = xlopt_json("sweep", "basic", "--grid", "lr=1e-4,0.01", "--epochs", 5)
    ok, bad = r["results"]
    assert ok["diverged_epoch"] is None and ok["final_rmse"] > 0
    assert (bad["diverged_epoch"], bad["diverged_row"], bad["final_rmse"]) == (4, 5, None)  # as `xlopt run basic --lr 0.01`


@pytest.mark.parametrize("grid", ["lr=0.01,0.1,1", "lr=0.01..1:4:log,mom=0.5,0.9",
                                  "lr=0.01..1:3:log,mom=0.5,0.9,sqr_mom=0.9,0.99"])
def test_plot_png(xlopt_cli, tmp_path, grid):
    png = tmp_path / "h.png"
    code, _, err = xlopt_cli("sweep", "adam", "--grid", grid, "--epochs", 5, "--plot", png)
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("problem", problems.FUNCTIONS)
def test_a_function_problem_sweep_names_x_y_loss_and_equals_run(xlopt_json, problem):
    """`sweep --problem P`: each configuration's x, y and loss are `xlopt run --problem P`'s, to the bit."""
    lr0 = sheets.get("adam", problem).lr_default
    r = xlopt_json("sweep", "adam", "--problem", problem, "--grid", f"lr={lr0 / 3!r},{lr0!r}", "--epochs", 6)
    assert r["problem"] == problem and "data" not in r
    for rec in r["results"]:
        h = xlopt_json("run", "adam", "--problem", problem, "--lr", repr(rec["lr"]), "--epochs", 6)["history"][-1]
        assert (rec["final_x"], rec["final_y"], rec["final_loss"]) == (h["x"], h["y"], h["loss"])
        assert "final_rmse" not in rec and "best_loss" in rec


@pytest.mark.parametrize("extra, words", [
    (["--problem", "nope"], ["unknown problem 'nope'", ", ".join(problems.PROBLEMS)]),
    (["--problem", problems.FUNCTIONS[0], "--data", "random"], ["--data applies to the lesson's problem"]),
])
def test_bad_problem_one_message_exit_2_nothing_written(xlopt_cli, tmp_path, extra, words):
    png = tmp_path / "h.png"
    code, out, err = xlopt_cli("sweep", "adam", "--grid", "lr=0.01", "--plot", png, *extra)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words), err
    assert list(tmp_path.iterdir()) == []


def test_a_function_problem_plot_png(xlopt_cli, tmp_path):
    png = tmp_path / "h.png"
    code, _, err = xlopt_cli("sweep", "adam", "--problem", problems.FUNCTIONS[-1], "--grid",
                             "lr=0.001..0.1:4:log,mom=0.5,0.9", "--epochs", 4, "--plot", png)
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
