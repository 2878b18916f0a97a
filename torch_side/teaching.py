"""The lesson's tools for looking inside a network (course22p2 nbs 10, 11, 12, 14).

- :class:`ActivationStats`: forward hooks on the GeneralRelu layers recording, per training
  batch, each layer's mean, std and a 40-bin histogram of |activation| over [0, 10]; its
  ``color_dim`` is the lesson's "colourful dimension" plot (log histogram per batch) and
  ``dead_chart`` the fraction of activations in the lowest bin (near zero: "dead").
- :func:`show_batch`: one training batch exactly as the model receives it (after the device
  move and the learner's own augmentation callbacks), as a grid.
- :func:`sched_values` / :func:`sched_plot`: the lr and momentum a scheduler sets at each step,
  computed on a throw-away optimizer before any training.

Every function returns a matplotlib Figure (so a notebook shows it) and with ``path=`` also
writes a PNG.
"""
import math

import torch

from torch_side.callbacks import HasLearnCB
from torch_side.learner import CancelFitException, Callback
from torch_side.models import GeneralRelu

__all__ = ["ActivationStats", "show_batch", "sched_values", "sched_plot", "BatchGrabCB"]

N_BINS, HIST_MAX = 40, 10.  # the lesson's ``abs().histc(40, 0, 10)``


def _save(fig, path):
    if path is not None:
        import matplotlib.pyplot as plt
        fig.savefig(path)
        plt.close(fig)
    return fig


class ActivationStats(HasLearnCB):
    """Record mean, std and |x| histogram of every module ``select(module)`` picks.

    ``select`` defaults to the GeneralRelu layers, as the lesson's
    ``ActivationStats(fc.risinstance(GeneralRelu))``. Only training batches are recorded.
    """
    order = 50

    def __init__(self, select=lambda m: isinstance(m, GeneralRelu)):
        super().__init__()
        self.select, self.handles = select, []
        self.means, self.stds, self.hists, self.names = [], [], [], []

    def before_fit(self, learn):
        super().before_fit(learn)
        mods = [(n, m) for n, m in learn.model.named_modules() if self.select(m)]
        if not mods:
            raise ValueError("ActivationStats found no layer to watch (no GeneralRelu in the model)")
        self.names = [n for n, _ in mods]
        self.means, self.stds, self.hists = ([[] for _ in mods] for _ in range(3))
        self.handles = [m.register_forward_hook(self._hook(i)) for i, (_, m) in enumerate(mods)]

    def _hook(self, i):
        def hook(mod, inp, outp):
            if not mod.training:
                return
            a = outp.detach().float()
            self.means[i].append(a.mean())
            self.stds[i].append(a.std())
            self.hists[i].append(a.abs().histc(N_BINS, 0, HIST_MAX).cpu())
        return hook

    def cleanup_fit(self, learn):
        for h in self.handles:
            h.remove()
        self.handles = []

    # -- results ------------------------------------------------------------------------
    def stats(self):
        """``{'means': [[...] per layer], 'stds': ..., 'dead': ...}`` as floats per batch."""
        return {"layers": self.names,
                "means": [[float(v) for v in m] for m in self.means],
                "stds": [[float(v) for v in s] for s in self.stds],
                "dead": [[float(v) for v in d] for d in self.dead_fractions()]}

    def hist_matrix(self, i):
        """(bins, batches) histogram of layer ``i``: the image the colour-dim plot shows."""
        return torch.stack(self.hists[i]).t().float()

    def dead_fractions(self):
        """Per layer and batch: share of activations in the lowest bin (|x| < 0.25)."""
        out = []
        for h in self.hists:
            if not h:
                out.append(torch.empty(0))
                continue
            m = torch.stack(h).float()
            out.append(m[:, 0] / m.sum(1).clamp_min(1))
        return out

    def _grid(self, n, figsize=(11, 5)):
        import matplotlib.pyplot as plt
        cols = min(4, n)
        rows = math.ceil(n / cols)
        fig, axs = plt.subplots(rows, cols, figsize=(figsize[0], 2.2 * rows), squeeze=False)
        for ax in axs.flat[n:]:
            ax.set_axis_off()
        return fig, list(axs.flat)[:n]

    def color_dim(self, path=None):
        """The lesson's "colourful dimension": log(1 + histogram), one column per batch."""
        fig, axs = self._grid(len(self.hists))
        for i, ax in enumerate(axs):
            ax.imshow(self.hist_matrix(i).log1p().numpy(), origin="lower", aspect="auto")
            ax.set_title(self.names[i] or f"layer {i}", fontsize=8)
            ax.set_axis_off()
        fig.suptitle("|activation| histogram per batch (log scale)")
        fig.tight_layout()
        return _save(fig, path)

    def dead_chart(self, path=None):
        """Fraction of near-zero activations per batch, one panel per layer."""
        fig, axs = self._grid(len(self.hists))
        for i, (ax, d) in enumerate(zip(axs, self.dead_fractions())):
            ax.plot(d.numpy())
            ax.set_ylim(0, 1)
            ax.set_title(self.names[i] or f"layer {i}", fontsize=8)
        fig.suptitle("share of activations with |x| < 0.25 ('dead')")
        fig.tight_layout()
        return _save(fig, path)

    def plot_stats(self, path=None):
        """Means and stds of each layer per batch, as the lesson's ``plot_stats``."""
        import matplotlib.pyplot as plt
        fig, axs = plt.subplots(1, 2, figsize=(10, 3.5))
        st = self.stats()
        for name, m, s in zip(st["layers"], st["means"], st["stds"]):
            axs[0].plot(m, label=name)
            axs[1].plot(s, label=name)
        axs[0].set_title("means")
        axs[1].set_title("stds")
        axs[1].legend(fontsize=6)
        fig.tight_layout()
        return _save(fig, path)


