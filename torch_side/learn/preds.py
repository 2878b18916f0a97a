"""Test-time augmentation and ensembles: both are averages of captured predictions.

course22p2 nb 14 captures the validation predictions with ``CapturePreds``, once plain and
once on flipped images (or once per learner), and averages them before the arg-max.
"""
import torch

from torch_side.callbacks import accuracy, capture_preds
from torch_side.learner import Callback

__all__ = ["FlipCB", "average_preds", "tta_preds", "ensemble_preds", "accuracy_of"]


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
