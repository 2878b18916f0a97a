"""himmelblau: four equal minima around a hump at the centre (Himmelblau 1972): which one a path finds."""
from xlopt.core.problem import function_problem, sq

PROBLEM = function_problem(
    "himmelblau", 6,
    f=lambda x, y: sq(sq(x) + y - 11) + sq(x + sq(y) - 7),
    dfdx=lambda x, y: 4 * x * (sq(x) + y - 11) + 2 * (x + sq(y) - 7),
    dfdy=lambda x, y: 2 * (sq(x) + y - 11) + 4 * y * (x + sq(y) - 7),
    start=(-0.5, 0.5),
    minimum=((3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
    formula="f = (x^2+y-11)^2 + (x+y^2-7)^2", window=(-5.0, 5.0, -5.0, 5.0),
    lr={"gradient": 0.001, "scaled": 0.02},
    instructions="f = (x^2+y-11)^2 + (x+y^2-7)^2 has four minima, all f = 0, around a hump near (-0.27, -0.92); "
                 "from (-0.5, 0.5) each optimizer rolls into one of them. Each row is one step on f (no data); "
                 "f is column E.",
    watch="which of the four minima does this optimizer reach? Compare the paths sheet across optimizers.",
    try_this=("move the start (C1, C2) a little and Reset: does the path fall into another minimum?",),
)
