"""Sweeps: one sheet run over a whole grid of hyper-parameters at once, every setting as `xlopt run`.

All configurations run together in a `VectorBook` (`xlopt.core.vector_book`), over the grid of
`xlopt.core.sweep_grid`, with the array operations of `xlopt.core.sweep_ops` (or torch's).

Each configuration does exactly what `xlopt run SHEET --lr LR --epochs N --carry C` does:
the hyper-parameter cells (β) are typed in first and Reset is pressed (Reset leaves them alone and
its warm-up passes use them), then lr is typed into its cell (Reset writes lr on some sheets, as
`--lr` comes after Reset), then Run. A configuration whose pass stops being finite is recorded
with its epoch and row (where `xlopt run` stops with exit 3) and its later values are ignored.
"""
import math
import re
from dataclasses import dataclass

import numpy as np

from xlopt.core import buttons, problems, sheets, state
from xlopt.core.engine import Data, default_inputs
from xlopt.core.errors import BadInput
from xlopt.core.sweep_grid import check_memory, grid_values, n_configs
from xlopt.core.sweep_ops import NumpyOps
from xlopt.core.vector_book import VectorBook

DEFAULT_THRESHOLD = 1.0
DEFAULT_EPOCHS = 50


@dataclass
class Sweep:
    sheet: str
    carry: str
    epochs: int
    threshold: float
    axes: list
    grid: dict            # name -> values (one axis each)
    configs: dict         # name -> np.ndarray of each configuration's value (first axis slowest)
    rmse: np.ndarray      # (epochs, n) rmse after each epoch (nan once diverged)
    final: dict           # rmse, const, slope, lr -> (n,) (nan where diverged)
    best_rmse: np.ndarray
    best_epoch: np.ndarray  # 0: none
    hit_epoch: np.ndarray   # first epoch with rmse <= threshold, 0: none
    div_epoch: np.ndarray   # -1: never
    div_row: np.ndarray
    data_name: str = "lesson"
    problem: str = problems.DEFAULT

    @property
    def public(self):
        """Internal key -> the name outputs give it: const, slope, rmse (x, y, loss on a function)."""
        return state.public_keys(problems.get(self.problem))

    @property
    def loss_name(self):
        return self.public["rmse"]

    @property
    def function(self):
        """Whether the problem is a function of x, y (no data) rather than the lesson's fit."""
        return problems.get(self.problem).is_function

    @property
    def n(self):
        return len(self.best_rmse)

    def shape(self):
        return tuple(a.count for a in self.axes)

    def best(self):
        """Index of the configuration with the lowest final rmse (None if every one diverged)."""
        f = np.where(np.isfinite(self.final["rmse"]), self.final["rmse"], np.inf)
        return int(np.argmin(f)) if np.isfinite(f).any() else None

    def settings_lines(self):
        """The settings in two lines (printed above the table, and on the workbook's sheet)."""
        grid = "; ".join(f"{a.name} = {a.spec}" + (f" ({a.count} values)" if a.spacing != "list" else "")
                         for a in self.axes)
        on = f"problem {self.problem}" if self.function else f"data {self.data_name}"
        return [f"{self.sheet}: {self.n} configurations, {self.epochs} epochs each from Reset, {self.carry} "
                f"carry, {on}; threshold {self.loss_name} <= {self.threshold:g}", f"grid: {grid}"]

    def record(self, i):
        """Configuration i as one plain dict (None for values it does not have), keys as
        `record_keys` names them (final_x, best_loss on a function problem)."""
        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None
        pub = self.public
        d = {name: float(v[i]) for name, v in self.configs.items()}
        d.update({f"final_{pub.get(k, k)}": num(v[i]) for k, v in self.final.items()})
        d[f"best_{self.loss_name}"] = num(self.best_rmse[i])
        d["best_epoch"] = int(self.best_epoch[i]) or None
        d["hit_epoch"] = int(self.hit_epoch[i]) or None
        d["diverged_epoch"] = int(self.div_epoch[i]) if self.div_epoch[i] >= 0 else None
        d["diverged_row"] = int(self.div_row[i]) if self.div_epoch[i] >= 0 else None
        return d

    def records(self):
        return [self.record(i) for i in range(self.n)]


    def record_keys(self):
        return record_keys(problems.get(self.problem))


