"""What a problem definition holds: the function the optimizers minimise, as data and rules.

A sheet is a problem composed with an optimizer (`xlopt.core.compose`). The problem brings the two
parameters (their names, where Reset starts them, the true minimum), the data rows (or none: then
each of the sheet's rows is one more step on the same function), the columns that compute the loss
and its gradients from a row's parameters (`b`, `a` in the rules' environment: the first and second
parameter), the summary the log shows, and its words for the instructions and the panel.

Gradient columns always have the keys `g_b` and `g_a` (what the optimizers read); a problem also
writes a finite-difference estimate of each beside them (`est_db`, `est_da`), as the lesson's basic
sheet does.
"""
from dataclasses import dataclass

from xlopt.core import rules
from xlopt.core.expr import colsum, square
from xlopt.core.sheet import Column, Summary

STEPS = 29  # a function problem's rows per epoch: the lesson's 29 data rows, each one step


@dataclass(frozen=True)
class Problem:
    name: str
    position: int
    params: tuple          # the parameters' names in JSON and on the panel: ('const', 'slope') or ('x', 'y')
    labels: tuple          # how the sheet's titles call them: ('b', 'a') or ('x', 'y')
    start: tuple           # where Reset puts them
    minima: tuple          # the true minimum, or minima: ((b, a), ...); the first is the one the panel shows
    columns: object        # estimate (bool) -> (lead columns, trailing columns), letters left blank
    summaries: object      # letter of (column key -> letter) -> (Summary, ...)
    loss_key: str          # the summary the log and the panel show: 'rmse' or 'loss'
    loss: object           # (b, a, x, y) -> one row's loss, for torch's autograd and the pictures
    data: object = None    # None: a function (each row one step); else a name of engine.Data's rows
    lr: object = None      # None: each optimizer's own default; else {'gradient': lr, 'scaled': lr}
    instructions: str = ""
    watch: str = ""        # the panel's hint; '' keeps each optimizer's own (the lesson's problem)
    try_this: tuple = ()
    formula: str = ""      # f written out, for titles: 'f = (1-x)^2 + 100(y-x^2)^2'
    window: tuple = ()     # (x0, x1, y0, y1) the pictures draw
    log_scale: bool = True  # contours on log levels (valleys) or linear ones (a saddle's negative f)
    lesson: bool = False    # the lesson's own problem: its sheets are the lesson workbook's
    gradient: object = None  # (b, a) -> (df/db, df/da) as the sheet writes it out; None: autograd's is the
    #                          sheet's to the bit (the lesson's 2(pred − y), ·x), so torch_side uses autograd

    @property
    def minimum(self):
        """The (first) true minimum: the lesson's true b and a."""
        return self.minima[0]

    @property
    def is_function(self):
        return self.data is None


def function_problem(name, position, f, dfdx, dfdy, start, minimum, formula, window, instructions,
                     watch, try_this=(), lr=None, log_scale=True):
    """A problem without data: f(x, y) and its two partial derivatives as rules over b (x) and a (y).

    Columns: E f, F df/dx, G df/dy, then (after the optimizer's columns) f nudged in x and in y and
    the finite-difference estimates; basic, which shows the estimate first, gets them in E-K."""
    fx = lambda e: f(e["b"], e["a"])
    shifted_b = Column("f_b1", "", "f(x+h,y)", lambda e: f(e["b"] + rules.FD_STEP, e["a"]))
    shifted_a = Column("f_a1", "", "f(x,y+h)", lambda e: f(e["b"], e["a"] + rules.FD_STEP))
    est_b = Column("est_db", "", "est df/dx", lambda e: rules.finite_diff(e["f_b1"], e["f"]))
    est_a = Column("est_da", "", "est df/dy", lambda e: rules.finite_diff(e["f_a1"], e["f"]))
    value = Column("f", "", "f(x,y)", fx)
    g_b = Column("g_b", "", "df/dx", lambda e: dfdx(e["b"], e["a"]))
    g_a = Column("g_a", "", "df/dy", lambda e: dfdy(e["b"], e["a"]))

    def columns(estimate):
        if estimate:
            return (value, shifted_b, est_b, shifted_a, est_a, g_b, g_a), ()
        return (value, g_b, g_a), (shifted_b, est_b, shifted_a, est_a)

    def summaries(letter):
        return (Summary("loss", letter("f"), lambda e: colsum(e["f"]) / STEPS),)

    points = minimum if isinstance(minimum[0], (tuple, list)) else (minimum,)
    return Problem(name, position, ("x", "y"), ("x", "y"), tuple(map(float, start)),
                   tuple(tuple(map(float, p)) for p in points),
                   columns, summaries, "loss", lambda b, a, x, y: f(b, a), None, lr,
                   instructions, watch, tuple(try_this), formula, tuple(window), log_scale,
                   gradient=lambda x, y: (dfdx(x, y), dfdy(x, y)))


def sq(v):
    """v² in a problem's formula (x·x, printed ^2): `expr.square`, re-exported for the problem files."""
    return square(v)
