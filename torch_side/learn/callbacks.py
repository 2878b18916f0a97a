"""Callbacks for :class:`torch_side.learner.Learner`; each one writes only the events it needs.

Lower ``order`` runs first: device placement before metrics, metrics before the progress bar
that prints them, the learning-rate finder before the NaN guard (so it can stop quietly).
"""
import copy
import math
import sys
import time

import torch

from torch_side.learner import (Callback, CancelEpochException, CancelFitException,
                                NonFiniteLossError)

__all__ = [
    "accuracy", "DeviceCB", "MixedPrecisionCB", "MetricsCB", "ProgressCB", "BaseSchedCB",
    "BatchSchedCB", "EpochSchedCB", "RecorderCB", "SingleBatchCB", "CapturePreds",
    "NaNGuardCB", "BatchTransformCB", "LRFinderCB", "lr_find", "capture_preds", "HasLearnCB",
    "smooth", "suggest_lr", "plot_lr_find",
]


def accuracy(preds, targs):
    """Fraction of rows whose arg-max equals the target (a tensor, so no device sync)."""
    return (preds.argmax(dim=1) == targs).float().mean()


def _in_notebook():
    ip = sys.modules.get("IPython")
    try:
        return ip is not None and ip.get_ipython() is not None and \
            "IPKernelApp" in ip.get_ipython().config
    except Exception:  # noqa: BLE001 - any IPython oddity means "not a notebook"
        return False


class DeviceCB(Callback):
    """Move the model (and each batch, if it is not there yet) to ``device``."""
    order = -20

    def __init__(self, device="cpu", channels_last=False):
        self.device, self.channels_last = torch.device(device), channels_last

    def before_fit(self, learn):
        learn.model.to(self.device)
        if self.channels_last:
            learn.model.to(memory_format=torch.channels_last)

    def before_batch(self, learn):
        xb, *rest = learn.batch
        xb = xb.to(self.device, non_blocking=True)
        if self.channels_last and xb.dim() == 4:
            xb = xb.contiguous(memory_format=torch.channels_last)
        learn.batch = (xb, *[r.to(self.device, non_blocking=True) for r in rest])


class HasLearnCB(Callback):
    """nb 16's ``HasLearnCB``: ``self.learn`` while a fit runs, ``None`` after, so a callback
    whose other methods (a hook, a plot) need the learner can reach it without an argument."""

    def __init__(self):
        self.learn = None

    def before_fit(self, learn):
        self.learn = learn

    def after_fit(self, learn):
        self.learn = None


class MixedPrecisionCB(Callback):
    """bf16 autocast around the forward pass and loss, on CUDA only (no grad scaler needed)."""
    order = -10

    def __init__(self, dtype=torch.bfloat16):
        self.dtype, self.ctx = dtype, None

    def before_batch(self, learn):
        dev = next(learn.model.parameters()).device
        if dev.type == "cuda":
            self.ctx = torch.autocast(device_type="cuda", dtype=self.dtype)
            self.ctx.__enter__()

    def after_loss(self, learn):
        self._exit()

    def cleanup_batch(self, learn):
        self._exit()

    def _exit(self):
        if self.ctx is not None:
            self.ctx.__exit__(None, None, None)
            self.ctx = None


def _say(line):
    print(line, flush=True)


