"""A function problem's picture (matplotlib): the true contours of f over the problem's window, every
sheet's path step by step, the start and the true minima. `xlopt plot surface --problem P` and
`xlopt gallery` draw it; every point of a path is the engine's (`plots.trace`).
"""
import math

import numpy as np

from xlopt.core import gallery
from xlopt.writers import plots, plots_draw
from xlopt.writers.plots_draw import DPI, FIGSIZE, GREY

GRID = 400       # points a side where f is evaluated for the contours
LINEAR_LEVELS = 24
MAX_MARKERS = 12  # epoch-end markers a path shows at most (every k-th epoch beyond that)


def window(problem):
    x0, x1, y0, y1 = problem.window
    return plots.View((x0, x1), (y0, y1))


def values(problem, v, n=GRID):
    """(X, Y, f(X, Y)) over the view: the problem's own f, element by element."""
    xx, yy = np.meshgrid(np.linspace(*v.b, n), np.linspace(*v.a, n))
    with np.errstate(all="ignore"):
        zz = np.asarray(problem.loss(xx, yy, None, None), dtype=float)
    return xx, yy, zz


def levels(problem, z):
    """Log levels 1, 2, 5 × 10^k where the problem says its valleys need them, else evenly spaced."""
    ok = z[np.isfinite(z)]
    lo, hi = float(ok.min()), float(ok.max())
    if problem.log_scale and hi > 0:
        return plots.levels(max(lo, 0.0), hi), True
    return list(np.linspace(lo, hi, LINEAR_LEVELS + 2)[1:-1]), False


def contours(ax, problem, v):
    import matplotlib.colors as mcolors
    xx, yy, zz = values(problem, v)
    lv, log = levels(problem, zz)
    if len(lv) >= 2:
        norm = mcolors.LogNorm(lv[0], lv[-1]) if log else None
        ax.contourf(xx, yy, np.clip(zz, lv[0], None) if log else zz, levels=lv, cmap="Greys", norm=norm,
                    alpha=0.28, extend="both", zorder=0)
        cs = ax.contour(xx, yy, zz, levels=lv, colors=GREY, linewidths=0.7, zorder=1)
        if log:
            ax.clabel(cs, fontsize=7.5, fmt=lambda x: f"{x:g}", inline_spacing=2)
    ax.set_xlim(*v.b)
    ax.set_ylim(*v.a)
    return log


def label(p, problem, v, note=""):
    """sheet (lr): final loss and distance to the nearest minimum; diverged; leaves the view."""
    last = p.history[-1]["lr"] if p.history else p.lr
    s = f"{p.sheet} (lr {p.lr:.3g}" + (f" → {last:.3g}" if math.isfinite(last) and last != p.lr else "") + ")"
    if p.diverged is not None:
        s += f": diverged at epoch {p.diverged[0]}, step {p.diverged[1]}"
    elif len(p.history) > 1:
        h = p.history[-1]
        s += f": loss {h['rmse']:.3g}, {gallery.distance(problem, h['const'], h['slope']):.2g} from a minimum"
    if len(p.b) and not v.inside(p.b, p.a).all():
        s += " (leaves the view)"
    return s + (f"\n    {note}" if note else "")


def draw(paths, problem, out, fmt, title, caption="", notes=None):
    """The picture: contours, paths (steps as lines, epoch ends as markers), start, minima, legend.

    notes: sheet -> a line the legend adds under its entry (the gallery's own lr and its result)."""
    from matplotlib.lines import Line2D
    plt = plots_draw.pyplot()
    v = window(problem)
    fig = plt.figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.add_axes([0.05, 0.12 if caption else 0.08, 0.52, 0.74 if caption else 0.78])
    log = contours(ax, problem, v)
    n = max((len(p.ends) for p in paths), default=0)
    every = max(1, -(-n // MAX_MARKERS))
    for p in paths:
        plots_draw.draw_path(ax, p, v, lw=1.3, alpha=0.9, every=every)
    start = problem.start
    ax.plot(*start, "o", ms=10, mfc="white", mec="black", mew=1.8, zorder=6)
    for b, a in problem.minima:
        ax.plot(b, a, "*", ms=18, mfc="gold", mec="black", zorder=6)
    x_name, y_name = problem.params
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    notes = notes or {}
    hs = []
    for p in paths:
        colour, ls, marker = plots.style(p.sheet)
        hs.append(Line2D([], [], color=colour, ls=ls, lw=2, marker=marker, mfc=colour, mec="black", mew=0.6,
                         ms=6, label=label(p, problem, v, notes.get(p.sheet, ""))))
    hs.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="white", mec="black", mew=1.8,
                     label=f"start ({start[0]:g}, {start[1]:g}): Reset's"))
    mins = ", ".join(f"({b:g}, {a:g})" for b, a in problem.minima)
    hs.append(Line2D([], [], ls="none", marker="*", ms=14, mfc="gold", mec="black",
                     label=f"true minim{'a' if len(problem.minima) > 1 else 'um'} {mins}: f = {gallery.f_min(problem):g}"))
    hs.append(Line2D([], [], color=GREY, lw=1, label="contours of f" + (" (1, 2, 5 × 10^k)" if log else
                                                                        " (evenly spaced)")))
    ends = "each epoch's end" if every == 1 else f"an epoch's end every {every} epochs"
    hs.append(Line2D([], [], color="none", label=f"every step (lines) and {ends} (markers)"))
    fig.legend(handles=hs, loc="upper left", bbox_to_anchor=(0.59, 0.87 if caption else 0.88), fontsize=9,
               frameon=False, handlelength=3)
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    if caption:
        fig.text(0.01, 0.012, caption, fontsize=10, ha="left", va="bottom", style="italic",
                 bbox={"facecolor": "#fff8d0", "edgecolor": "#b0a060", "boxstyle": "round,pad=0.35"})
    fig.savefig(out, format=fmt, dpi=DPI)
    plt.close(fig)


def settings(paths):
    """The run in words, for a title: epochs, carry, lr."""
    return plots_draw.settings(paths)
