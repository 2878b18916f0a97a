"""rosenbrock: a long curved valley with its minimum at its far end (Rosenbrock 1960)."""
from xlopt.core.problem import function_problem, sq

PROBLEM = function_problem(
    "rosenbrock", 1,
    f=lambda x, y: sq(1 - x) + 100 * sq(y - sq(x)),
    dfdx=lambda x, y: -2 * (1 - x) - 400 * x * (y - sq(x)),
    dfdy=lambda x, y: 200 * (y - sq(x)),
    start=(-1.2, 1.0), minimum=(1, 1), formula="f = (1-x)^2 + 100(y-x^2)^2", window=(-2.0, 2.0, -1.0, 3.0),
    lr={"gradient": 0.001, "scaled": 0.02},
    instructions="f = (1-x)^2 + 100*(y-x^2)^2, a narrow valley along y = x^2 that bends round to the minimum "
                 "at (1, 1). Each row is one step on f (no data); f is column E, df/dx and df/dy F and G.",
    watch="the path drops into the valley within an epoch, then crawls along it towards (1, 1): compare loss here with adam's.",
    try_this=("press Run until x passes 0: how many epochs did it take? Now double lr and Reset.",
              "open paths: which optimizers follow the bend of the valley, which cut across it?"),
)
