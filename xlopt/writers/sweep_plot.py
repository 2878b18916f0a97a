"""A sweep as a PNG (matplotlib): the heat map of log10 final rmse that the workbook's sheet shows
(a function problem's loss: log10 where its contours are log-spaced, else the loss itself).

First parameter down, second across; diverged cells grey with the epoch they diverged at; the best
setting outlined. One parameter: a line chart of final rmse. Three or more: one panel per value of
the extra parameters.
"""
import itertools

import numpy as np

from xlopt.core import problems
from xlopt.core.atomic import replacing
from xlopt.core.errors import BadInput


def panels(r):
    """[(title, index array of shape (rows, cols) into the configurations)] for the heat maps."""
    shape = r.shape()
    idx = np.arange(r.n).reshape(shape)
    if len(shape) == 1:
        return [("", idx.reshape(-1, 1))]
    if len(shape) == 2:
        return [("", idx)]
    out = []
    extra = r.axes[2:]
    for combo in itertools.product(*(range(a.count) for a in extra)):
        title = ", ".join(f"{a.name} = {r.grid[a.name][k]:.4g}" for a, k in zip(extra, combo))
        out.append((title, idx[(slice(None), slice(None)) + combo]))
    return out


def _labels(values):
    return [f"{v:.3g}" for v in values]


def write(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = r.best()
    try:
        with replacing(path, keep_suffix=True) as tmp:
            if len(r.axes) == 1:
                fig = _line(plt, r, best)
            else:
                fig = _heat(plt, r, best)
            fig.savefig(tmp, dpi=110, format="png")
            plt.close(fig)
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _log(r):
    """Whether the loss is drawn on a log scale: the lesson's rmse and a function with log-spaced contours."""
    return problems.get(r.problem).log_scale


def _title(r):
    on = f"problem {r.problem}" if r.function else f"data {r.data_name}"
    return (f"{r.sheet}: {'log10 ' if _log(r) else ''}final {r.loss_name} after {r.epochs} epochs ({r.carry} "
            f"carry, {on}); grey: diverged (epoch)")


def _line(plt, r, best):
    a = r.axes[0]
    x = np.asarray(r.grid[a.name])
    y = r.final["rmse"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, y, "o-", ms=3, label=f"final {r.loss_name}")
    div = r.div_epoch >= 0
    if div.any():
        top = np.nanmax(y) if np.isfinite(y).any() else 1.0
        ax.plot(x[div], np.full(div.sum(), top), "x", color="red", label="diverged")
    if best is not None:
        ax.plot([x[best]], [y[best]], "*", ms=14, color="gold", mec="black", label="best")
    if _log(r):
        ax.set_yscale("log")
    if a.spacing == "log":
        ax.set_xscale("log")
    ax.set_xlabel(a.name)
    ax.set_ylabel(f"final {r.loss_name}")
    ax.set_title(f"{r.sheet}: final {r.loss_name} after {r.epochs} epochs ({r.carry} carry)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _heat(plt, r, best):
    rows_a, cols_a = r.axes[0], r.axes[1]
    ps = panels(r)
    ncol = min(3, len(ps))
    nrow = (len(ps) + ncol - 1) // ncol
    fig, axs = plt.subplots(nrow, ncol, figsize=(5.6 * ncol + 0.8, 4.6 * nrow + 0.6), squeeze=False)
    z_all = np.log10(r.final["rmse"]) if _log(r) else r.final["rmse"]
    finite = z_all[np.isfinite(z_all)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    cmap = plt.get_cmap("RdYlGn_r").with_extremes(bad="#9e9e9e")
    im = None
    for k, (title, idx) in enumerate(ps):
        ax = axs[k // ncol][k % ncol]
        z = np.ma.masked_invalid(z_all[idx])
        im = ax.imshow(z, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        nr, nc = idx.shape
        if nr * nc <= 900:
            for i in range(nr):
                for j in range(nc):
                    d = r.div_epoch[idx[i, j]]
                    if d >= 0:
                        ax.text(j, i, str(d), ha="center", va="center", fontsize=6 if nr * nc > 200 else 8,
                                color="white")
        if best is not None and best in idx:
            i, j = np.argwhere(idx == best)[0]
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=2.5))
        step_r, step_c = max(1, nr // 12), max(1, nc // 12)
        ax.set_yticks(range(0, nr, step_r), _labels(r.grid[rows_a.name][::step_r]), fontsize=7)
        ax.set_xticks(range(0, nc, step_c), _labels(r.grid[cols_a.name][::step_c]), fontsize=7, rotation=45)
        ax.set_ylabel(rows_a.name)
        ax.set_xlabel(cols_a.name)
        if title:
            ax.set_title(title, fontsize=9)
    for k in range(len(ps), nrow * ncol):
        axs[k // ncol][k % ncol].axis("off")
    fig.colorbar(im, ax=axs, shrink=0.8, label=f"{'log10 ' if _log(r) else ''}final {r.loss_name}")
    fig.suptitle(_title(r), fontsize=10)
    return fig
