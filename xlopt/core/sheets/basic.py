"""basic: plain SGD; its sheet shows the problem's finite-difference estimates before the analytic gradient."""
from xlopt.core import rules
from xlopt.core.expr import colsumsq, sqrt
from xlopt.core.sheet import Column, Lesson, Optimizer, Reset, Summary, TorchSpec

OPTIMIZER = Optimizer(
    "basic", 1, "F1", 0.0001, {},
    columns=(
        Column("new_a", "M", "new a", lambda e: rules.sgd_step(e["a"], e["g_a"], e["lr"])),
        Column("new_b", "N", "new b", lambda e: rules.sgd_step(e["b"], e["g_b"], e["lr"])),
    ),
    summaries=(
        Summary("grad_b_norm", "@g_b", lambda e: sqrt(colsumsq(e["g_b"]))),
        Summary("grad_a_norm", "@g_a", lambda e: sqrt(colsumsq(e["g_a"]))),
    ),
    reset=Reset(),  # const = slope = 1, recalculate; lr untouched
    watch="a jumps to about 2.6 in one epoch, then b crawls (+0.05 an epoch toward 30): one lr cannot suit both.",
    try_this=("set lr (F1) to 0.001 and press Run: what happens to rmse, and to a? Then try 0.0002.",
              "compare est de/db (H) with de/db (K): how close is a nudge of 0.01 to the real gradient?"),
    instructions=(
        "basic: plain SGD. y_pred, the squared error err^2, and the gradient two ways: estimated by "
        "nudging b or a by 0.01 (errb1, est de/db, erra1, est de/da) and analytically (de/db = "
        "2*(y_pred - y), de/da = de/db * x). new a = a - de/da*lr, new b = b - de/db*lr. F33 (rmse) is "
        "the square root of the summed squared errors; K33, L33 the size of the gradients."),
    estimate=True, step="gradient",
    torch=TorchSpec("SGD", {"lr": "lr"}, compare="sgd", compare_lr=0.2),
    lesson=Lesson(("const", "slope", "lastconst", "lastslope", "rmse", "rmsestart", "rmses"), ("A", "N")),
)
