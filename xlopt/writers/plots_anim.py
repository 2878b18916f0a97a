"""`xlopt plot surface -o FILE.gif`: the paths drawn row by row on the loss contours, with arrows.

Each frame adds rows to every sheet's path and puts two arrows at its current point: the row's
−gradient (solid) and, where the sheet carries a momentum average (state keys m_b, m_a), −m
(dashed), the direction its step follows. Both show direction only, ARROW_PX pixels long: in
units of b and a the gradient is x times longer along a than along b (42 on average on the
lesson's data), so drawn to scale it would be a vertical line off the panel; its size is in the
readout beside. The first epoch is drawn one row a frame; later rows are subsampled to keep at
most MAX_FRAMES frames.
"""
import numpy as np

from xlopt.writers import plots, plots_draw

FIGSIZE = (12.8, 7.2)  # 1280 × 720 px at DPI
DPI = 100
MAX_FRAMES = 150  # a GIF of about 1-2 MB
FPS = 8
HOLD_MS = 3000  # the last frame stays this long before the loop starts again
ARROW_PX = 55


def _num(v):
    return f"{v:.3g}" if np.isfinite(v) else "-"


def schedule(total, first, max_frames=MAX_FRAMES):
    """How many points each frame draws: 1, 2, … `first` one row a frame, then evenly to `total`."""
    budget = max(2, max_frames)
    ks = list(range(1, min(first, total) + 1))[:budget // 2]
    rest = budget - len(ks)
    start = ks[-1] if ks else 0
    if total > start:
        ks += sorted(set(np.linspace(start, total, rest + 1).round().astype(int)[1:].tolist()))
    return ks


def palette(paths):
    """One palette for every frame, so unchanged pixels cost next to nothing: each colour drawn (the
    sheets', black, red, gold, the contours' grey) blended with white in steps (anti-aliased edges,
    lines drawn with alpha), and a grey ramp; under 255 colours, leaving one for transparency."""
    import matplotlib
    from PIL import Image
    bases = [plots.style(p.sheet)[0] for p in paths] + ["black", "red", "gold", plots_draw.GREY]
    rgb = []
    for c in bases:
        c = np.array(matplotlib.colors.to_rgb(c))
        rgb += [c + (1 - c) * t for t in (0.0, 0.15, 0.3, 0.5, 0.7, 0.85)]
    rgb += [np.full(3, t) for t in np.linspace(0, 1, 24)]
    colours = list(dict.fromkeys(tuple(int(round(255 * x)) for x in c) for c in rgb))[:254]
    img = Image.new("P", (1, 1))
    img.putpalette([v for c in colours for v in c])
    return img


def rows_per_epoch(paths):
    return max((int(p.row.max()) for p in paths if len(p.row)), default=1)


def frame_count(paths):
    return len(schedule(max(len(p.b) for p in paths), rows_per_epoch(paths) + 1))


def write(paths, surface, path, tick=None):
    """Draw the frames (the static picture once, the moving parts on top of it) and save the GIF;
    returns the number of frames drawn."""
    plt = plots_draw.pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch
    from PIL import Image

    v = plots.view(paths, surface)
    fig = plt.figure(figsize=FIGSIZE, dpi=DPI)
    gs = fig.add_gridspec(2, 2, width_ratios=[2.3, 1], height_ratios=[1.15, 1], left=0.06, right=0.99,
                          top=0.86, bottom=0.08, wspace=0.06, hspace=0.05)
    ax = fig.add_subplot(gs[:, 0])
    plots_draw.contours(ax, surface, v)
    start = (paths[0].b[0], paths[0].a[0]) if len(paths[0].b) else (1.0, 1.0)
    plots_draw.landmarks(ax, surface, start)
    ax.set_xlabel("b: const, the intercept (units of y)")
    ax.set_ylabel("a: slope (units of y per unit of x)")
    n_rows = rows_per_epoch(paths)
    total = max(len(p.b) for p in paths)
    ks = schedule(total, n_rows + 1)
    step = (total - n_rows) / max(1, len(ks) - n_rows)
    every = plots_draw.marker_every(paths)
    fig.suptitle(f"Each sheet's path of (b, a) on the loss contours, row by row: {plots_draw.settings(paths)}\n"
                 "Arrows at each current point, direction only: solid −gradient of the row, dashed −momentum "
                 "average m. The gradient points across the narrow\nvalley (along a: ∂/∂a = x·∂/∂b), so plain SGD "
                 "zig-zags in a and crawls along b; the Adams and RMSProp scale each step and travel the valley."
                 + (f"\nThe first epoch one row a frame, then one frame every ~{step:.0f} rows." if step > 1.5 else "")
                 + (f" Markers: an epoch's end every {every} epochs." if every > 1 else ""),
                 fontsize=9.5, x=0.01, ha="left")
    lx = fig.add_subplot(gs[0, 1])
    lx.axis("off")
    hs = plots_draw.legend_handles(paths, v, surface=surface, result=False)
    hs.insert(len(paths), Line2D([], [], color="black", lw=2, marker=">", ms=5, label="−gradient of the row (direction)"))
    hs.insert(len(paths) + 1, Line2D([], [], color="black", lw=1.5, ls="--", label="−momentum m (direction)"))
    lx.legend(handles=hs, loc="upper left", fontsize=8, frameon=False, borderaxespad=0)
    rx = fig.add_subplot(gs[1, 1])
    rx.axis("off")

    moving = []  # drawn on top of the static picture, every frame

    def add(artist):
        artist.set_animated(True)
        moving.append(artist)
        return artist

    clock = add(ax.text(0, 1.012, "", fontsize=10.5, transform=ax.transAxes, va="bottom"))
    readout = add(rx.text(0, 1, "", family="monospace", fontsize=7.5, va="top", ha="left", transform=rx.transAxes))
    lines, ends, grads, moms, crosses = [], [], [], [], []
    for p in paths:
        colour, ls, marker = plots.style(p.sheet)
        lines.append(add(ax.plot([], [], color=colour, ls=ls, lw=1.2, alpha=0.85, zorder=3)[0]))
        ends.append(add(ax.plot([], [], ls="none", marker=marker, ms=6, mfc=colour, mec="black", mew=0.6,
                                zorder=4)[0]))
        crosses.append(add(ax.plot([], [], "x", color="red", ms=11, mew=2.5, zorder=5)[0]))
        grads.append(add(ax.add_patch(FancyArrowPatch((0, 0), (0, 0), arrowstyle="-|>", mutation_scale=14,
                                                      color=colour, lw=2, zorder=6))))
        moms.append(None if p.m_b is None else add(ax.add_patch(FancyArrowPatch(
            (0, 0), (0, 0), arrowstyle="->", mutation_scale=14, color=colour, lw=1.6, ls="--", zorder=6))))
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    box = ax.get_window_extent()  # the axes in pixels: arrows keep their length on screen
    sx, sy = box.width / (v.b[1] - v.b[0]), box.height / (v.a[1] - v.a[0])

    def arrow(patch, b, a, db, da):
        dx, dy = db * sx, da * sy
        size = np.hypot(dx, dy)
        ok = bool(np.isfinite(size) and size > 0 and v.inside(b, a))
        patch.set_visible(ok)
        if ok:
            f = ARROW_PX / size
            patch.set_positions((b, a), (b + dx * f / sx, a + dy * f / sy))

    def frame(k):
        rows = [f"{'sheet':<9} {'b':>10} {'a':>10} {'g_b':>9} {'g_a':>9}"]
        for p, ln, en, g, m, cr in zip(paths, lines, ends, grads, moms, crosses):
            j = min(k, len(p.b))
            b, a = plots_draw.clipped(v, p.b[:j], p.a[:j])
            ln.set_data(b, a)
            done = int((p.row[:j] == n_rows).sum())  # epochs whose rows are all drawn
            e = np.asarray(p.ends[:done], float).reshape(-1, 2)[every - 1::every]
            e = e[v.inside(e[:, 0], e[:, 1])]
            en.set_data(e[:, 0], e[:, 1])
            stopped = p.diverged is not None and k >= len(p.b)
            cr.set_data(([p.b[j - 1]], [p.a[j - 1]]) if stopped and j else ([], []))
            if j == 0:
                g.set_visible(False)
                rows.append(f"{p.sheet[:9]:<9} {'(no finite point)':>40}")
                continue
            i = j - 1
            arrow(g, p.b[i], p.a[i], -p.g_b[i], -p.g_a[i])
            if m is not None:
                arrow(m, p.b[i], p.a[i], -p.m_b[i], -p.m_a[i])
            rows.append(f"{p.sheet[:9]:<9} {p.b[i]:>10.4g} {p.a[i]:>10.4g} {_num(p.g_b[i]):>9} {_num(p.g_a[i]):>9}"
                        + (" stop" if stopped else ""))
        lead = max(paths, key=lambda q: len(q.b))
        i = min(k, len(lead.b)) - 1
        if lead.row[i] == 0:
            clock.set_text(f"after epoch {lead.epoch[i]} of Run")
        else:
            clock.set_text(f"the pass of epoch {lead.epoch[i]}" + (" (right after Reset)" if lead.epoch[i] == 0 else "")
                           + f", data row {lead.row[i]} of {n_rows}")
        readout.set_text("\n".join(rows) + "\n\nthe current row's inputs b, a and its\ngradient g (g_a = x·g_b, "
                         "x the row's x);\nafter an epoch: the carried b, a")
        fig.canvas.restore_region(background)
        for art in moving:
            fig.draw_artist(art)
        rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
        return rgb.quantize(palette=pal, dither=Image.Dither.NONE)  # 1 byte a pixel from here on

    pal = palette(paths)
    frames = []
    for k in ks:
        frames.append(frame(k))
        if tick is not None:
            tick()
    plt.close(fig)
    durations = [round(1000 / FPS)] * (len(frames) - 1) + [HOLD_MS]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=True)
    return len(frames)
