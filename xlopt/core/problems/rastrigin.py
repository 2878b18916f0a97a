"""rastrigin: a bowl covered in ripples, a local minimum near every integer point, the global one at (0, 0)."""
from xlopt.core.expr import cos, pi, sin
from xlopt.core.problem import function_problem, sq

PROBLEM = function_problem(
    "rastrigin", 5,
    f=lambda x, y: 20 + sq(x) - 10 * cos(2 * pi(x) * x) + sq(y) - 10 * cos(2 * pi(y) * y),
    dfdx=lambda x, y: 2 * x + 20 * pi(x) * sin(2 * pi(x) * x),
    dfdy=lambda x, y: 2 * y + 20 * pi(y) * sin(2 * pi(y) * y),
    start=(-2.5, 2.2), minimum=(0, 0), formula="f = 20 + x^2 - 10cos(2πx) + y^2 - 10cos(2πy)",
    window=(-3.0, 3.0, -3.0, 3.0), lr={"gradient": 0.002, "scaled": 0.01}, log_scale=False,
    instructions="f = 20 + x^2 - 10*COS(2*PI()*x) + y^2 - 10*COS(2*PI()*y): a bowl with a ripple of height 20 "
                 "around every integer point, each a local minimum; the global one is (0, 0). Each row is one "
                 "step on f (no data); f is column E.",
    watch="the path falls into the nearest ripple and stays: which optimizer, if any, reaches (0, 0)?",
    try_this=("raise lr (D2) ten times and Run: does the path now hop from ripple to ripple?",),
)
