"""Named optimizers and schedules for ``train --opt/--sched`` and ``compare``.

The lesson's optimizers are the sheets' own: each sheet definition's TorchSpec names its class and
the name it is offered under (``compare``), and a sheet with a per-epoch hook (adam_ann) adds the
automatic annealer. Schedules are torch_side/optim/sched.py; AdamW and the constant schedule are
PyTorch's own. Each definition's TorchSpec also spells out the settings
these comparisons were tuned with (``compare_kwargs``) where they differ from PyTorch's defaults:
Adam's betas (0.9, 0.99) with decoupled weight decay, RMSprop's alpha 0.9; a 1cycle warm-up of
25 % of the steps. ``onecycle-torch`` is
torch.optim.lr_scheduler.OneCycleLR, which the lesson's recipes call.
"""
from functools import partial

import torch

from xlopt.core import sheets

from torch_side import optim
from torch_side.errors import UsageError
from torch_side.learn.record import BatchSchedCB, EpochSchedCB
from torch_side.optim import sched

__all__ = ["OPTIMIZERS", "SCHEDULERS", "DEFAULT_LR", "ANNEAL_NEEDS", "opt_func", "opt_class", "sched_cbs",
           "source"]

# compare name -> the sheet definition offering it, in sheet order
_SHEETS = {s.torch.compare: s for s in sheets.BY_NAME.values() if s.torch is not None and s.torch.compare}
OPTIMIZERS = (*_SHEETS, "adamw", "muon")  # muon: no sheet (a 2-parameter model has no matrix)
SCHEDULERS = ("constant", "cosine", "onecycle", "onecycle-torch", "anneal")
# Peak learning rates that train the BatchNorm ResNets stably in a few epochs.
DEFAULT_LR = {**{name: s.torch.compare_lr for name, s in _SHEETS.items()}, "adamw": 1e-2, "muon": 1e-2}
LESSON_OPTS = tuple(name for name, s in _SHEETS.items() if s.lesson is not None)  # the lesson's five

_OURS = {name: partial(getattr(optim, s.torch.cls), **s.torch.compare_kwargs) for name, s in _SHEETS.items()}
_DECOUPLED = tuple(n for n, s in _SHEETS.items() if s.torch.compare_kwargs.get("decoupled_weight_decay"))
ANNEALED = tuple(name for name, s in _SHEETS.items() if s.after_epoch is not None)  # adam-anneal


def source(name):
    """Where ``name`` comes from, for the comparison table: ``'torch_side'`` or ``'torch'``."""
    return "torch" if name in ("adamw", "constant", "onecycle-torch") else "torch_side"


def _check(name, known):
    if name not in known:
        raise UsageError(f"unknown choice {name!r}; known: {', '.join(known)}")


def opt_func(name, wd=0.):
    """A callable ``(params, lr) -> Optimizer`` for the named optimizer."""
    _check(name, OPTIMIZERS)
    if name == "adamw":
        return partial(torch.optim.AdamW, weight_decay=wd if wd else 1e-2)
    if name == "muon":  # conv weights with Muon, the rest with AdamW, one lr (optim.MuonAdamW)
        return partial(optim.MuonAdamW, weight_decay=wd)
    ours = _OURS[name]
    if name in _DECOUPLED and wd:
        return partial(ours, weight_decay=wd)
    return ours


def _has_momentum(opt):
    """β1, or a momentum actually in use (plain SGD and RMSprop have the key at 0: leave it there)."""
    return "betas" in opt.defaults or opt.defaults.get("momentum", 0) > 0


def opt_class(name):
    """The optimizer class ``name`` builds: ours (the sheet's TorchSpec.cls), or torch.optim.AdamW, MuonAdamW."""
    _check(name, OPTIMIZERS)
    return {"adamw": torch.optim.AdamW, "muon": optim.MuonAdamW}.get(name) or _OURS[name].func


# optimizers with squared-gradient averages (what the annealer reads): the class says which
# state that is (sqr_avg_key), the one source sched.AutoAnneal reads too
ANNEAL_NEEDS = tuple(n for n in OPTIMIZERS if optim.sqr_avg_key_of(opt_class(n)) is not None)
MIN_ONECYCLE_STEPS = 8  # fewer, and a 25 % warm-up phase has no length (0/0 in the schedule)


def _onecycle(opt, max_lr, total_steps):
    return sched.OneCycle(opt, max_lr=max_lr, total_steps=total_steps, pct_start=0.25,
                          cycle_momentum=_has_momentum(opt))


def _torch_onecycle(opt, max_lr, total_steps):
    """PyTorch's own OneCycleLR with its defaults: what the lesson's notebooks call."""
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps)


def sched_cbs(name, total_steps, max_lr, opt_name=None):
    """Callbacks that run the named schedule (per batch, or per epoch for the annealer).

    An annealed optimizer (``opt_name='adam-anneal'``) adds the automatic annealer to whatever schedule is named.
    """
    annealed = opt_name in ANNEALED
    _check(name, SCHEDULERS)
    if (name == "anneal" or annealed) and opt_name is not None \
            and opt_name not in ANNEAL_NEEDS:
        raise UsageError(f"the automatic annealer reads squared-gradient averages, which "
                         f"{opt_name!r} does not keep; use one of {', '.join(ANNEAL_NEEDS)}")
    cbs = []
    if name == "cosine":
        cbs.append(BatchSchedCB(partial(sched.CosineAnnealing, T_max=total_steps)))
    elif name in ("onecycle", "onecycle-torch"):
        if total_steps < MIN_ONECYCLE_STEPS:
            raise UsageError(f"a 1cycle schedule needs at least {MIN_ONECYCLE_STEPS} batches in "
                             f"all, this run has {total_steps}; use more epochs, a larger "
                             "--subset or a smaller batch size")
        make = _onecycle if name == "onecycle" else _torch_onecycle
        cbs.append(BatchSchedCB(partial(make, max_lr=max_lr, total_steps=total_steps)))
    if name == "anneal" or annealed:
        cbs.append(EpochSchedCB(sched.AutoAnneal))
    return cbs
