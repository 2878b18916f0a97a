"""Schedules stepped by callbacks (miniai's ``BaseSchedCB``: a scheduler *factory* built against
``learn.opt`` when the fit starts) and the recorder of per-batch values."""
from torch_side.learn.learner import Callback

__all__ = ["BaseSchedCB", "BatchSchedCB", "EpochSchedCB", "RecorderCB"]


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

