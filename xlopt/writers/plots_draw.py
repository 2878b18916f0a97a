"""`xlopt plot`'s still pictures (matplotlib): the loss surface with the paths, rmse per epoch, the fits.

Every number comes from `plots.trace` (the engine's passes) and `plots.Surface` (the data's sums).
"""
import numpy as np

from xlopt.core import sheets
from xlopt.writers import plots

FIGSIZE = (13.6, 7.2)  # inches; at DPI, 1360 × 720 px: whole on a 1366 × 768 screen
DPI = 100
GRID = 300  # contour grid points a side
GREY = "#9a9a9a"  # the contours and the valley's floor


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def settings(paths):
    """The run in words, for a title: epochs, carry, lr."""
    p = paths[0]
    lr = "each sheet's own lr" if len({q.lr for q in paths}) > 1 else f"lr {p.lr:.3g}"
    return f"{p.epochs} epochs of Run from Reset, {p.carry} carry, {lr}"


def clipped(v, b, a, reach=3.0):
    """The path as drawn: points within `reach` view-widths of the view as they are; where it leaves
    that box the segment is cut at the box's edge and the line breaks (nan) until it comes back, so
    a path that ran off to 1e300 draws as a line leaving the panel in the direction it went."""
    b, a = np.asarray(b, float), np.asarray(a, float)
    wb, wa = v.b[1] - v.b[0], v.a[1] - v.a[0]
    lo = np.array([v.b[0] - reach * wb, v.a[0] - reach * wa])
    hi = np.array([v.b[1] + reach * wb, v.a[1] + reach * wa])
    pts = np.column_stack([b, a])
    inside = np.all((pts >= lo) & (pts <= hi), axis=1)
    if inside.all():
        return b, a

    def edge(p, q):  # from p (inside) toward q (outside): where the segment meets the box
        d = q - p
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.nanmin(np.where(d > 0, (hi - p) / d, np.where(d < 0, (lo - p) / d, np.inf)))
        return p + min(max(t, 0.0), 1.0) * d if np.isfinite(t) else p

    out = []
    for i, ok in enumerate(inside):
        if ok:
            if i and not inside[i - 1]:
                out.append(edge(pts[i], pts[i - 1]))
            out.append(pts[i])
        elif i and inside[i - 1]:
            out += [edge(pts[i - 1], pts[i]), (np.nan, np.nan)]
    got = np.array(out, float).reshape(-1, 2)
    return got[:, 0], got[:, 1]


def contours(ax, surface, v, n=GRID, labels=True):
    """rmse = √Σerr² over the view as grey contour lines at 1, 2, 5 × 10^k, labelled; the valley floor."""
    bb, aa = np.meshgrid(np.linspace(*v.b, n), np.linspace(*v.a, n))
    r = surface.rmse(bb, aa)
    lv = plots.levels(float(r.min()), float(r.max()))
    cs = ax.contour(bb, aa, r, levels=lv, colors=GREY, linewidths=0.8, zorder=1)
    if labels and lv:
        ax.clabel(cs, fontsize=8, fmt=lambda x: f"{x:g}", inline_spacing=2)
    fb = np.linspace(*v.b, 50)
    ax.plot(fb, surface.valley_a(fb), color=GREY, lw=1, ls=(0, (1, 3)), zorder=1)
    ax.set_xlim(*v.b)
    ax.set_ylim(*v.a)
    return cs


def landmarks(ax, surface, start):
    ax.plot(*start, "o", ms=9, mfc="white", mec="black", mew=1.8, zorder=6)
    ax.plot(surface.b_min, surface.a_min, "*", ms=16, mfc="gold", mec="black", zorder=6)


MAX_MARKERS = 50  # epoch-end markers a path shows at most (every k-th epoch beyond that)


