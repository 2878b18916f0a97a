"""A fair gallery's numbers: every optimizer on every function problem at its own best learning rate.

Each (problem, sheet) gets the same budget: N learning rates on one log grid around the sheet's own
lr on that problem (half a decade apart, at most two steps above it, the rest below, so the own lr is
always one of them), each run E epochs from Reset by one vectorised sweep (`xlopt.core.sweep`, the
same bits as `xlopt run`). The tuned lr is the grid's lowest final loss (a diverged run loses); losses
whose excess over the minimum's f agrees with the lowest one's to a relative TIE count as equal, and
of those the lr nearest the own one is taken (a run that reaches the same local minimum at a third of
the lr is no better). The default is the sheet's own lr, on the same grid, so tuned <= default.

What is reported for both, after E epochs:
  loss       the sheet's loss cell after the last epoch, as `xlopt run` logs it (the mean of f over
             the epoch's 29 steps)
  distance   from the final (x, y) to the nearest true minimum
  within     the first epoch whose loss is within TOLERANCE of the least minimum's f (None: never)
  diverged   (epoch, row) where the values stopped being finite, as `xlopt run` exits 3 there
"""
import math
from dataclasses import dataclass

from xlopt.core import problems, sheets, sweep, sweep_grid
from xlopt.core.errors import BadInput

DEFAULT_BUDGET = 7   # learning rates per optimizer and problem: own lr·10^-2 … ·10^1
DEFAULT_EPOCHS = 50  # epochs of Run (29 steps each) for every one of them
MAX_BUDGET = 40
MAX_EPOCHS = 1000
STEP = 0.5           # decades between neighbouring learning rates on the grid
ABOVE = 2            # grid points above the sheet's own lr (larger ones mostly diverge)
TOLERANCE = 1e-3     # 'within': loss - f_min <= this
TIE = 1e-6           # final losses whose excess over f_min agree to this (relative) are equal


def lr_exponents(budget):
    """The grid's decades from the own lr: STEP·k, k = ABOVE−budget+1 … ABOVE (0: the own lr itself)."""
    up = min(ABOVE, budget - 1)
    return tuple(STEP * k for k in range(up - budget + 1, up + 1))


def lr_grid(lr0, budget):
    """`budget` learning rates lr0·10^e for e in lr_exponents (lr0 itself, exactly, at e = 0)."""
    return tuple(lr0 * 10 ** e for e in lr_exponents(budget))


def own_lr(sheet):
    """The lr `xlopt run SHEET --problem P` runs at without --lr: Reset's, else the cell's default."""
    return sheet.reset.lr if sheet.reset.lr is not None else sheet.lr_default


def f_min(problem):
    """The least f over the problem's true minima."""
    return min(float(problem.loss(b, a, None, None)) for b, a in problem.minima)


def distance(problem, x, y):
    """From (x, y) to the nearest true minimum (nan where x or y is not finite)."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.nan
    return min(math.hypot(x - b, y - a) for b, a in problem.minima)


@dataclass(frozen=True)
class Outcome:
    lr: float          # typed after Reset
    final_lr: float    # after the last epoch (adam_ann anneals it); nan where it diverged
    loss: float        # nan where it diverged
    x: float
    y: float
    distance: float
    within: object     # first epoch with loss - f_min <= TOLERANCE, or None
    diverged: object   # (epoch, row) or None


@dataclass(frozen=True)
class Entry:
    problem: str
    sheet: str
    epochs: int
    grid: tuple        # the learning rates tried
    grid_loss: tuple   # each one's final loss (nan: diverged)
    tuned: Outcome
    default: Outcome


def _outcome(r, i, problem):
    def num(v):
        return float(v[i])
    div = (int(r.div_epoch[i]), int(r.div_row[i])) if r.div_epoch[i] >= 0 else None
    x, y = num(r.final["const"]), num(r.final["slope"])
    return Outcome(float(r.configs["lr"][i]), num(r.final["lr"]), num(r.final["rmse"]), x, y,
                   distance(problem, x, y), int(r.hit_epoch[i]) or None, div)


def tune(problem, name, budget=DEFAULT_BUDGET, epochs=DEFAULT_EPOCHS, carry="lesson"):
    """One sheet on one problem: the grid swept at once, the tuned and the default outcome."""
    problem = problems.get(problem) if isinstance(problem, str) else problem
    sheet = sheets.get(name, problem)
    lr0 = own_lr(sheet)
    grid = lr_grid(lr0, budget)
    axis = sweep_grid.Axis("lr", "list", ",".join(repr(v) for v in grid), len(grid), listed=grid)
    low = f_min(problem)
    r = sweep.run(name, [axis], epochs, carry, threshold=low + TOLERANCE, problem=problem)
    losses = tuple(float(v) for v in r.final["rmse"])
    own = grid.index(lr0)
    return Entry(problem.name, name, epochs, grid, losses, _outcome(r, choose(losses, own, low), problem),
                 _outcome(r, own, problem))


def choose(losses, own, low=0.0):
    """The index of the tuned lr: the lowest final loss (nan: diverged, never chosen) where the
    excess over `low` counts as equal within TIE, the one nearest index `own`, then the smaller;
    `own` where every run diverged."""
    excess = [v - low for v in losses if v == v]
    if not excess:
        return own
    best = min(excess)
    limit = best + TIE * abs(best)
    ok = [i for i, v in enumerate(losses) if v == v and v - low <= limit]
    return min(ok, key=lambda i: (abs(i - own), i))


def check(probs, shs, budget, epochs):
    """(problems, sheets) checked: one message for the first thing wrong, before anything runs."""
    probs = list(dict.fromkeys(probs or problems.FUNCTIONS))
    for p in probs:
        if not problems.get(p).is_function:
            raise BadInput(f"--problems: {p} is the lesson's fit to data, not a function of x and y; the gallery "
                           f"draws functions: {', '.join(problems.FUNCTIONS)}")
    shs = list(dict.fromkeys(shs or sheets.SHEETS))
    for s in shs:
        sheets.get(s)
    if not 1 <= budget <= MAX_BUDGET:
        raise BadInput(f"--budget must be between 1 and {MAX_BUDGET} learning rates, got {budget}")
    if not 1 <= epochs <= MAX_EPOCHS:
        raise BadInput(f"--epochs must be between 1 and {MAX_EPOCHS}, got {epochs}")
    return probs, shs


def run(probs, names, budget=DEFAULT_BUDGET, epochs=DEFAULT_EPOCHS, carry="lesson", tick=None):
    """Every (problem, sheet): [Entry], problems slowest. tick: called after each one, if given."""
    out = []
    for p in probs:
        for n in names:
            out.append(tune(p, n, budget, epochs, carry))
            if tick is not None:
                tick()
    return out
