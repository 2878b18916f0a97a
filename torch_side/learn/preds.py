"""Captured predictions, and test-time augmentation and ensembles: both are averages of them.

course22p2 nb 14 captures the validation predictions with ``CapturePreds``, once plain and
once on flipped images (or once per learner), and averages them before the arg-max.
"""
import torch

from torch_side.learn.callbacks import accuracy
from torch_side.learn.learner import CancelFitException, Callback

__all__ = ["SingleBatchCB", "CapturePreds", "capture_preds", "FlipCB", "average_preds", "tta_preds",
           "ensemble_preds", "accuracy_of"]


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


class FlipCB(Callback):
    """Mirror every batch's images left-right (used for the TTA pass)."""
    order = 0

    def before_batch(self, learn):
        xb, *rest = learn.batch
        learn.batch = (xb.flip(-1), *rest)


def average_preds(preds, softmax=True):
    """Mean of several (N, C) prediction tensors, as probabilities when ``softmax``."""
    stack = torch.stack([p.float() for p in preds])
    if softmax:
        stack = stack.softmax(dim=-1)
    return stack.mean(0)


def tta_preds(learn, cbs=None, softmax=True):
    """``(averaged preds, targets)`` over the plain and the flipped validation set."""
    p1, t1 = capture_preds(learn, cbs=cbs)
    p2, t2 = capture_preds(learn, cbs=[FlipCB()] + list(cbs or []))
    assert torch.equal(t1, t2), "validation loader must not shuffle for TTA"
    return average_preds([p1, p2], softmax=softmax), t1


def ensemble_preds(learners, tta=False, cbs=None, softmax=True):
    """``(averaged preds, targets)`` of several learners on the same validation set."""
    preds, targs = [], None
    for learn in learners:
        p, t = tta_preds(learn, cbs, softmax) if tta else capture_preds(learn, cbs=cbs)
        if targs is not None and not torch.equal(t, targs):
            raise ValueError("learners were validated on different data")
        preds.append(p)
        targs = t
    return average_preds(preds, softmax=False if tta else softmax), targs


def accuracy_of(preds, targs):
    return float(accuracy(preds, targs))