def marker_every(paths):
    n = max((len(p.ends) for p in paths), default=0)
    return max(1, -(-n // MAX_MARKERS))


def draw_path(ax, p, v, lw=1.1, alpha=0.85, ends=True, every=1):
    colour, ls, marker = plots.style(p.sheet)
    if not len(p.b):
        return
    b, a = clipped(v, p.b, p.a)
    ax.plot(b, a, color=colour, ls=ls, lw=lw, alpha=alpha, zorder=3)
    if ends:
        e = np.asarray(p.ends[every - 1::every], float).reshape(-1, 2)
        if len(e):
            e = e[v.inside(e[:, 0], e[:, 1])]
            ax.plot(e[:, 0], e[:, 1], ls="none", marker=marker, ms=6, mfc=colour, mec="black", mew=0.6, zorder=4)
    if p.diverged is not None:
        ax.plot(p.b[-1], p.a[-1], "x", color="red", ms=11, mew=2.5, zorder=5)


def legend_handles(paths, v=None, with_landmarks=True, surface=None, result=True):
    from matplotlib.lines import Line2D
    hs = []
    for p in paths:
        colour, ls, marker = plots.style(p.sheet)
        hs.append(Line2D([], [], color=colour, ls=ls, lw=2, marker=marker, mfc=colour, mec="black", mew=0.6,
                         ms=6, label=plots.label(p, v, result)))
    if with_landmarks:
        hs.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="white", mec="black", mew=1.8,
                         label=f"start: Reset's (b, a) = ({paths[0].b[0]:g}, {paths[0].a[0]:g})"
                         if len(paths[0].b) else "start: Reset's (b, a)"))
        hs.append(Line2D([], [], ls="none", marker="*", ms=14, mfc="gold", mec="black",
                         label=f"least squares (b*, a*) = ({surface.b_min:.4g}, {surface.a_min:.4g})"))
        hs.append(Line2D([], [], color=GREY, lw=1, label="rmse = √Σerr² contours (1, 2, 5 × 10^k)"))
        hs.append(Line2D([], [], color=GREY, lw=1, ls=(0, (1, 3)), label="valley floor: best a for each b"))
        if any(p.diverged for p in paths):
            hs.append(Line2D([], [], ls="none", marker="x", color="red", ms=9, mew=2,
                             label="last finite point of a diverged run"))
    return hs


SURFACE_HINT = ("Look at: the valley is long along b and narrow along a (a row's ∂err²/∂a is x times its ∂err²/∂b). "
                "Steps of −lr·gradient (SGD, momentum)\nreach the floor within an epoch, then crawl along b; "
                "steps divided by the gradients' size (RMSProp, Adam) or by its sign (Lion) travel along it.")


def surface(paths, surface, path, fmt):
    """The contour map with every path (rows as lines, epoch ends as markers), and two zooms: near the
    start (b magnified: the crawl and online SGD's zig-zag) and near the minimum."""
    plt = pyplot()
    v = plots.view(paths, surface)
    start = (paths[0].b[0], paths[0].a[0]) if len(paths[0].b) else (1.0, 1.0)
    zooms = [("near the start", plots.zoom_start(start, surface, v)), ("near the minimum", plots.zoom(surface, v))]
    fig = plt.figure(figsize=FIGSIZE, dpi=DPI)
    gs = fig.add_gridspec(2, 2, width_ratios=[2.1, 1], left=0.05, right=0.985, top=0.83, bottom=0.19,
                          wspace=0.13, hspace=0.32)
    ax = fig.add_subplot(gs[:, 0])
    contours(ax, surface, v)
    every = marker_every(paths)
    for p in paths:
        draw_path(ax, p, v, every=every)
    landmarks(ax, surface, start)
    ax.set_xlabel("b: const, the intercept (units of y)")
    ax.set_ylabel("a: slope (units of y per unit of x)")
    ax.set_title("every row's step (lines) and " + ("each epoch's end (markers)" if every == 1 else
                 f"an epoch's end every {every} epochs (markers)"), fontsize=10)
    for k, (words, z) in enumerate(zooms):
        zx = fig.add_subplot(gs[k, 1])
        contours(zx, surface, z, n=200)
        for p in paths:
            draw_path(zx, p, z, lw=1.0, every=every)
        landmarks(zx, surface, start)
        zx.set_title(f"{words}: b {z.b[0]:.3g} to {z.b[1]:.3g}, a {z.a[0]:.3g} to {z.a[1]:.3g}", fontsize=9.5)
        zx.tick_params(labelsize=8)
    leg = fig.legend(handles=legend_handles(paths, v, surface=surface), loc="lower left",
                     bbox_to_anchor=(0.01, 0.01), ncol=4, fontsize=8.5, frameon=False, columnspacing=1.2)
    height = leg.get_window_extent(fig.canvas.get_renderer()).height  # pixels: labels may take two lines
    gs.update(bottom=(height + 0.6 * DPI) / (FIGSIZE[1] * DPI))  # room for the legend and the b axis's label
    clip = "\nPaths marked 'leaves the view' are cut at the panel's edge." if any(
        len(p.b) and not v.inside(p.b, p.a).all() for p in paths) else ""
    fig.suptitle(f"Loss of the data over (b, a) and each sheet's path: {settings(paths)}\n"
                 + SURFACE_HINT + clip, fontsize=10.5, x=0.01, ha="left")
    fig.savefig(path, format=fmt, dpi=DPI)
    plt.close(fig)


