"""nesterov: momentum that steps with a look-ahead, β·m_new + (1−β)·g, in the sheet's EWMA form."""
from xlopt.core import rules
from xlopt.core.sheet import Column, Display, Optimizer, Reset, Target, TorchSpec

OPTIMIZER = Optimizer(
    "nesterov", 6, "D2", 0.0001, {"mom": ("J1", 0.9)},
    columns=(
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        # the look-ahead: one more EWMA step of the same gradient, from the updated average
        Column("look_b", "L", "step b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("look_a", "M", "step a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("new_b", "H", "new b", lambda e: rules.sgd_step(e["b"], e["look_b"], e["lr"])),
        Column("new_a", "I", "new a", lambda e: rules.sgd_step(e["a"], e["look_a"], e["lr"])),
    ),
    state={"m_b": "J", "m_a": "K"},
    targets=(Target("momtarget", "momlast", ("m_b", "m_a"), 0.0),),
    display=(Display("K1", "one_minus_mom", lambda e: 1 - e["mom"], note=("L1", "<- 1 - mom")),),
    reset=Reset(lr=0.0001, warmup=((("momlast", "momtarget"),),), times=1, mode="auto"),  # as momentum's
    watch="compare with momentum at the same lr: the look-ahead (L, M) brings rmse down sooner.",
    instructions=(
        "nesterov: momentum with a look-ahead. m = m*mom + (1-mom)*grad as on the momentum sheet (J, K), "
        "but the step uses where that average is heading: step = m*mom + (1-mom)*grad with the updated m "
        "(L, M), new = old - step*lr. It weighs the newest gradient more (1-mom^2 instead of 1-mom), so it "
        "reacts sooner when the gradient turns: compare its rmse chart with the momentum sheet's at the "
        "same lr. The error and rmse are in column N."),
    step="gradient",
    torch=TorchSpec("Momentum", {"lr": "lr", "momentum": "mom"}, {"nesterov": True},
                    seeds={"grad_avg": "momtarget"}, compare="nesterov", compare_lr=0.2),
)
