"""`xlopt plot`'s numbers: each sheet's path of (b, a) row by row, the loss surface, the view, the styles.

`trace` presses Reset, types --lr, then Run for N epochs exactly as `xlopt run` does, and keeps
every pass the sheet shows: row i of a pass takes the row's inputs (b, a) to its outputs (new b,
new a), so a pass's b and a columns are online SGD's path through the epoch. Nothing here updates a
parameter: the numbers are the engine's. `Surface` is the problem's loss, Σ(b + a·x − y)², from the
data's sums; `view` chooses the axes. The pictures are drawn in `plots_draw` (PNG, SVG, PDF) and
`plots_anim` (GIF).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from xlopt.core import buttons, sheets
from xlopt.core.engine import Data, MemoryBook
from xlopt.core.errors import Diverged

DEFAULT_EPOCHS = 10
MAX_EPOCHS = 1000  # 29,000 rows a sheet: a few seconds to trace, a picture still readable
STATIC = (".png", ".svg", ".pdf")
ANIMATED = (".gif",)


@dataclass
class Path:
    """One sheet's run: every row's inputs (b, a) in order, then the point the last epoch carried.

    b, a: the path (epochs·rows + 1 points while finite); g_b, g_a: the row's gradient at each
    point (nan at the final point); m_b, m_a: the momentum average after the row, where the sheet
    carries one (state keys m_b, m_a), else None; epoch, row: where each point sits (row 0 = the
    point an epoch carried); history: `xlopt run`'s log, Reset's row (epoch 0) first; diverged:
    (epoch, data row) where values stopped being finite, or None."""
    sheet: str
    lr: float
    carry: str
    b: np.ndarray
    a: np.ndarray
    g_b: np.ndarray
    g_a: np.ndarray
    m_b: object
    m_a: object
    epoch: np.ndarray
    row: np.ndarray
    history: list = field(default_factory=list)
    diverged: object = None
    epochs: int = 0  # asked for: the history is shorter where the run diverged

    @property
    def ends(self):
        """(const, slope) after each epoch of Run: the history's, epoch 1 on."""
        return [(h["const"], h["slope"]) for h in self.history[1:]]


def _momentum_keys(sheet):
    return ("m_b", "m_a") if {"m_b", "m_a"} <= set(sheet.state) else None


def trace(name, epochs=DEFAULT_EPOCHS, lr=None, carry="lesson", data=None, problem=None):
    """Reset, type `lr` (if given), Run `epochs` epochs: the Path, stopped where values stop being finite.

    problem: a name or a Problem (None: the lesson's); data: None for the problem's own rows."""
    sheet = sheets.get(name, problem)
    book = MemoryBook(sheet, data or Data.of(sheet.problem))
    passes, history, diverged = [], [], None
    try:
        buttons.reset(book)
        if lr is not None:
            buttons.set_lr(book, lr)
        history.append(buttons.log_entry(book, 0))
        passes.append(book.pass_.cols)

        def tick():  # after each epoch, with its log row appended: keep what the sheet now shows
            history.append(buttons.log_entry(book, len(history)))
            passes.append(book.pass_.cols)
        buttons.run(book, epochs, carry, tick)
    except Diverged as e:
        diverged = (e.epoch, e.row)
        passes.append(book.pass_.cols)  # the pass that stopped being finite: kept up to its first bad row
    return _path(sheet, book, passes, history, diverged, carry, epochs)


def _path(sheet, book, passes, history, diverged, carry, epochs):
    mom = _momentum_keys(sheet)
    keys = ["b", "a", "g_b", "g_a"] + list(mom or ())
    n = len(book.data.x)
    out = {k: [] for k in keys}
    epoch, row = [], []
    done = passes if diverged else passes[:-1]  # the last pass's rows belong to the next epoch
    for e, p in enumerate(done):
        for k in keys:
            out[k] += p[k]
        epoch += [e] * n
        row += range(1, n + 1)
    if not diverged:  # the point the last epoch carried (its rows are the next epoch's)
        last = passes[-1]
        for k in ("b", "a"):
            out[k].append(last[k][0])
        for k in keys[2:]:
            out[k].append(math.nan)
        epoch.append(len(done))
        row.append(0)
    arr = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    ok = np.isfinite(arr["b"]) & np.isfinite(arr["a"])
    stop = len(ok) if ok.all() else int(np.argmin(ok))  # the path stops where values stop being finite
    arr = {k: v[:stop] for k, v in arr.items()}
    lr0 = history[0]["lr"] if history else book.get("lr")
    return Path(sheet.name, lr0, carry, arr["b"], arr["a"], arr["g_b"], arr["g_a"],
                arr.get("m_b"), arr.get("m_a"), np.asarray(epoch[:stop]), np.asarray(row[:stop]),
                history, diverged, epochs)


def trace_all(names, epochs=DEFAULT_EPOCHS, lr=None, carry="lesson", data=None, tick=None, problem=None):
    out = []
    for name in names:
        out.append(trace(name, epochs, lr, carry, data, problem))
        if tick is not None:
            tick()
    return out


