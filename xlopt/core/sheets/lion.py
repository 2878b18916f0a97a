"""lion: the sign of an interpolated momentum, so every step has the same size (Lion, 2023)."""
from xlopt.core import rules
from xlopt.core.sheet import Column, Optimizer, Reset, Target, TorchSpec


def _step(p, c):
    return lambda e: rules.sign_step(rules.decay(e[p], e["lr"], e["wd"]), e[c], e["lr"])


OPTIMIZER = Optimizer(
    "lion", 8, "D2", 0.02, {"mom": ("J1", 0.9), "beta2": ("L1", 0.99), "wd": ("N1", 0.0)},
    columns=(
        # the interpolation reads the previous row's m: evaluated before m is updated
        Column("c_b", "L", "interp b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("c_a", "M", "interp a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("new_b", "H", "new b", _step("b", "c_b")),
        Column("new_a", "I", "new a", _step("a", "c_a")),
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["beta2"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["beta2"])),
    ),
    state={"m_b": "J", "m_a": "K"},
    targets=(Target("momtarget", "momlast", ("m_b", "m_a"), 0.0),),
    reset=Reset(lr=0.02),  # m = 0, no warm-up: the sign does not care how large m is
    watch="b and a both move by exactly lr each row, so a rattles around 2 while b walks toward 30.",
    try_this=('set lr (D2) to 0.1: how big is every step now, and what does a do around 2?',),
    instructions=(
        "lion: Lion (Chen et al., 2023). Interpolate between the momentum and the new gradient, "
        "c = m*mom + (1-mom)*grad (L, M), and step by its sign only: new = old*(1-lr*wd) - lr*SIGN(c), "
        "so b and a move by exactly lr each row, however large or small their gradients (wd in N1 is "
        "the optional decoupled weight decay). Only then is the momentum updated, with its own slower "
        "beta: m = m*beta2 + (1-beta2)*grad (J, K). Because every step is lr, b (which must travel from 1 "
        "to 30) and a (from 1 to 2) need the same lr to mean different things: watch a overshoot and "
        "rattle by lr around 2 while b walks. The error and rmse are in column N."),
    torch=TorchSpec("Lion", {"lr": "lr", "betas": ("mom", "beta2"), "weight_decay": "wd"},
                    seeds={"grad_avg": "momtarget"}, compare="lion", compare_lr=3e-4),
)
