"""rmsprop: divide each step by the root of a running average of the squared gradients."""
from xlopt.core import rules
from xlopt.core.expr import square
from xlopt.core.sheet import Column, Lesson, Optimizer, Reset, Target, TorchSpec

OPTIMIZER = Optimizer(
    "rmsprop", 3, "D2", 0.02, {"sqr_mom": ("J1", 0.9)},
    columns=(
        # the step divides by the previous row's average: evaluated before s is updated
        Column("new_b", "H", "new b", lambda e: rules.scaled_step(e["b"], e["g_b"], e["lr"], e["s_b"])),
        Column("new_a", "I", "new a", lambda e: rules.scaled_step(e["a"], e["g_a"], e["lr"], e["s_a"])),
        Column("s_b", "J", "avg g_b^2", lambda e: rules.ewma(e["s_b"], square(e["g_b"]), e["sqr_mom"])),
        Column("s_a", "K", "avg g_a^2", lambda e: rules.ewma(e["s_a"], square(e["g_a"]), e["sqr_mom"])),
    ),
    state={"s_b": "J", "s_a": "K"},
    targets=(Target("gradtarget", "ms_last", ("s_b", "s_a"), 10000.0),),
    # automatic calculation, lr untouched; the first copy reads the pass computed from 10000
    reset=Reset(warmup=((("ms_last", "gradtarget"),),), times=2, mode="auto"),
    watch="b moves far faster than on basic: each step is divided by its own root of avg g^2 (J, K), so b and a step alike.",
    try_this=('press Run twice and compare how far b got with basic after the same clicks.',),
    instructions=(
        "rmsprop: divide each step by the square root of a running average of the squared gradients "
        "(columns J, K), new = old - grad*lr/SQRT(previous average). Parameters with big gradients take "
        "smaller steps, so one learning rate suits both b and a. The error and rmse are in column L."),
    torch=TorchSpec("RMSprop", {"lr": "lr", "alpha": "sqr_mom"}, {"eps": 0., "sheet": True},
                    seeds={"sqr_avg": "gradtarget"}, compare="rmsprop", compare_lr=3e-3,
                    compare_kwargs={"alpha": 0.9}),
    lesson=Lesson(("const", "slope", "lastconst", "lastslope", "ms_last", "gradtarget"), ("A", "K")),
)
