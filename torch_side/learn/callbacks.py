"""Callbacks for :class:`torch_side.learn.learner.Learner`; each one writes only the events it needs.

Lower ``order`` runs first: device placement before metrics, metrics before the progress bar
that prints them, the learning-rate finder before the NaN guard (so it can stop quietly).
Schedules and the recorder: `torch_side.learn.record`; captured predictions and TTA:
`torch_side.learn.preds`; the learning-rate finder: `torch_side.learn.lr_find`.
"""
import sys
import time

import torch

from torch_side.learn.learner import Callback, NonFiniteLossError

__all__ = ["accuracy", "DeviceCB", "MixedPrecisionCB", "MetricsCB", "ProgressCB", "NaNGuardCB",
           "BatchTransformCB", "HasLearnCB"]


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

