"""beale: a flat plateau, steep walls and a narrow curved valley to the minimum at (3, 0.5) (Beale 1958)."""
from xlopt.core.problem import function_problem, sq

T1 = lambda x, y: 1.5 - x + x * y
T2 = lambda x, y: 2.25 - x + x * sq(y)
T3 = lambda x, y: 2.625 - x + x * (y * y * y)

PROBLEM = function_problem(
    "beale", 2,
    f=lambda x, y: sq(T1(x, y)) + sq(T2(x, y)) + sq(T3(x, y)),
    dfdx=lambda x, y: 2 * T1(x, y) * (y - 1) + 2 * T2(x, y) * (sq(y) - 1) + 2 * T3(x, y) * (y * y * y - 1),
    dfdy=lambda x, y: 2 * T1(x, y) * x + 2 * T2(x, y) * (2 * x * y) + 2 * T3(x, y) * (3 * x * sq(y)),
    start=(1.0, 1.0), minimum=(3, 0.5), formula="f = (1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
    window=(-1.0, 4.5, -1.5, 2.0), lr={"gradient": 0.001, "scaled": 0.01},
    instructions="f = (1.5-x+x*y)^2 + (2.25-x+x*y^2)^2 + (2.625-x+x*y^3)^2: from (1, 1) the gradient points "
                 "almost straight down in y; the minimum (3, 0.5) lies at the end of a flat curved valley. "
                 "Each row is one step on f (no data); f is column E, df/dx and df/dy F and G.",
    watch="df/dx (F) starts at 0: the first steps go down in y only, then the path turns towards (3, 0.5).",
    try_this=("press Run twice and look at y (C2): why does it fall first?",),
)