def compare(paths, path, fmt):
    """rmse per epoch (the sheets' own rmse cell, as `xlopt run` logs it) on a log axis."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12.8, 6.4), dpi=DPI)
    n = max((len(p.history) for p in paths), default=1)
    for p in paths:
        colour, ls, marker = plots.style(p.sheet)
        ep = np.array([h["epoch"] for h in p.history])
        r = np.array([h["rmse"] for h in p.history], float)
        ok = np.isfinite(r) & (r > 0)
        ax.plot(ep[ok], r[ok], color=colour, ls=ls, lw=1.8, marker=marker, ms=5, mec="black", mew=0.5,
                markevery=max(1, n // 25), label=plots.label(p) + (f": rmse {r[-1]:.3g} after epoch {ep[-1]}"
                                                                  if p.diverged is None else ""))
        if p.diverged is not None and ok.any():
            ax.plot(ep[ok][-1], r[ok][-1], "x", color="red", ms=11, mew=2.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch of Run (0 = right after Reset)")
    rows = max((int(p.row.max()) for p in paths if len(p.row)), default=0)
    ax.set_ylabel(f"rmse = √Σerr² over the {rows} rows of the pass (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    ax.set_title(f"rmse per epoch, every sheet: {settings(paths)}\n"
                 "Each line is the sheet's rmse cell after each epoch; a red x: the run stopped being finite there.",
                 fontsize=10.5, loc="left")
    fig.tight_layout()
    fig.savefig(path, format=fmt, dpi=DPI)
    plt.close(fig)


def fit(paths, data, surface, path, fmt):
    """The data, the true line (or the data's least-squares line) and each sheet's line after the run."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12.8, 6.4), dpi=DPI)
    x, y = np.asarray(data.x, float), np.asarray(data.y, float)
    xs = np.linspace(min(0.0, x.min()), x.max() * 1.04, 200)
    for p in paths:
        colour, ls, marker = plots.style(p.sheet)
        got = plots.final_numbers(p)
        if got is None:
            ax.plot([], [], color=colour, ls=ls, lw=1.8, label=plots.label(p) + " (no line)")
            continue
        b, a, _ = got
        ax.plot(xs, b + a * xs, color=colour, ls=ls, lw=1.8, label=f"{p.sheet}: y = {b:.4g} + {a:.4g}·x")
    true = np.isclose(surface.b_min, sheets.TRUE_B) and np.isclose(surface.a_min, sheets.TRUE_A) and surface.l_min == 0
    words = (f"true line y = {sheets.TRUE_B:g} + {sheets.TRUE_A:g}·x" if true else
             f"the data's least-squares line y = {surface.b_min:.4g} + {surface.a_min:.4g}·x")
    ax.plot(xs, surface.b_min + surface.a_min * xs, color="black", lw=3, alpha=0.35, label=words, zorder=2)
    ax.plot(x, y, "o", color="black", ms=5, label=f"the data ({len(x)} rows)", zorder=5)
    span = y.max() - y.min()
    ax.set_ylim(min(y.min(), 0) - 0.15 * span, y.max() + 0.25 * span)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    ax.set_title(f"The data and each sheet's line y = const + slope·x: {settings(paths)}\n"
                 f"Look at: lines that start far below {surface.b_min:.3g} at x = 0 and cross the data near its middle "
                 "are on the valley's floor: a too steep, making up for a b that still has to crawl.", fontsize=10.5,
                 loc="left")
    fig.tight_layout()
    fig.savefig(path, format=fmt, dpi=DPI)
    plt.close(fig)
