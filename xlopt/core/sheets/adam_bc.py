"""adam_bc: Adam as torch.optim.Adam defines it — bias-corrected averages and ε — started from zero."""
from xlopt.core import rules
from xlopt.core.expr import square
from xlopt.core.sheet import Column, Optimizer, Reset, Target, TorchSpec


def _step(p, m, s):
    return lambda e: rules.adam_step(e[p], e[m], e[s], e["lr"], e["mom"], e["sqr_mom"], e["t"], e["eps"])


OPTIMIZER = Optimizer(
    "adam_bc", 7, "D2", 0.1, {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.999), "eps": ("N1", 1e-8)},
    columns=(
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("s_b", "L", "avg g_b^2", lambda e: rules.ewma(e["s_b"], square(e["g_b"]), e["sqr_mom"])),
        Column("s_a", "M", "avg g_a^2", lambda e: rules.ewma(e["s_a"], square(e["g_a"]), e["sqr_mom"])),
        Column("t", "N", "step t", lambda e: rules.step_count(e["t"])),
        Column("new_b", "H", "new b", _step("b", "m_b", "s_b")),
        Column("new_a", "I", "new a", _step("a", "m_a", "s_a")),
    ),
    state={"m_b": "J", "m_a": "K", "s_b": "L", "s_a": "M", "t": "N"},
    targets=(Target("momtarget", "momlast", ("m_b", "m_a"), 0.0),
             Target("gradtarget", "ms_last", ("s_b", "s_a"), 0.0),
             Target("steptarget", "steplast", ("t",), 0.0)),
    reset=Reset(lr=0.1),  # zero averages, step 0, no warm-up passes: the bias correction does their job
    watch="no warm-up on Reset: the bias correction (step t in N) makes the first steps the right size.",
    instructions=(
        "adam_bc: Adam as PyTorch's torch.optim.Adam defines it. The averages start at 0 (J:M, row 33) "
        "and column N counts the steps t; each step divides m by 1-mom^t and s by 1-sqr_mom^t, and adds "
        "eps (N1) to the root: new = old - lr/(1-mom^t)*m/(SQRT(s)/SQRT(1-sqr_mom^t)+eps). Without the "
        "correction, averages that start at 0 are far too small at first (m only 1-mom of the gradient, "
        "s only 1-sqr_mom of its square), so the first steps would be m/SQRT(s) = 0.1/SQRT(0.001), about "
        "3 times too large: that is why the lesson's adam sheets start s at 10000 and run warm-up passes "
        "on Reset. Here Reset needs none. The error and rmse are in column O."),
    torch=TorchSpec("Adam", {"lr": "lr", "betas": ("mom", "sqr_mom"), "eps": "eps"},
                    seeds={"grad_avg": "momtarget", "sqr_avg": "gradtarget", "step": "steptarget"},
                    compare="adam-bc", compare_lr=1e-2),
)
