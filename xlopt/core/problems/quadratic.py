"""quadratic: an elongated bowl, condition number 50 — where momentum and per-parameter scaling pay."""
from xlopt.core.problem import function_problem, sq

PROBLEM = function_problem(
    "quadratic", 3,
    f=lambda x, y: (sq(x) + 50 * sq(y)) / 2,
    dfdx=lambda x, y: x,
    dfdy=lambda x, y: 50 * y,
    start=(-8.0, 1.0), minimum=(0, 0), formula="f = (x^2 + 50y^2)/2", window=(-9.0, 3.0, -2.0, 2.0),
    lr={"gradient": 0.02, "scaled": 0.1},
    instructions="f = (x^2 + 50*y^2)/2, a bowl 50 times steeper in y than in x (condition number 50): one lr "
                 "must be small for y and is then slow for x. Each row is one step on f (no data); f is column E.",
    watch="y settles within an epoch, x creeps: with one lr, the flat direction sets the pace.",
    try_this=("raise lr (D2) towards 0.04 and press Run: what happens to y just past 0.04?",),
)
