"""Learning-rate schedules written from scratch as `torch.optim.lr_scheduler.LRScheduler` subclasses.

  CosineAnnealing(opt, T_max, eta_min=0.)     lr_t = η_min + (base − η_min)·(1 + cos(π·t/T_max))/2
  OneCycle(opt, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3, ...)
                                              PyTorch's OneCycleLR signature and defaults: warm up
                                              from max_lr/div_factor to max_lr, anneal to
                                              max_lr/div_factor/final_div_factor; momentum (or
                                              β1) cycles the other way
  AutoAnneal(opt, threshold=2., factor=4.)    adam_ann's automatic annealer, for any optimizer

They work with any optimizer, PyTorch's or `torch_side.optim`'s, and compose as PyTorch's own
schedulers do: each reads the current ``group['lr']`` (CosineAnnealing in PyTorch's chainable
form, AutoAnneal dividing it), so they can be stepped together with StepLR, MultiStepLR,
ExponentialLR, LinearLR, inside ChainedScheduler or SequentialLR, and saved with ``state_dict``.
CosineAnnealing equals CosineAnnealingLR and OneCycle equals OneCycleLR to ~1e-15 over whole
schedules. Like PyTorch's, OneCycle cycles ``group['betas'][0]`` when the optimizer has betas,
else ``group['momentum']``.
"""
import math

import torch
from torch.optim.lr_scheduler import LRScheduler

from xlopt.core import rules

from torch_side.optim.base import sqr_avg_key_of
from torch_side.optim.numerics import exact_sqrt

__all__ = ["CosineAnnealing", "OneCycle", "AutoAnneal", "grad2_size", "sqr_avgs"]