class MetricsCB(Callback):
    """Per-epoch loss and metrics, kept as a list of plain dicts (``log``) and a DataFrame, and
    printed as fastai's epoch table: a header, then one line as each epoch ends::

        epoch  train_loss  valid_loss  accuracy  time
        1      0.6311      0.4729      0.8321    00:31

    Sums stay on the device during the epoch, so there is one sync per epoch, not per batch.
    ``logger`` gets each line (default: print, flushed, so a pipe or nohup's file shows it at
    once; None: silent).
    """
    order = 0

    def __init__(self, *ms, logger=_say, **metrics):
        for m in ms:
            metrics[m.__name__] = m
        self.metrics, self.logger, self.log = metrics, logger, []
        self._header, self._train = False, None

    def before_epoch(self, learn):
        self._n, self._sums = 0, None
        if learn.training or not getattr(learn, "do_train", True):
            self._t0 = time.perf_counter()

    def after_batch(self, learn):
        xb, yb = learn.batch[:2]
        n = len(yb)
        vals = [learn.loss.detach().float()] + \
            [torch.as_tensor(f(learn.preds.detach(), yb)).float() for f in self.metrics.values()]
        vals = torch.stack([v.reshape(()) for v in vals]) * n
        self._sums = vals if self._sums is None else self._sums + vals
        self._n += n

    def after_epoch(self, learn):
        if not self._n:
            return
        sums = (self._sums / self._n).tolist()
        row = {"epoch": learn.epoch, "phase": "train" if learn.training else "valid",
               "loss": sums[0]}
        row.update({k: v for k, v in zip(self.metrics, sums[1:])})
        self.log.append(row)
        if learn.training:
            self._train = row
            if getattr(learn, "do_valid", True):
                return  # the line is printed once the epoch's validation ends
        self._print(learn, row)

    def _print(self, learn, row):
        if self.logger is None:
            return
        train = self._train if self._train is not None and self._train["epoch"] == row["epoch"] else None
        valid = row if row["phase"] == "valid" else None
        cols = ["epoch", "train_loss", "valid_loss", *self.metrics, "time"]
        if not self._header:
            self.logger("  ".join(f"{c:<10}" if c != "epoch" else f"{c:<5}" for c in cols).rstrip())
            self._header = True
        secs = time.perf_counter() - self._t0
        src = valid or train
        vals = [f"{row['epoch'] + 1:<5}",
                f"{train['loss']:<10.4f}" if train else f"{'':<10}",
                f"{valid['loss']:<10.4f}" if valid else f"{'':<10}",
                *[f"{src[k]:<10.4f}" for k in self.metrics],
                f"{int(secs // 60):02d}:{int(secs % 60):02d}"]
        self.logger("  ".join(vals))

    @property
    def df(self):
        import pandas as pd
        return pd.DataFrame(self.log)


class ProgressCB(Callback):
    """A tqdm bar per epoch; with ``plot=True`` inside a notebook, a live loss plot too."""
    order = MetricsCB.order + 1

    def __init__(self, plot=False, update_every=1, file=None):
        self.plot, self.update_every, self.file = plot, update_every, file

    def before_fit(self, learn):
        self.losses = []
        self.live = self.plot and _in_notebook()
        from tqdm.auto import tqdm

        from xlopt.core.progress import is_terminal
        self._tqdm = tqdm
        # like xlopt's bars: nothing when stderr is a pipe or a file (a notebook keeps its widget)
        self._off = not (_in_notebook() or is_terminal(self.file))
        for cb in learn.cbs:
            if isinstance(cb, MetricsCB) and cb.logger is not None:  # lines above the bar
                cb.logger = self._write

    def _write(self, line):
        self._tqdm.write(line, file=self.file)
        (self.file or sys.stdout).flush()

    def before_epoch(self, learn):
        phase = "train" if learn.training else "valid"
        learn.dl = self._tqdm(learn.dl, leave=False, file=self.file, dynamic_ncols=True, disable=self._off,
                              desc=f"epoch {learn.epoch + 1}/{learn.n_epochs} {phase}")

    def after_batch(self, learn):
        if self._off and not self.live:
            return  # no bar to refresh: no device sync for it either
        if learn.training and learn.iter % self.update_every == 0:
            loss = learn.loss.item()
            learn.dl.set_postfix(loss=f"{loss:.3f}")
            self.losses.append(loss)
            if self.live:
                self._draw()

    def _draw(self):
        import matplotlib.pyplot as plt
        from IPython.display import clear_output, display
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(self.losses)
        ax.set_xlabel(f"batch / {self.update_every}")
        ax.set_ylabel("loss")
        clear_output(wait=True)
        display(fig)
        plt.close(fig)


class BaseSchedCB(Callback):
    """Build the scheduler from a factory against ``learn.opt`` when the fit starts."""
    order = 5

    def __init__(self, sched_factory):
        self.sched_factory = sched_factory

    def before_fit(self, learn):
        self.sched = self.sched_factory(learn.opt)

    def _step(self, learn):
        if learn.training:
            self.sched.step()


class BatchSchedCB(BaseSchedCB):
    """Step the scheduler after every training batch (1cycle, per-batch cosine)."""

    def after_batch(self, learn):
        self._step(learn)


class EpochSchedCB(BaseSchedCB):
    """Step the scheduler after every training epoch (epoch cosine, automatic annealer)."""

    def after_epoch(self, learn):
        self._step(learn)


