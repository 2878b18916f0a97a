"""Named optimizers and schedules for ``train --opt/--sched`` and ``compare``.

The lesson's optimizers and schedules are torch_side/optim.py and torch_side/sched.py; AdamW,
the constant schedule and ``onecycle-torch`` (torch.optim.lr_scheduler.OneCycleLR, which the
lesson's recipes call) are PyTorch's own.
"""
from functools import partial

import torch

from torch_side import optim, sched
from torch_side.callbacks import BatchSchedCB, EpochSchedCB

__all__ = ["OPTIMIZERS", "SCHEDULERS", "DEFAULT_LR", "ANNEAL_NEEDS", "opt_func", "sched_cbs",
           "source"]

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adam-anneal", "adamw")
SCHEDULERS = ("constant", "cosine", "onecycle", "onecycle-torch", "anneal")
# Peak learning rates that train the BatchNorm ResNets stably in a few epochs.
DEFAULT_LR = {"sgd": 0.2, "momentum": 0.2, "rmsprop": 3e-3, "adam": 1e-2,
              "adam-anneal": 1e-2, "adamw": 1e-2}

_OURS = {"sgd": optim.SGD, "momentum": optim.Momentum, "rmsprop": optim.RMSProp, "adam": optim.Adam,
         "adam-anneal": optim.Adam}


def source(name):
    """Where ``name`` comes from, for the comparison table: ``'torch_side'`` or ``'torch'``."""
    return "torch" if name in ("adamw", "constant", "onecycle-torch") else "torch_side"


def _check(name, known):
    if name not in known:
        raise ValueError(f"unknown choice {name!r}; known: {', '.join(known)}")


def opt_func(name, wd=0.):
    """A callable ``(params, lr) -> Optimizer`` for the named optimizer."""
    _check(name, OPTIMIZERS)
    if name == "adamw":
        return partial(torch.optim.AdamW, weight_decay=wd if wd else 1e-2)
    ours = _OURS[name]
    if name in ("adam", "adam-anneal") and wd:
        return partial(ours, weight_decay=wd)
    return ours


def _has_momentum(opt):
    return "momentum" in opt.defaults or "betas" in opt.defaults


ANNEAL_NEEDS = ("rmsprop", "adam", "adam-anneal", "adamw")  # optimizers with squared-grad averages
MIN_ONECYCLE_STEPS = 8  # fewer, and a 25 % warm-up phase has no length (0/0 in the schedule)


def _onecycle(opt, max_lr, total_steps):
    return sched.OneCycle(opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=_has_momentum(opt))


def _torch_onecycle(opt, max_lr, total_steps):
    """PyTorch's own OneCycleLR with its defaults: what the lesson's notebooks call."""
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps)


def sched_cbs(name, total_steps, max_lr, opt_name=None):
    """Callbacks that run the named schedule (per batch, or per epoch for the annealer).

    ``opt_name='adam-anneal'`` adds the automatic annealer to whatever schedule is named.
    """
    _check(name, SCHEDULERS)
    if (name == "anneal" or opt_name == "adam-anneal") and opt_name is not None \
            and opt_name not in ANNEAL_NEEDS:
        raise ValueError(f"the automatic annealer reads squared-gradient averages, which "
                         f"{opt_name!r} does not keep; use one of {', '.join(ANNEAL_NEEDS)}")
    cbs = []
    if name == "cosine":
        cbs.append(BatchSchedCB(partial(sched.CosineAnnealing, T_max=total_steps)))
    elif name in ("onecycle", "onecycle-torch"):
        if total_steps < MIN_ONECYCLE_STEPS:
            raise ValueError(f"a 1cycle schedule needs at least {MIN_ONECYCLE_STEPS} batches in "
                             f"all, this run has {total_steps}; use more epochs, a larger "
                             "--subset or a smaller batch size")
        make = _onecycle if name == "onecycle" else _torch_onecycle
        cbs.append(BatchSchedCB(partial(make, max_lr=max_lr, total_steps=total_steps)))
    if name == "anneal" or opt_name == "adam-anneal":
        cbs.append(EpochSchedCB(sched.AutoAnneal))
    return cbs
