"""adam_ann: adam that anneals its own learning rate when the gradients' size jumps."""
from xlopt.core import rules
from xlopt.core.hooks import Anneal
from xlopt.core.sheet import Extra, Lesson, Optimizer, Reset, Summary, TorchSpec
from xlopt.core.sheets import adam

OPTIMIZER = Optimizer(
    "adam_ann", 5, "D2", 1.0, {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.95)},
    columns=adam.columns(), problem_at="O", state=adam.STATE, targets=adam.TARGETS,
    summaries=(
        # from the pasted squared averages (the targets), not from the pass
        Summary("avg_grad2", "N", lambda e: rules.avg_grad2(e["gradtarget"][0], e["gradtarget"][1])),
        Summary("gradrat", "N", lambda e: rules.gradrat(e["avg_grad2"], e["prev_grad2"]), row_offset=1),
    ),
    extras=(Extra("prev_grad2", "N3", 1.0, "prev_grad2"),),
    # manual calculation: both copies read one pass; the second round also keeps avg_grad2 as it
    # stood at the last recalculation as prev_grad2 (the first round's copy of it is overwritten)
    reset=Reset(lr=1.0, warmup=((("ms_last", "gradtarget"), ("momlast", "momtarget"), ("avg_grad2", "prev_grad2")),),
                times=2, mode="manual"),
    after_epoch=Anneal(),
    watch="lr (D2): Run divides it by 4 whenever gradrat (N34) passes 2, and rmse falls again after each cut.",
    try_this=('press Run eight times and watch lr (D2) and gradrat (N34): when is lr cut?',),
    instructions=(
        "adam_ann: adam that anneals its own learning rate. avg_grad2 (N33) measures the squared-gradient "
        "averages; when it grows to more than twice the best seen so far (prev_grad2, N3), i.e. when "
        "gradrat (N34) > 2, Run divides lr by 4. The error and rmse are in column O."),
    torch=TorchSpec("Adam", compare="adam-anneal", compare_lr=1e-2, **adam.TORCH),
    lesson=Lesson(adam.LESSON_NAMES + ("avg_grad2", "gradrat", "prev_grad2"), ("A", "M")),
)