class BatchGrabCB(Callback):
    """Keep the first training batch as the model would receive it, then stop the fit."""
    order = 40  # after DeviceCB and BatchTransformCB have done their before_batch

    def before_batch(self, learn):
        if learn.training:
            self.batch = tuple(t.detach().float().cpu() if t.is_floating_point() else
                               t.detach().cpu() for t in learn.batch)
            raise CancelFitException()


def show_batch(learn, n=16, path=None, labels=None):
    """Grid of ``n`` images of one training batch as the model sees them (augmented,
    normalised); ``labels`` maps class ids to names. The model's weights are untouched:
    the fit stops before the forward pass."""
    import matplotlib.pyplot as plt
    grab = BatchGrabCB()
    learn.fit(1, valid=False, cbs=[grab])
    xb, yb = grab.batch[:2]
    n = min(n, len(xb))
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axs = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.45 * rows), squeeze=False)
    for k, ax in enumerate(axs.flat):
        ax.set_axis_off()
        if k < n:
            ax.imshow(xb[k, 0].numpy(), cmap="gray")
            y = int(yb[k])
            ax.set_title(labels[y] if labels else str(y), fontsize=7)
    fig.tight_layout()
    fig.xb, fig.yb = xb[:n], yb[:n]  # what was drawn, for tests and notebooks
    return _save(fig, path)


def sched_values(sched_factory, opt_func, steps, lr=1e-2, step_every=1):
    """``{'lr': [...], 'mom': [...]}`` per step for ``sched_factory(opt)``, before training.

    ``opt_func(params, lr)`` builds the optimizer on one throw-away parameter; the scheduler
    is stepped every ``step_every`` steps (1 for batch schedules, the batches per epoch for
    epoch ones). ``mom`` is betas[0] or momentum, whichever the optimizer has.
    """
    opt = opt_func([torch.nn.Parameter(torch.zeros(1))], lr)
    sched = sched_factory(opt)
    pg = opt.param_groups[0]
    lrs, moms = [], []
    for i in range(steps):
        lrs.append(float(pg["lr"]))
        m = pg["betas"][0] if "betas" in pg else pg.get("momentum")
        moms.append(None if m is None else float(m))
        opt.step()  # nothing to step (no grad): keeps PyTorch's "step before sched" check quiet
        if (i + 1) % step_every == 0:
            sched.step()
    return {"lr": lrs, "mom": moms}


def sched_plot(values, path=None, title=""):
    """Two panels, lr and momentum per step, from :func:`sched_values`."""
    import matplotlib.pyplot as plt
    has_mom = any(m is not None for m in values["mom"])
    fig, axs = plt.subplots(1, 2 if has_mom else 1, figsize=(9 if has_mom else 4.5, 3),
                            squeeze=False)
    axs[0][0].plot(values["lr"])
    axs[0][0].set(title="learning rate", xlabel="step")
    if has_mom:
        axs[0][1].plot(values["mom"])
        axs[0][1].set(title="momentum (beta1)", xlabel="step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
