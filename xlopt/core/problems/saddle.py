"""saddle: a saddle point at (0, 0) between two minima at (0, ±1); the start sits almost on the ridge."""
from xlopt.core.problem import function_problem, sq

PROBLEM = function_problem(
    "saddle", 4,
    f=lambda x, y: sq(x) - sq(y) / 2 + sq(sq(y)) / 4,
    dfdx=lambda x, y: 2 * x,
    dfdy=lambda x, y: y * sq(y) - y,
    start=(1.0, 0.001), minimum=((0, 1), (0, -1)), formula="f = x^2 - y^2/2 + y^4/4",
    window=(-1.5, 1.5, -1.6, 1.6), lr={"gradient": 0.05, "scaled": 0.01}, log_scale=False,
    instructions="f = x^2 - y^2/2 + y^4/4: the path first runs down to the saddle point (0, 0), where the "
                 "gradient all but vanishes, and must escape along y to a minimum at (0, 1) or (0, -1). The "
                 "start's y = 0.001 is the only push. Each row is one step on f (no data); f is column E.",
    watch="y (C2) stays near 0.001 while x falls to 0, then grows: how long does the optimizer stall at the saddle?",
    try_this=("set y (C2) to 0.000001 and Run: how much longer does it stall?",),
)
