"""schedfree: Schedule-Free AdamW (Defazio et al. 2024): y/z/x sequences, no learning-rate schedule."""
from xlopt.core import rules
from xlopt.core.expr import square
from xlopt.core.sheet import START, Column, Optimizer, Reset, Target, TorchSpec


def _z(z, g, v, y):
    return lambda e: rules.sf_decay(rules.sf_z(e[z], e[g], e[v], e["lr_t"], e["eps"]), e[y], e["lr_t"], e["wd"])


OPTIMIZER = Optimizer(
    "schedfree", 10, "D2", 1.0,
    {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.999), "eps": ("N1", 1e-8), "wd": ("P1", 0.0),
     "warmup": ("R1", 0.0)},
    columns=(
        Column("t", "P", "step t", lambda e: rules.step_count(e["t"])),
        Column("lr_t", "Q", "lr_t", lambda e: rules.warmup_lr(e["lr"], e["sqr_mom"], e["t"], e["warmup"])),
        Column("wsum", "R", "sum lr_t^2", lambda e: rules.weight_sum(e["wsum"], e["lr_t"])),
        Column("c", "S", "c", lambda e: rules.avg_weight(e["lr_t"], e["wsum"])),
        Column("v_b", "J", "avg g_b^2", lambda e: rules.ewma(e["v_b"], square(e["g_b"]), e["sqr_mom"])),
        Column("v_a", "K", "avg g_a^2", lambda e: rules.ewma(e["v_a"], square(e["g_a"]), e["sqr_mom"])),
        Column("z_b", "L", "z b", _z("z_b", "g_b", "v_b", "b")),
        Column("z_a", "M", "z a", _z("z_a", "g_a", "v_a", "a")),
        Column("x_b", "N", "x b", lambda e: rules.sf_x(e["x_b"], e["z_b"], e["c"])),
        Column("x_a", "O", "x a", lambda e: rules.sf_x(e["x_a"], e["z_a"], e["c"])),
        Column("new_b", "H", "new b (y)", lambda e: rules.sf_y(e["z_b"], e["x_b"], e["mom"])),
        Column("new_a", "I", "new a (y)", lambda e: rules.sf_y(e["z_a"], e["x_a"], e["mom"])),
    ),
    state={"v_b": "J", "v_a": "K", "z_b": "L", "z_a": "M", "x_b": "N", "x_a": "O", "t": "P", "wsum": "R"},
    targets=(Target("gradtarget", "ms_last", ("v_b", "v_a"), 0.0),
             Target("ztarget", "zlast", ("z_b", "z_a"), START),
             Target("xtarget", "xlast", ("x_b", "x_a"), START),
             Target("steptarget", "steplast", ("t",), 0.0),
             Target("wsumtarget", "wsumlast", ("wsum",), 0.0)),
    reset=Reset(lr=1.0),  # z = x = the starting point (b = a = 1), v = 0, step 0, no warm-up passes
    watch="no schedule, yet rmse falls below 1 within 20 epochs: the average x (N, O) settles while z moves.",
    instructions=(
        "schedfree: Schedule-Free AdamW (Defazio et al., 2024). Three points per parameter: z (L, M) takes "
        "Adam-like steps, z = z - lr_t*grad/(SQRT(v)+eps) - lr_t*wd*y, with v the average of grad^2 (J, K); "
        "x (N, O) is the running average of the z's, x = x*(1-c) + c*z, each z weighted by lr_t^2 (c = "
        "lr_t^2 / the sum so far, Q:S); and the gradient is taken at y = z*(1-mom) + mom*x, the b and a of "
        "the next row (H, I). lr_t is lr*SQRT(1-sqr_mom^t), warmed up over 'warmup' steps (R1). Why no "
        "schedule: a decaying learning rate exists to settle the weights at the end, and the average x "
        "does that by itself, since each new z moves x less and less (c falls like 1/t), without knowing "
        "when training will stop; lr can stay constant. x is the answer to keep: watch x b and x a settle "
        "while z keeps moving. The error and rmse (at y) are in column T."),
    torch=TorchSpec("ScheduleFreeAdamW", {"lr": "lr", "betas": ("mom", "sqr_mom"), "eps": "eps",
                                          "weight_decay": "wd", "warmup_steps": "warmup"},
                    seeds={"exp_avg_sq": "gradtarget", "z": "ztarget", "x": "xtarget", "step": "steptarget",
                           "weight_sum": "wsumtarget"},
                    compare="schedfree", compare_lr=2.5e-3),
)
