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

from torch_side.errors import UsageError
from torch_side.learn.callbacks import HasLearnCB
from torch_side.learn.learner import CancelFitException, Callback
from torch_side.fashion.models import GeneralRelu

__all__ = ["ActivationStats", "show_batch", "sched_values", "sched_plot", "BatchGrabCB", "layer_label"]

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
        self.means, self.stds, self.hists, self.names, self.labels = [], [], [], [], []

    def before_fit(self, learn):
        super().before_fit(learn)
        mods = [(n, m) for n, m in learn.model.named_modules() if self.select(m)]
        if not mods:
            raise UsageError("ActivationStats found no layer to watch (no GeneralRelu in the model)")
        self.names = [n for n, _ in mods]
        self.labels = [layer_label(learn.model, n) for n in self.names]
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

    def _label(self, i):
        return (self.labels[i] if i < len(self.labels) else self.names[i]) or f"layer {i + 1}"

    def color_dim(self, path=None):
        """The lesson's "colourful dimension": log(1 + histogram), one column per batch."""
        fig, axs = self._grid(len(self.hists))
        for i, ax in enumerate(axs):
            m = self.hist_matrix(i).log1p().numpy()
            ax.imshow(m, origin="lower", aspect="auto",
                      extent=(0.5, m.shape[1] + 0.5, 0, HIST_MAX))
            ax.set_title(self._label(i), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("training batch", fontsize=7)
            ax.set_ylabel("|activation|", fontsize=7)
        fig.suptitle("how many activations have each size, batch by batch (bright: many; log "
                     "scale). Healthy: spread up the y axis, not piled at 0", fontsize=9)
        fig.tight_layout()
        return _save(fig, path)

    def dead_chart(self, path=None):
        """Fraction of near-zero activations per batch, one panel per layer."""
        fig, axs = self._grid(len(self.hists))
        for i, (ax, d) in enumerate(zip(axs, self.dead_fractions())):
            ax.plot(range(1, len(d) + 1), d.numpy())
            ax.set_ylim(0, 1)
            ax.set_title(self._label(i), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("training batch", fontsize=7)
            ax.set_ylabel("share", fontsize=7)
        fig.suptitle(f"share of activations with |x| < {HIST_MAX / N_BINS:g} ('dead')", fontsize=9)
        fig.tight_layout()
        return _save(fig, path)

    def plot_stats(self, path=None):
        """Means and stds of each layer per batch, as the lesson's ``plot_stats``: a distinct
        colour per layer (and a line style per group of ten), the legend beside the axes."""
        import matplotlib.pyplot as plt
        fig, axs = plt.subplots(1, 2, figsize=(12, 3.8))
        st = self.stats()
        n = len(st["layers"])
        cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
        for i, (m, s) in enumerate(zip(st["means"], st["stds"])):
            kw = dict(color=cmap(i % cmap.N), ls=("-", "--", ":")[i // cmap.N % 3], lw=1.1,
                      label=self._label(i))
            axs[0].plot(range(1, len(m) + 1), m, **kw)
            axs[1].plot(range(1, len(s) + 1), s, **kw)
        axs[0].set(title="mean of each layer's activations", xlabel="training batch", ylabel="mean")
        axs[1].set(title="standard deviation", xlabel="training batch", ylabel="std")
        axs[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                      title="layer", title_fontsize=7)
        fig.tight_layout()
        return _save(fig, path)


def layer_label(model, name):
    """A newcomer's name for the module at ``name``: 'ResBlock 2: conv 1', 'layer 3 (conv)'."""
    parts = name.split(".")
    if parts and parts[0] == "_orig_mod":  # torch.compile's wrapper
        parts = parts[1:]
        model = getattr(model, "_orig_mod", model)
    if not parts or not parts[0].isdigit():
        return name
    try:
        top = model.get_submodule(parts[0])
    except AttributeError:
        return name
    k, kind = int(parts[0]) + 1, type(top).__name__
    if kind == "ResBlock":
        if parts[1:2] == ["convs"] and len(parts) > 2 and parts[2].isdigit():
            return f"ResBlock {k}: conv {int(parts[2]) + 1}"
        if parts[1:] == ["act"]:
            return f"ResBlock {k}: output"
        return f"ResBlock {k}: {'.'.join(parts[1:])}"
    return f"layer {k} ({'conv' if kind == 'Sequential' else kind})"


class BatchGrabCB(Callback):
    """Keep the first training batch as the model would receive it, then stop the fit."""
    order = 40  # after DeviceCB and BatchTransformCB have done their before_batch

    def before_batch(self, learn):
        if learn.training:
            self.batch = tuple(t.detach().float().cpu() if t.is_floating_point() else
                               t.detach().cpu() for t in learn.batch)
            raise CancelFitException()


def show_batch(learn, n=16, path=None, labels=None, title=None):
    """Grid of ``n`` images of one training batch as the model sees them (augmented,
    normalised); ``labels`` maps class ids to names; ``title`` (e.g. the augmentation) above.
    The model's weights are untouched: the fit stops before the forward pass."""
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
    if title:
        fig.suptitle(title, fontsize=8)
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
