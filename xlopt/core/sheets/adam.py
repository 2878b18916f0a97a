"""adam: momentum and rmsprop together, as the lesson writes it (no bias correction, no ε)."""
from xlopt.core import rules
from xlopt.core.expr import square
from xlopt.core.sheet import Column, Lesson, Optimizer, Reset, Target, TorchSpec


def columns():
    return (
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("s_b", "L", "avg g_b^2", lambda e: rules.ewma(e["s_b"], square(e["g_b"]), e["sqr_mom"])),
        Column("s_a", "M", "avg g_a^2", lambda e: rules.ewma(e["s_a"], square(e["g_a"]), e["sqr_mom"])),
        Column("new_b", "H", "new b", lambda e: rules.scaled_step(e["b"], e["m_b"], e["lr"], e["s_b"])),
        Column("new_a", "I", "new a", lambda e: rules.scaled_step(e["a"], e["m_a"], e["lr"], e["s_a"])),
    )


STATE = {"m_b": "J", "m_a": "K", "s_b": "L", "s_a": "M"}
TARGETS = (Target("momtarget", "momlast", ("m_b", "m_a"), 0.0),
           Target("gradtarget", "ms_last", ("s_b", "s_a"), 10000.0))
TORCH = dict(inputs={"lr": "lr", "betas": ("mom", "sqr_mom")}, fixed={"eps": 0., "bias_correction": False},
             seeds={"grad_avg": "momtarget", "sqr_avg": "gradtarget"},
             compare_kwargs={"betas": (0.9, 0.99), "decoupled_weight_decay": True})
LESSON_NAMES = ("const", "slope", "lr", "lastconst", "lastslope", "momlast", "momtarget", "ms_last", "gradtarget")

OPTIMIZER = Optimizer(
    "adam", 4, "D2", 1.0, {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.9)},
    columns=columns(), state=STATE, targets=TARGETS,
    # automatic calculation in the lesson: a recalculation after each copy, two rounds
    reset=Reset(lr=1.0, warmup=((("ms_last", "gradtarget"),), (("momlast", "momtarget"),)), times=2, mode="auto"),
    watch="at lr 1, b reaches 27 within 6 epochs but a overshoots and rmse climbs again: try lr 0.1.",
    try_this=("press Run: b rushes toward 30 but rmse climbs again. Type 0.1 into lr (D2), press Run twice more.",),
    instructions=(
        "adam: momentum and rmsprop together: new = old - m*lr/SQRT(s), with m the average of the "
        "gradients (J, K, beta mom in J1) and s the average of their squares (L, M, beta sqr_mom in L1). "
        "No bias correction and no epsilon, as in the lesson. The error and rmse are in column N."),
    torch=TorchSpec("Adam", compare="adam", compare_lr=1e-2, **TORCH),
    lesson=Lesson(LESSON_NAMES, ("A", "M")),
)