def _per_group(name, opt, value):
    """One value per param group: a list/tuple as given (length checked), a number repeated."""
    n = len(opt.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values, but the optimizer has {n} param groups")
        return list(value)
    return [value] * n


def cos_anneal(start, end, pct):
    """From start (pct = 0) to end (pct = 1) along half a cosine."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def lin_anneal(start, end, pct):
    """From start (pct = 0) to end (pct = 1) along a straight line."""
    return (end - start) * pct + start


class CosineAnnealing(LRScheduler):
    """lr = η_min + (base_lr − η_min)·(1 + cos(π·t/T_max))/2 at step t (periodic past T_max).

    PyTorch's chainable form, as CosineAnnealingLR: each step scales the CURRENT ``lr − η_min`` by
    the ratio of successive cosine values, so what another scheduler does to lr (StepLR's decay,
    a LinearLR warm-up, ChainedScheduler, SequentialLR) carries through. Used alone — as long as
    no one else has changed lr — each value is the closed form itself (no rounding accumulates over
    long schedules); ``step(epoch)`` and SequentialLR's restarts use the closed form too.
    """

    def __init__(self, opt, T_max, eta_min=0., last_epoch=-1):
        if not isinstance(T_max, int) or isinstance(T_max, bool) or T_max <= 0:
            raise ValueError(f"T_max must be a positive integer, got {T_max!r}")
        if not isinstance(eta_min, (int, float)) or not math.isfinite(eta_min) or eta_min < 0:
            raise ValueError(f"eta_min must be a finite number >= 0, got {eta_min!r}")
        self.T_max, self.eta_min = T_max, eta_min
        self.alone = True  # nobody else has changed lr: the closed form is exact
        super().__init__(opt, last_epoch)

    def _get_closed_form_lr(self):
        t = self.last_epoch
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
                for base in self.base_lrs]

    def get_lr(self):
        t, T, lrs = self.last_epoch, self.T_max, [g["lr"] for g in self.optimizer.param_groups]
        if t == 0:
            self.alone = self.alone and lrs == list(self.base_lrs)
            return lrs
        if self.alone and lrs == list(getattr(self, "_last_lr", lrs)):
            return self._get_closed_form_lr()
        self.alone = False
        if self._step_count == 1 and t > 0:  # built with last_epoch > 0
            return self._get_closed_form_lr()
        if (t - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio would be 0/0
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(lrs, self.base_lrs)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - self.eta_min)
                + self.eta_min for lr in lrs]


def _copy(v):
    return v.clone() if isinstance(v, torch.Tensor) else v


class OneCycle(LRScheduler):
    """The 1cycle policy with PyTorch's OneCycleLR signature, defaults and param-group keys.

    ``total_steps``, or ``epochs`` and ``steps_per_epoch``. Phase ends (in steps):
    pct_start·total − 1, then total − 1; with three_phase: pct_start·total − 1,
    2·pct_start·total − 2, total − 1. Within a phase, pct runs from 0 to 1 and lr (and momentum)
    follow `cos_anneal` or `lin_anneal` between the phase's end points, read from the param group
    (``initial_lr`` = max_lr/div_factor, ``max_lr``, ``min_lr`` = initial_lr/final_div_factor,
    ``max_momentum``, ``base_momentum``, written there at construction as PyTorch does):

        phase      lr                                momentum / β1
        1          initial_lr → max_lr               max_momentum → base_momentum
        2          max_lr → min_lr                   base_momentum → max_momentum
        (3-phase)  max_lr → initial_lr, then → min_lr    base → max, then max → max

    Momentum is cycled when the optimizer has a ``'betas'`` hyper-parameter (β1) or else a
    ``'momentum'`` one; the bounds are taken as given (PyTorch checks none). Arguments given as
    tensors are copied, never kept by reference.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25., final_div_factor=1e4, three_phase=False, last_epoch=-1):
        def posint(name, v):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if total_steps is not None:
            posint("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            posint("epochs", epochs)
            posint("steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("give total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, (int, float)) or isinstance(pct_start, bool) or not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be a number in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.cycle_momentum, self.three_phase = cycle_momentum, three_phase
        max_lrs = [_copy(v) for v in _per_group("max_lr", optimizer, max_lr)]
        for v in max_lrs:
            if not math.isfinite(float(v)) or float(v) <= 0:
                raise ValueError(f"max_lr must be a finite number > 0, got {v!r}")
        up = float(pct_start * total_steps) - 1
        # (end step, lr from, lr to, momentum from, momentum to): param-group keys, as PyTorch's
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                            "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum=True, but {type(optimizer).__name__} has neither a "
                                 "'momentum' nor a 'betas' hyper-parameter: pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.momentum_key = "betas" if self.use_beta1 else "momentum"
            maxs = [_copy(v) for v in _per_group("max_momentum", optimizer, max_momentum)]
            bases = [_copy(v) for v in _per_group("base_momentum", optimizer, base_momentum)]
            if last_epoch == -1:
                for group, hi, lo in zip(optimizer.param_groups, maxs, bases):
                    self._set_momentum(group, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, m):
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def values_at(self, step):
        """[(lr, momentum or None) per group] at `step` (0 … total_steps)."""
        if step > self.total_steps:
            raise ValueError(f"OneCycle stepped {step} times, past its total_steps={self.total_steps}")
        anneal = cos_anneal if self.anneal_strategy == "cos" else lin_anneal
        start = 0.0
        for k, (end, lr0, lr1, m0, m1) in enumerate(self.phases):  # noqa: B007 (the phase found is used below)
            if step <= end or k == len(self.phases) - 1:
                break
            start = end
        pct = (step - start) / (end - start)
        return [(anneal(g[lr0], g[lr1], pct), anneal(g[m0], g[m1], pct) if self.cycle_momentum else None)
                for g in self.optimizer.param_groups]

    def get_lr(self):
        values = self.values_at(self.last_epoch)
        if self.cycle_momentum:
            for group, (_, m) in zip(self.optimizer.param_groups, values):
                self._set_momentum(group, m)
        return [lr for lr, _ in values]


# --- adam_ann's annealer, generalised -------------------------------------------------------------


def grad2_size(sq_avgs):
    """Σ over every element of every squared-gradient average of its square root (‖√v‖₁).

    For the sheet's two scalar parameters b and a this is exactly ``rules.avg_grad2(s_b, s_a)`` =
    √s_b + √s_a, whether they are two 0-d tensors or one tensor [s_b, s_a] (a two-term sum is
    the same in any order); larger tensors are summed by torch.
    """
    total = None
    for v in sq_avgs:
        s = exact_sqrt(v.detach()).sum()
        total = s if total is None else total + s
    if total is None:
        raise ValueError("the optimizer keeps no squared-gradient averages yet: step it first, or use "
                         "one whose class names a sqr_avg_key (Adam, AdamW, RMSprop, ScheduleFreeAdamW)")
    return total.item()


def sqr_avgs(opt):
    """The optimizer's squared-gradient averages, parameter by parameter in group order: the state
    its class names (``sqr_avg_key``, ours or torch.optim's twin's), none for any other optimizer."""
    key = sqr_avg_key_of(opt)
    if key is None:
        return []
    return [opt.state[p][key] for group in opt.param_groups for p in group["params"]
            if key in opt.state.get(p, {})]


class AutoAnneal(LRScheduler):
    """adam_ann's annealer: divide lr by `factor` when the gradients' size jumps past `threshold`×best.

    Each check measures ``size = grad2_size(squared-gradient averages)`` (the sheet's avg_grad2),
    takes ``ratio = size / best`` (gradrat), divides every group's lr by `factor` when
    ``ratio > threshold``, then keeps ``best = min(best, size)`` — the sheet's Run, in that order.
    ``best`` starts at the given value (the sheet's prev_grad2), else at the size measured when the
    annealer is built (if the optimizer already holds averages) or at the first check.

    When it checks: ``every=None`` — at each ``step()`` call (call it once per epoch, as the sheet
    does after each epoch); ``every=k`` — at every k-th ``step()`` call (call it after each
    optimizer step to check every k optimizer steps).
    """

    def __init__(self, opt, threshold=float(rules.ANNEAL_THRESHOLD), factor=float(rules.ANNEAL_FACTOR),
                 every=None, best=None, last_epoch=-1):
        if not math.isfinite(threshold) or threshold <= 0:
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"factor must be a finite number > 0, got {factor!r}")
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be None or a positive integer, got {every!r}")
        self.threshold, self.factor, self.every, self.best = threshold, factor, every, best
        if best is None and sqr_avgs(opt):
            self.best = grad2_size(sqr_avgs(opt))
        self.ratio = self.size = None
        self.annealed = []  # the step numbers at which lr was divided
        super().__init__(opt, last_epoch)

    def state_dict(self):
        sd = super().state_dict()
        sd["annealed"] = list(sd["annealed"])  # a copy: LRScheduler's state_dict is shallow
        return sd

    def load_state_dict(self, state_dict):
        super().load_state_dict({**state_dict, "annealed": list(state_dict["annealed"])})

    def check(self):
        """Measure, anneal if the ratio exceeds the threshold, keep the lowest size. True if annealed."""
        size = grad2_size(sqr_avgs(self.optimizer))
        if self.best is None:
            self.best = size
        self.size, self.ratio = size, rules.gradrat(size, self.best)
        hit = self.ratio > self.threshold
        for group in self.optimizer.param_groups:  # the sheet's own rules: adam_ann's Run
            group["lr"] = rules.anneal_lr(group["lr"], self.ratio, self.threshold, self.factor)
        if hit:
            self.annealed.append(self.last_epoch)
        self.best = rules.keep_best(size, self.best)
        return hit

    def get_lr(self):
        if self.last_epoch > 0 and (self.every is None or self.last_epoch % self.every == 0):
            self.check()
        return [group["lr"] for group in self.optimizer.param_groups]
