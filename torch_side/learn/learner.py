"""The miniai Learner: a short training loop whose every stage is a callback event.

Why this shape (course22p2 ``miniai/learner.py``): the loop itself stays on one screen and
everything optional (devices, metrics, schedules, progress bars, checkpoints) is a small
callback that implements only the 1-3 events it needs.  Control flow uses exceptions, so a
callback can cancel a batch, an epoch or the whole fit by raising. The lesson's tools are patched
on as methods by their own modules (``lr_find`` by `torch_side.learn.lr_find`, ``summary`` by
`torch_side.learn.summary`; importing `torch_side.learn` loads both), so this module imports none.
"""
from operator import attrgetter

import torch
import torch.nn.functional as F

from torch_side.errors import DivergedError

__all__ = [
    "CancelFitException", "CancelEpochException", "CancelBatchException",
    "NonFiniteLossError", "Callback", "run_cbs", "Learner", "TrainLearner", "MomentumLearner",
]


class CancelFitException(Exception):
    """Raised by a callback to end ``fit`` cleanly (after_fit still runs)."""


class CancelEpochException(Exception):
    """Raised by a callback to skip the rest of the current epoch."""


class CancelBatchException(Exception):
    """Raised by a callback to skip the rest of the current batch."""


class NonFiniteLossError(DivergedError):
    """The loss became NaN or infinite; the message names the epoch and batch (exit 3)."""


class Callback:
    """A callback is only an ``order``; hooks are looked up by name when they exist."""
    order = 0


def run_cbs(cbs, method_nm, learn=None):
    """Call ``method_nm`` on every callback that defines it, lowest ``order`` first."""
    for cb in sorted(cbs, key=attrgetter("order")):
        method = getattr(cb, method_nm, None)
        if method is not None:
            method(learn)


class _with_cbs:
    """Wrap a loop stage in before_/after_/cleanup_ events and its Cancel exception."""

    def __init__(self, nm, exc):
        self.nm, self.exc = nm, exc

    def __call__(self, f):
        def _f(o, *args, **kwargs):
            try:
                o.callback(f"before_{self.nm}")
                f(o, *args, **kwargs)
                o.callback(f"after_{self.nm}")
            except self.exc:
                pass
            finally:
                o.callback(f"cleanup_{self.nm}")
        return _f


class Learner:
    """Holds the shared training state (model, opt, batch, preds, loss, epoch, iter...).

    The default step is the plain supervised one (predict, loss, backward, step, zero_grad);
    callbacks may replace any of it through the after_predict/after_loss/after_backward/
    after_step events or by overriding the methods in a subclass.
    """

    def __init__(self, model, dls, loss_func=F.cross_entropy, lr=0.1, cbs=None,
                 opt_func=torch.optim.SGD):
        self.model, self.dls, self.loss_func = model, dls, loss_func
        self.lr, self.opt_func = lr, opt_func
        self.cbs = list(cbs or [])
        self.opt = None
        self.epoch, self.iter, self.n_epochs = 0, 0, 0
        self.training = False

    # -- the loop -------------------------------------------------------------------------
    @_with_cbs("batch", CancelBatchException)
    def _one_batch(self):
        self.predict()
        self.callback("after_predict")
        self.get_loss()
        self.callback("after_loss")
        if self.training:
            self.backward()
            self.callback("after_backward")
            self.step()
            self.callback("after_step")
            self.zero_grad()

    @_with_cbs("epoch", CancelEpochException)
    def _one_epoch(self):
        for self.iter, self.batch in enumerate(self.dl):  # noqa: B020 (miniai: the loop variables live on the learner)
            self._one_batch()

    def one_epoch(self, training):
        self.model.train(training)
        self.training = training
        self.dl = self.dls.train if training else self.dls.valid
        self._one_epoch()

    @_with_cbs("fit", CancelFitException)
    def _fit(self, train, valid):
        for self.epoch in self.epochs:  # noqa: B020 (as miniai)
            if train:
                self.one_epoch(True)
            if valid:
                with torch.no_grad():
                    self.one_epoch(False)

    def fit(self, n_epochs=1, train=True, valid=True, cbs=None, lr=None):
        """Train for ``n_epochs``; ``cbs`` are attached for this call only."""
        cbs = list(cbs or [])
        self.cbs.extend(cbs)
        try:
            self.n_epochs = n_epochs
            self.do_train, self.do_valid = train, valid
            self.epochs = range(n_epochs)  # a callback (resume) may shorten this in before_fit
            if lr is None:
                lr = self.lr
            if self.opt_func is not None:
                self.opt = self.opt_func(self.model.parameters(), lr)
            self._fit(train, valid)
        finally:
            for cb in cbs:
                self.cbs.remove(cb)

    # -- the default supervised step --------------------------------------------------------
    def predict(self):
        self.preds = self.model(self.batch[0])

    def get_loss(self):
        self.loss = self.loss_func(self.preds, self.batch[1])

    def backward(self):
        self.loss.backward()

    def step(self):
        self.opt.step()

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def callback(self, method_nm):
        run_cbs(self.cbs, method_nm, self)


class TrainLearner(Learner):
    """nb 12's ``TrainLearner``: the supervised step as five overridable methods
    (``predict``, ``get_loss``, ``backward``, ``step``, ``zero_grad``).

    :class:`Learner`'s default step already is this one, so nothing is overridden; the name
    exists so that code written against the lesson's runs unchanged.
    """


class MomentumLearner(TrainLearner):
    """nb 12's ``MomentumLearner``: instead of zeroing, keep ``mom`` x the old gradients, so
    the optimizer (plain SGD) steps along an exponentially weighted sum of gradients."""

    def __init__(self, model, dls, loss_func=F.cross_entropy, lr=0.1, cbs=None,
                 opt_func=torch.optim.SGD, mom=0.85):
        self.mom = mom
        super().__init__(model, dls, loss_func, lr, cbs, opt_func)

    def zero_grad(self):
        with torch.no_grad():
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad *= self.mom