# --- the problem's loss -------------------------------------------------------------------------------
class Surface:
    """L(b, a) = Σ(b + a·x − y)² from the data's sums n, Σx, Σx², Σy, Σxy, Σy².

    A quadratic in b and a with Hessian 2·[[n, Σx], [Σx, Σx²]]: its level sets are ellipses around
    the least-squares point (b*, a*), long along b and narrow along a (∂L/∂a = Σx·(∂L/∂b per row),
    each row's x times). Evaluated as L* + (Δb, Δa)·H/2·(Δb, Δa) so it stays accurate near b*, a*."""

    def __init__(self, data):
        x, y = np.asarray(data.x, float), np.asarray(data.y, float)
        self.n, self.sx, self.sxx = float(len(x)), float(x.sum()), float((x * x).sum())
        self.sy, self.sxy, self.syy = float(y.sum()), float((x * y).sum()), float((y * y).sum())
        det = self.n * self.sxx - self.sx * self.sx
        self.b_min = (self.sxx * self.sy - self.sx * self.sxy) / det
        self.a_min = (self.n * self.sxy - self.sx * self.sy) / det
        self.l_min = max(self.syy - self.b_min * self.sy - self.a_min * self.sxy, 0.0)
        if self.l_min < 1e-12 * self.syy:  # an exact fit: rounding, not a residual
            self.l_min = 0.0

    def loss(self, b, a):
        db, da = np.asarray(b, float) - self.b_min, np.asarray(a, float) - self.a_min
        return self.l_min + self.n * db * db + 2 * self.sx * db * da + self.sxx * da * da

    def rmse(self, b, a):
        """The lesson's rmse, √Σerr², of the line y = b + a·x."""
        return np.sqrt(self.loss(b, a))

    def valley_a(self, b):
        """The floor of the valley: the best a for each b."""
        return (self.sxy - np.asarray(b, float) * self.sx) / self.sxx


def levels(lo, hi):
    """Log-spaced contour levels 1, 2, 5 × 10^k strictly between lo and hi."""
    lo = max(lo, hi * 1e-6, 1e-12)
    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** k
            if lo < v < hi:
                out.append(v)
    return out


# --- the view -------------------------------------------------------------------------------------
REACH = 2.0  # a path may widen the view by this many start-to-minimum spans beyond start and minimum


@dataclass
class View:
    b: tuple  # (left, right)
    a: tuple  # (bottom, top)

    def inside(self, b, a):
        return (self.b[0] <= b) & (b <= self.b[1]) & (self.a[0] <= a) & (a <= self.a[1])


def view(paths, surface, pad=0.06):
    """Axes that show the start and the least-squares point, and every path as far as REACH allows."""
    starts = [(p.b[0], p.a[0]) for p in paths if len(p.b)]
    b0, a0 = starts[0] if starts else (1.0, 1.0)
    bs, as_ = [b0, surface.b_min], [a0, surface.a_min]
    span_b = max(abs(surface.b_min - b0), 1e-3 * max(abs(b0), abs(surface.b_min)), 1.0)
    span_a = max(abs(surface.a_min - a0), 1e-3 * max(abs(a0), abs(surface.a_min)), 0.1)
    lim_b = (min(bs) - REACH * span_b, max(bs) + REACH * span_b)
    lim_a = (min(as_) - REACH * span_a, max(as_) + REACH * span_a)
    for p in paths:
        ok = (lim_b[0] <= p.b) & (p.b <= lim_b[1]) & (lim_a[0] <= p.a) & (p.a <= lim_a[1])
        bs += list(p.b[ok])
        as_ += list(p.a[ok])
    (lb, hb), (la, ha) = (min(bs), max(bs)), (min(as_), max(as_))
    wb, wa = hb - lb, ha - la
    return View((lb - pad * wb, hb + pad * wb), (la - pad * wa, ha + pad * wa))


def zoom(surface, v, frac=0.1):
    """A box around the least-squares point, `frac` of the view's width and height on each side."""
    wb, wa = (v.b[1] - v.b[0]) * frac, (v.a[1] - v.a[0]) * frac
    return View((surface.b_min - wb, surface.b_min + wb), (surface.a_min - wa, surface.a_min + wa))


def zoom_start(start, surface, v, frac=0.12):
    """A strip from the start toward the minimum: b magnified (`frac` of the view's width), a as in
    the view — where steps of −lr·gradient reach the valley's floor in a and then crawl along b."""
    w = (v.b[1] - v.b[0]) * frac
    left = start[0] - 0.1 * w if surface.b_min >= start[0] else start[0] - 0.9 * w
    return View((left, left + w), v.a)


# --- styles: one per sheet, from its place in SHEETS -----------------------------------------------
LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")


def style(name):
    """(colour, line style, marker) of a sheet: the same in every picture."""
    import matplotlib
    i = sheets.SHEETS.index(name)
    cmap = matplotlib.colormaps["tab10" if len(sheets.SHEETS) <= 10 else "tab20"]
    return (matplotlib.colors.to_hex(cmap(i % cmap.N)), LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)])


def label(p, v=None, result=False):
    """The legend's words for a path: sheet, lr; where it ended (result), diverged, or left the view."""
    last = p.history[-1]["lr"] if p.history else p.lr
    s = f"{p.sheet} (lr {p.lr:.3g}" + (f" → {last:.3g}" if last != p.lr else "") + ")"  # annealed
    got = final_numbers(p)
    if result and got is not None:
        s += f": b {got[0]:.4g}, a {got[1]:.4g}"
    notes = []
    if p.diverged is not None:
        notes.append(f"diverged at epoch {p.diverged[0]}, row {p.diverged[1]}")
    if v is not None and len(p.b) and not v.inside(p.b, p.a).all():
        notes.append("leaves the view")
    return s + ("\n    " + "; ".join(notes) if notes else "")


def final_numbers(p):
    """What to watch: (const, slope, rmse) after the last epoch, or None where the run diverged."""
    if p.diverged is not None or len(p.history) < 2:
        return None
    h = p.history[-1]
    return h["const"], h["slope"], h["rmse"]
