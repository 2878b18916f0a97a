"""The lesson's learning-rate finder: the lr grows each batch until the loss runs away; the
suggestion is a tenth of the lr where the smoothed loss is lowest. ``Learner.lr_find`` is patched
on here (as miniai patches it with fastcore), so the Learner's module imports no callback."""
import copy
import math

import torch

from torch_side.learn.learner import CancelEpochException, CancelFitException, Callback, Learner
from torch_side.learn.callbacks import NaNGuardCB

__all__ = ["LRFinderCB", "lr_find", "smooth", "suggest_lr", "plot_lr_find"]


class LRFinderCB(Callback):
    """Grow the lr by ``gamma`` each batch; stop once the loss exceeds ``max_mult`` x its min."""
    order = NaNGuardCB.order - 1

    def __init__(self, gamma=1.3, max_mult=3):
        self.gamma, self.max_mult = gamma, max_mult

    def before_fit(self, learn):
        self.sched = torch.optim.lr_scheduler.ExponentialLR(learn.opt, self.gamma)
        self.lrs, self.losses, self.min = [], [], math.inf

    def after_loss(self, learn):
        if learn.training and not bool(torch.isfinite(learn.loss.detach())):
            raise CancelFitException()

    def after_batch(self, learn):
        if not learn.training:
            raise CancelEpochException()
        self.lrs.append(learn.opt.param_groups[0]["lr"])
        loss = learn.loss.item()
        self.losses.append(loss)
        self.min = min(self.min, loss)
        if loss > self.max_mult * self.min:
            raise CancelFitException()
        self.sched.step()

    def suggestion(self):
        """``(lr, smoothed loss there)``: a tenth of the lr where the smoothed loss is lowest
        (the lesson's rule of thumb), or None before any batch."""
        return suggest_lr(self.lrs, self.losses)

    def plot(self, path=None, title="lr_find"):
        """Raw and smoothed loss against the lr (log scale), the suggestion marked."""
        return plot_lr_find(self.lrs, self.losses, path=path, title=title)


def smooth(values, beta=0.9):
    """Exponential moving average with Adam's bias correction, so it starts at the data."""
    out, avg = [], 0.
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest_lr(lrs, losses, beta=0.9):
    """The lesson's rule of thumb on the smoothed curve: a tenth of the lr at its minimum.
    Returns ``(lr, smoothed loss at the nearest recorded lr)``, or None without data."""
    if not lrs:
        return None
    sm = smooth(losses, beta)
    i = min(range(len(sm)), key=sm.__getitem__)
    lr = lrs[i] / 10
    j = min(range(len(lrs)), key=lambda k: abs(math.log(lrs[k]) - math.log(lr)))
    return lr, sm[j]


def plot_lr_find(lrs, losses, path=None, title="lr_find"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(lrs, losses, color="0.75", lw=0.8, label="loss per batch")
    sm = smooth(losses)
    ax.plot(lrs, sm, color="C0", lw=1.6, label="smoothed")
    sug = suggest_lr(lrs, losses)
    if sug is not None:
        lr, loss = sug
        i = min(range(len(sm)), key=sm.__getitem__)
        ax.plot([lrs[i]], [sm[i]], "v", color="C3", label=f"lowest smoothed loss, lr {lrs[i]:.2g}")
        ax.plot([lr], [loss], "o", color="C2", ms=8, label=f"suggestion: a tenth, lr {lr:.2g}")
        ax.axvline(lr, color="C2", ls="--", lw=0.8)
        lo, hi = min(min(sm), min(losses)), max(sm[: i + 1])
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), max(hi, sm[0]) + 0.3 * (hi - lo + 1e-9))
    ax.set(xscale="log", xlabel="learning rate (log scale)", ylabel="training loss", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    return fig


def lr_find(learn, start_lr=1e-5, gamma=1.3, max_mult=3, max_epochs=10, plot=False,
            restore=True):
    """The lesson's learning-rate finder; returns ``(lrs, losses)``.

    With ``restore=True`` the model's weights are put back afterwards, so a finder run
    does not leave a half-trained model behind.
    """
    state = copy.deepcopy(learn.model.state_dict()) if restore else None
    cb = LRFinderCB(gamma=gamma, max_mult=max_mult)
    try:
        learn.fit(max_epochs, lr=start_lr, cbs=[cb])
    finally:
        if state is not None:
            learn.model.load_state_dict(state)
    if plot:
        cb.plot()
    return cb.lrs, cb.losses


def _lr_find_method(self, start_lr=1e-5, gamma=1.3, max_mult=3, max_epochs=10, plot=False, restore=True):
    """The learning-rate finder (:func:`torch_side.learn.lr_find.lr_find`): ``(lrs, losses)``."""
    return lr_find(self, start_lr=start_lr, gamma=gamma, max_mult=max_mult, max_epochs=max_epochs,
                   plot=plot, restore=restore)


Learner.lr_find = _lr_find_method
