"""Named optimizers and schedules for ``train --opt/--sched`` and ``compare``.

The lesson's optimizers and schedules live in torch_side/optim.py and torch_side/sched.py.
They are imported lazily and by name; where one is missing, the closest torch equivalent
is used and ``source()`` says so, so a comparison table never silently mixes the two.
"""
import importlib
from functools import partial

import torch

from torch_side.callbacks import BatchSchedCB, EpochSchedCB
from torch_side.learner import Callback

__all__ = ["OPTIMIZERS", "SCHEDULERS", "DEFAULT_LR", "ANNEAL_NEEDS", "opt_func", "sched_cbs",
           "source"]

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adam-anneal", "adamw")
SCHEDULERS = ("constant", "cosine", "onecycle", "anneal")
# Peak learning rates that train the BatchNorm ResNets stably in a few epochs.
DEFAULT_LR = {"sgd": 0.2, "momentum": 0.2, "rmsprop": 3e-3, "adam": 1e-2,
              "adam-anneal": 1e-2, "adamw": 1e-2}

_OURS = {"sgd": "SGD", "momentum": "Momentum", "rmsprop": "RMSProp", "adam": "Adam",
         "adam-anneal": "Adam", "cosine": "CosineAnnealing", "onecycle": "OneCycle",
         "anneal": "AutoAnneal"}


def _ours(name):
    """The class named ``_OURS[name]`` from torch_side.optim / torch_side.sched, or None."""
    modname = "torch_side.sched" if name in ("cosine", "onecycle", "anneal") else "torch_side.optim"
    try:
        mod = importlib.import_module(modname)
    except ImportError:
        return None
    return getattr(mod, _OURS.get(name, ""), None)


def source(name):
    """Where ``name`` comes from: ``'torch_side'`` or ``'torch (fallback)'``."""
    if name in ("adamw", "constant"):
        return "torch"
    return "torch_side" if _ours(name) is not None else "torch (fallback)"


def _check(name, known):
    if name not in known:
        raise ValueError(f"unknown choice {name!r}; known: {', '.join(known)}")


def opt_func(name, wd=0.):
    """A callable ``(params, lr) -> Optimizer`` for the named optimizer."""
    _check(name, OPTIMIZERS)
    if name == "adamw":
        return partial(torch.optim.AdamW, weight_decay=wd if wd else 1e-2)
    ours = _ours(name)
    if ours is not None:
        if name in ("adam", "adam-anneal") and wd:
            return partial(ours, weight_decay=wd)
        return ours
    fallbacks = {  # the lesson's forms: momentum and RMS averages are EMAs
        "sgd": partial(torch.optim.SGD, weight_decay=wd),
        "momentum": partial(torch.optim.SGD, momentum=0.9, dampening=0.9, weight_decay=wd),
        "rmsprop": partial(torch.optim.RMSprop, alpha=0.9, eps=1e-8, weight_decay=wd),
        "adam": partial(torch.optim.Adam, betas=(0.9, 0.99), eps=1e-8, weight_decay=wd),
    }
    fallbacks["adam-anneal"] = fallbacks["adam"]
    return fallbacks[name]


class PlateauAnnealCB(Callback):
    """Fallback annealer: divide the lr by ``factor`` when an epoch's train loss stalls."""
    order = EpochSchedCB.order

    def __init__(self, factor=4.):
        self.factor = factor

    def before_fit(self, learn):
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            learn.opt, factor=1 / self.factor, patience=0)

    def before_epoch(self, learn):
        if learn.training:
            self._sum, self._n = 0., 0

    def after_batch(self, learn):
        if learn.training:
            self._sum = self._sum + learn.loss.detach()
            self._n += 1

    def after_epoch(self, learn):
        if learn.training and self._n:
            self.sched.step(float(self._sum / self._n))


def _anneal_cbs():
    ours = _ours("anneal")
    return [EpochSchedCB(ours)] if ours is not None else [PlateauAnnealCB()]


def _has_momentum(opt):
    return "momentum" in opt.defaults or "betas" in opt.defaults


ANNEAL_NEEDS = ("rmsprop", "adam", "adam-anneal", "adamw")  # optimizers with squared-grad averages
MIN_ONECYCLE_STEPS = 8  # fewer, and a 25 % warm-up phase has no length (0/0 in the schedule)


def _onecycle(opt, max_lr, total_steps):
    ours = _ours("onecycle")
    cls = ours if ours is not None else torch.optim.lr_scheduler.OneCycleLR
    return cls(opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=_has_momentum(opt))


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
        ours = _ours("cosine")
        cbs.append(BatchSchedCB(partial(ours, T_max=total_steps) if ours is not None else
                                partial(torch.optim.lr_scheduler.CosineAnnealingLR,
                                        T_max=total_steps)))
    elif name == "onecycle":
        if total_steps < MIN_ONECYCLE_STEPS:
            raise ValueError(f"a 1cycle schedule needs at least {MIN_ONECYCLE_STEPS} batches in "
                             f"all, this run has {total_steps}; use more epochs, a larger "
                             "--subset or a smaller batch size")
        cbs.append(BatchSchedCB(partial(_onecycle, max_lr=max_lr, total_steps=total_steps)))
    if name == "anneal" or opt_name == "adam-anneal":
        cbs += _anneal_cbs()
    return cbs
