"""adagrad: divide each step by the root of the SUM of all squared gradients so far (Duchi et al. 2011)."""
from xlopt.core import rules
from xlopt.core.sheet import Column, Optimizer, Reset, Target, TorchSpec


def _step(p, g, s):
    return lambda e: rules.scaled_step_eps(e[p], e[g], e["lr"], e[s], e["eps"])


OPTIMIZER = Optimizer(
    "adagrad", 9, "D2", 2.0, {"eps": ("J1", 1e-10)},
    columns=(
        # the sum is updated first: the step divides by it, this row's gradient included
        Column("s_b", "J", "sum g_b^2", lambda e: rules.accumulate(e["s_b"], e["g_b"])),
        Column("s_a", "K", "sum g_a^2", lambda e: rules.accumulate(e["s_a"], e["g_a"])),
        Column("new_b", "H", "new b", _step("b", "g_b", "s_b")),
        Column("new_a", "I", "new a", _step("a", "g_a", "s_a")),
    ),
    state={"s_b": "J", "s_a": "K"},
    targets=(Target("gradtarget", "ms_last", ("s_b", "s_a"), 0.0),),
    reset=Reset(lr=2.0),  # sums at 0, no warm-up: the first step is lr·g/|g|, exactly lr
    watch="b slows down as the sums of g^2 (J, K) grow: 25 after 20 epochs at lr 2, still short of 30.",
    instructions=(
        "adagrad: Adagrad (Duchi et al., 2011), as torch.optim.Adagrad. Columns J, K add up every squared "
        "gradient seen so far, s = s + grad^2 (nothing is forgotten, unlike rmsprop's average), and "
        "new = old - grad*lr/(SQRT(s)+eps) with eps in J1. The first step is exactly lr whatever the "
        "gradient's size (grad/SQRT(grad^2)); then the sums only grow, so every step is smaller than the "
        "last, each parameter at its own pace: b and a share one lr. That shrinking is a built-in "
        "schedule, good early and too cautious late: watch b slow down before it reaches 30. The error "
        "and rmse are in column L."),
    torch=TorchSpec("Adagrad", {"lr": "lr", "eps": "eps"}, seeds={"sum": "gradtarget"},
                    compare="adagrad", compare_lr=1e-2),
)