RECORD_KEYS = ("final_rmse", "final_const", "final_slope", "final_lr", "best_rmse", "best_epoch",
               "hit_epoch", "diverged_epoch", "diverged_row")


def record_keys(problem):
    """RECORD_KEYS as a problem's outputs name them: final_loss, final_x, final_y, best_loss on a function."""
    pub = state.public_keys(problem)
    return tuple(re.sub(r"_(rmse|const|slope)$", lambda m: "_" + pub[m[1]], k) for k in RECORD_KEYS)


def run(sheet_name, axes, epochs=DEFAULT_EPOCHS, carry="lesson", data=None, threshold=DEFAULT_THRESHOLD,
        ops=NumpyOps, memory_limit=None, data_name="lesson", tick=None, problem=None):
    """Every configuration of the grid from the sheet's Reset, `epochs` epochs of Run, all at once.

    problem: a name or a Problem (None: the lesson's); data: None for the problem's own rows.
    tick: called after each epoch (a progress bar's update), if given."""
    sheet = sheets.get(sheet_name, problem)
    data = data or Data.of(sheet.problem)
    if epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {epochs}")
    if carry not in buttons.CARRIES:
        raise BadInput(f"--carry must be one of {', '.join(buttons.CARRIES)}, got {carry!r}")
    if not math.isfinite(threshold):
        raise BadInput(f"--threshold must be a finite number, got {threshold}")
    check_memory(sheet, axes, len(data.x), epochs, memory_limit)
    configs = grid_values(axes)
    n = n_configs(axes)
    # Reset reads only the β cells typed in before it (lr is typed after): it is pressed once per
    # distinct β setting, and each configuration then takes its setting's cells
    hypers = [k for k in configs if k != "lr"]
    if hypers:
        setting = np.stack([configs[k].view(np.uint64) for k in hypers], axis=1)  # bits: -0.0 is not 0.0
        uniq, first, inverse = np.unique(setting, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    inputs = default_inputs(sheet)
    inputs.update({k: configs[k][first] for k in hypers})  # typed in before Reset
    small = VectorBook(sheet, data, len(first), ops, inputs)
    small.epoch = 0
    buttons.reset(small)
    book = small.expand(inverse)
    if "lr" in configs:  # typed into the lr cell after Reset, as `xlopt run --lr`
        book.set("lr", configs["lr"])
    book.calculate()
    rmse = np.full((epochs, n), np.nan)
    hook = sheet.after_epoch  # adam_ann's annealer: element-wise, as its rules are
    with book.manual(), ops.errstate():
        for epoch in range(1, epochs + 1):
            book.epoch = epoch
            buttons.onestep(book, carry, epoch)
            if hook is not None:
                hook(book)
                book.calculate()
            rmse[epoch - 1] = ops.to_numpy(book.get(sheet.rmse_key))
            if tick is not None:
                tick()
    return _summarise(sheet, carry, epochs, threshold, axes, configs, book, rmse, data_name)


def _summarise(sheet, carry, epochs, threshold, axes, configs, book, rmse, data_name):
    ops = book.ops
    div = book.div_epoch
    ran = np.where(div < 0, epochs, div - 1)           # epochs each configuration completed
    e = np.arange(1, epochs + 1)[:, None]
    rmse = np.where(e <= ran[None, :], rmse, np.nan)
    alive = div < 0
    final = {k: np.where(alive, ops.to_numpy(book.get(sheet.rmse_key if k == "rmse" else k)), np.nan)
             for k in ("rmse", "const", "slope", "lr")}
    masked = np.where(np.isnan(rmse), np.inf, rmse)
    any_ok = ran > 0
    best_i = np.argmin(masked, axis=0)
    best_rmse = np.where(any_ok, masked[best_i, np.arange(book.n)], np.nan)
    best_epoch = np.where(any_ok, best_i + 1, 0)
    hit = masked <= threshold
    hit_epoch = np.where(hit.any(axis=0), np.argmax(hit, axis=0) + 1, 0)
    return Sweep(sheet.name, carry, epochs, float(threshold), axes, {a.name: a.values() for a in axes},
                 configs, rmse, final, best_rmse, best_epoch, hit_epoch, div.copy(), book.div_row.copy(),
                 data_name, sheet.problem.name)