class RecorderCB(Callback):
    """Record named per-batch quantities: ``RecorderCB(lr=lambda cb: cb.pg['lr'])``.

    A function gets the callback, which holds ``pg`` (the first param group) and ``learn``,
    so ``loss=lambda cb: cb.learn.loss.detach()`` works too.
    """
    order = BaseSchedCB.order - 1  # read the value the batch used, before the scheduler steps

    def __init__(self, **fns):
        self.fns = fns

    def before_fit(self, learn):
        self.learn, self.recs = learn, {k: [] for k in self.fns}
        self.pg = learn.opt.param_groups[0]

    def after_batch(self, learn):
        if not learn.training:
            return
        for k, fn in self.fns.items():
            self.recs[k].append(fn(self))

    def values(self, k):
        """Recorded values of ``k`` as floats (tensors are kept until now to avoid syncs)."""
        return [float(v) for v in self.recs[k]]

    @property
    def df(self):
        import pandas as pd
        return pd.DataFrame({k: self.values(k) for k in self.recs})

    def plot(self, path=None):
        import matplotlib.pyplot as plt
        fig, axs = plt.subplots(1, len(self.recs), figsize=(4 * len(self.recs), 3), squeeze=False)
        for ax, k in zip(axs[0], self.recs):
            ax.plot(self.values(k))
            ax.set_title(k)
            ax.set_xlabel("batch")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
            plt.close(fig)
        return fig


class SingleBatchCB(Callback):
    """Stop after the first batch: for shapes, summaries and smoke tests."""
    order = 1

    def after_batch(self, learn):
        raise CancelFitException()


class CapturePreds(Callback):
    """Keep every batch's inputs, predictions and targets (on the CPU) for TTA and ensembles."""
    order = 10

    def __init__(self, inputs=False):
        self.inputs = inputs

    def before_fit(self, learn):
        self.all_inps, self.all_preds, self.all_targs = [], [], []

    def after_batch(self, learn):
        if self.inputs:
            self.all_inps.append(learn.batch[0].detach().float().cpu())
        self.all_preds.append(learn.preds.detach().float().cpu())
        self.all_targs.append(learn.batch[1].detach().cpu())

    def after_fit(self, learn):
        self.all_preds = torch.cat(self.all_preds) if self.all_preds else torch.empty(0)
        self.all_targs = torch.cat(self.all_targs) if self.all_targs else torch.empty(0)
        if self.inputs and self.all_inps:
            self.all_inps = torch.cat(self.all_inps)


def capture_preds(learn, cbs=None, inputs=False):
    """Run one validation pass and return ``(preds, targets[, inputs])``."""
    cp = CapturePreds(inputs=inputs)
    learn.fit(1, train=False, cbs=[cp] + list(cbs or []))
    res = (cp.all_preds, cp.all_targs)
    return res + (cp.all_inps,) if inputs else res


class NaNGuardCB(Callback):
    """Stop the fit with a clear message when the loss stops being finite.

    It raises :class:`NonFiniteLossError` naming the epoch and batch where the loss first
    went bad, before any after_epoch checkpoint, so nothing from the bad epoch is saved.
    ``every=1`` checks each batch before its backward pass; on a GPU, ``every=k`` keeps the
    per-batch flags on the device and looks at them every k batches (one sync instead of k)
    and at the end of each epoch.
    """
    order = 20

    def __init__(self, every=1):
        self.every = every

    def before_epoch(self, learn):
        self._pending = []

    def after_loss(self, learn):
        loss = learn.loss.detach()
        self._pending.append((learn.iter, loss, ~torch.isfinite(loss).all()))
        if len(self._pending) >= self.every:
            self._flush(learn)

    def after_epoch(self, learn):
        self._flush(learn)

    def _flush(self, learn):
        pending, self._pending = self._pending, []
        if not pending or not bool(torch.stack([b for _, _, b in pending]).any()):
            return
        it, loss, _ = next(p for p in pending if bool(p[2]))
        phase = "training" if learn.training else "validation"
        raise NonFiniteLossError(
            f"loss became {loss.float().item()} at epoch {learn.epoch + 1} of "
            f"{learn.n_epochs}, batch {it + 1} ({phase}); training stopped. "
            "Lower the learning rate or check the inputs; no checkpoint was written "
            "for this epoch.")


class BatchTransformCB(Callback):
    """Apply ``tfm`` to each batch's inputs, on the device (augmentation is training-only)."""
    order = DeviceCB.order + 1

    def __init__(self, tfm, on_train=True, on_val=False):
        self.tfm, self.on_train, self.on_val = tfm, on_train, on_val

    def before_batch(self, learn):
        if (self.on_train and learn.training) or (self.on_val and not learn.training):
            xb, *rest = learn.batch
            learn.batch = (self.tfm(xb), *rest)


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
