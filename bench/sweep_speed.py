"""Sweep speed: 10^4 configurations x 50 epochs x 29 rows at once, against looping the engine; and the
single-configuration engine's marginal cost per epoch against a plain hand-written per-row loop.

    PYTHONPATH=. .venv/bin/python bench/sweep_speed.py [--quick]

Prints configurations·epochs per second, the ratio to looping `xlopt run`'s engine over the same
grid (timed on a sample of the grid, scaled), tracemalloc's peak next to the sweep's own memory
estimate, and writes bench/results/cpu-<date>-sweep_speed.json. The machine is shared: each timing
is the best of a few repeats, and the load average is recorded with it.
"""
import datetime
import json
import math
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

from xlopt.core import buttons, sheets, state, sweep
from xlopt.core.engine import Data, MemoryBook, default_inputs

GRIDS = {"adam": "lr=1e-3..3:100:log,mom=0.5..0.99:100:lin",
         "adam_ann": "lr=1e-3..3:100:log,sqr_mom=0.5..0.99:100:lin"}
EPOCHS = 50


def best_of(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def loop_engine(name, configs, idx, epochs):
    """The single-configuration engine over the chosen configurations (as `xlopt run` each)."""
    sheet = sheets.get(name)
    for i in idx:
        cfg = {k: float(v[i]) for k, v in configs.items()}
        book = MemoryBook(sheet, Data.lesson(), dict(default_inputs(sheet), **{k: v for k, v in cfg.items() if k != "lr"}))
        try:
            buttons.reset(book)
            buttons.set_lr(book, cfg["lr"])
            buttons.run(book, epochs)
        except Exception:  # noqa: BLE001 - a diverging setting stops as xlopt run does
            pass


# --- plain per-row loops, one epoch of each sheet written by hand -----------------------------------
def hand_epoch(name, x, y, top):
    b, a, lr = top["const"], top["slope"], top["lr"]
    m = list(top.get("momtarget", (0.0, 0.0)))
    s = list(top.get("gradtarget", (0.0, 0.0)))
    err = 0.0
    lb = la = 0.0
    for xi, yi in zip(x, y):
        lb, la = b, a
        pred = b + a * xi
        err += (yi - pred) ** 2
        if name == "basic":
            ((b + 0.01) + xi * a - yi) ** 2, ((a + 0.01) * xi + b - yi) ** 2
            gb = 2 * (pred - yi)
            ga = gb * xi
            a, b = a - ga * lr, b - gb * lr
            continue
        gb = 2 * (a * xi + b - yi)
        ga = gb * xi
        if name == "momentum":
            beta = top["mom"]
            m = [m[0] * beta + (1 - beta) * gb, m[1] * beta + (1 - beta) * ga]
            b, a = b - m[0] * lr, a - m[1] * lr
        elif name == "rmsprop":
            beta = top["sqr_mom"]
            nb, na = b - gb * lr / math.sqrt(s[0]), a - ga * lr / math.sqrt(s[1])
            s = [s[0] * beta + (1 - beta) * gb ** 2, s[1] * beta + (1 - beta) * ga ** 2]
            b, a = nb, na
        else:
            b1, b2 = top["mom"], top["sqr_mom"]
            m = [m[0] * b1 + (1 - b1) * gb, m[1] * b1 + (1 - b1) * ga]
            s = [s[0] * b2 + (1 - b2) * gb ** 2, s[1] * b2 + (1 - b2) * ga ** 2]
            b, a = b - m[0] * lr / math.sqrt(s[0]), a - m[1] * lr / math.sqrt(s[1])
    top = dict(top, const=lb, slope=la, momtarget=m, gradtarget=s)
    if name == "adam_ann":
        avg = math.sqrt(s[0]) + math.sqrt(s[1])
        if avg / top["prev_grad2"] > 2:
            top["lr"] = top["lr"] / 4
        if avg < top["prev_grad2"]:
            top["prev_grad2"] = avg
    return top, math.sqrt(err)


def marginal(name, repeats):
    """Seconds per epoch: (t(E1) - t(E0)) / (E1 - E0), for the engine's Run and for the hand loop."""
    e0, e1 = 100, 1100
    data = Data.lesson()

    def engine(n):
        book = state.fresh(name)
        return lambda: buttons.run(book, n)

    def hand(n):
        top0 = dict(state.fresh(name).inputs)

        def go():
            top = top0
            for _ in range(n):
                top, _ = hand_epoch(name, data.x, data.y, top)
        return go
    out = {}
    for label, make in (("engine", engine), ("hand_loop", hand)):
        t0 = best_of(make(e0), repeats)
        t1 = best_of(make(e1), repeats)
        out[label] = (t1 - t0) / (e1 - e0)
    return out


def main(quick=False):
    repeats = 2 if quick else 3
    res = {"date": datetime.date.today().isoformat(), "machine": platform.processor() or platform.machine(),
           "cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "epochs": EPOCHS, "rows": 29,
           "numpy": np.__version__, "python": sys.version.split()[0], "sweep": {}, "engine": {}}
    for name, grid in GRIDS.items():
        axes = sweep.parse_grid(sheets.get(name), [grid])
        n = sweep.n_configs(axes)
        t = best_of(lambda name=name, axes=axes: sweep.run(name, axes, EPOCHS), repeats)
        tracemalloc.start()
        r = sweep.run(name, axes, EPOCHS)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sample = np.linspace(0, n - 1, 40 if quick else 100).astype(int)
        tl = best_of(lambda name=name, r=r, sample=sample: loop_engine(name, r.configs, sample, EPOCHS), 1) * n / len(sample)
        res["sweep"][name] = {"grid": grid, "configs": n, "seconds": t, "configs_epochs_per_s": n * EPOCHS / t,
                              "loop_engine_seconds_scaled": tl, "ratio_vs_loop": tl / t,
                              "peak_bytes_tracemalloc": peak,
                              "estimate_bytes": n * sweep.bytes_per_config(sheets.get(name), 29, EPOCHS),
                              "diverged": int((r.div_epoch >= 0).sum())}
        s = res["sweep"][name]
        print(f"sweep {name:8} {n} configs x {EPOCHS} epochs: {t:.3f} s, {s['configs_epochs_per_s']:,.0f} "
              f"configs·epochs/s; looping the engine: {tl:.1f} s ({s['ratio_vs_loop']:.0f}x); "
              f"memory peak {peak / 2**20:.1f} MiB (estimate {s['estimate_bytes'] / 2**20:.1f} MiB)")
    for name in sheets.SHEETS:
        m = marginal(name, repeats)
        res["engine"][name] = {"engine_us_per_epoch": m["engine"] * 1e6, "hand_loop_us_per_epoch": m["hand_loop"] * 1e6,
                               "ratio": m["engine"] / m["hand_loop"]}
        print(f"engine {name:8} {m['engine'] * 1e6:7.1f} us/epoch, hand loop {m['hand_loop'] * 1e6:7.1f} us/epoch: "
              f"{m['engine'] / m['hand_loop']:.2f}x")
    res["load_after"] = os.getloadavg()[0]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"cpu-{res['date']}-sweep_speed.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(f"load average {res['load_before']:.1f} -> {res['load_after']:.1f}; wrote {path}")
    return res


if __name__ == "__main__":
    main("--quick" in sys.argv)
