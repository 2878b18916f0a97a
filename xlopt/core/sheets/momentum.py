"""momentum: the step follows an exponentially weighted average of the gradients."""
from xlopt.core import rules
from xlopt.core.sheet import Column, Display, Lesson, Optimizer, Reset, Target, TorchSpec

OPTIMIZER = Optimizer(
    "momentum", 2, "D2", 0.0001, {"mom": ("J1", 0.9)},
    columns=(
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("new_b", "H", "new b", lambda e: rules.sgd_step(e["b"], e["m_b"], e["lr"])),
        Column("new_a", "I", "new a", lambda e: rules.sgd_step(e["a"], e["m_a"], e["lr"])),
    ),
    state={"m_b": "J", "m_a": "K"},
    targets=(Target("momtarget", "momlast", ("m_b", "m_a"), 0.0),),
    display=(Display("K1", "one_minus_mom", lambda e: 1 - e["mom"], note=("L1", "<- 1 - mom")),),
    # automatic calculation in the lesson: every write recalculates; one warm-up pass at a = b = 1
    reset=Reset(lr=0.0001, warmup=((("momlast", "momtarget"),),), times=1, mode="auto"),
    watch="b speeds up as its average (mom b, J) builds up; a settles near 2.35 while b is still far from 30.",
    try_this=("press Run four times, then open paths: which way does momentum's path curve compared with basic's?",
              "set mom (J1) to 0.5, press Reset and Run: faster or slower than 0.9?"),
    instructions=(
        "momentum: the step follows an exponentially weighted average of the gradients, "
        "m = m*mom + (1-mom)*grad (columns J, K); new = old - m*lr. Row 3 holds the averages carried "
        "in from the last epoch (momtarget, row 33)."),
    step="gradient",
    torch=TorchSpec("Momentum", {"lr": "lr", "momentum": "mom"}, seeds={"grad_avg": "momtarget"},
                    compare="momentum", compare_lr=0.2),
    lesson=Lesson(("const", "slope", "lr", "lastconst", "lastslope", "momlast", "momtarget"), ("A", "L")),
)
