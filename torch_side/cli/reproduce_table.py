"""The results table of ``torch-side reproduce``: the listing with time estimates, the markdown
table beside the lesson's figures, the plot (lesson against ours) and the workbook sheet."""
from torch_side.experiments.recipes import RECIPES

__all__ = ["SMOKE", "METRICS", "CPU_IMAGES_PER_SECOND", "listing", "markdown_table", "plot_table",
           "write_workbook", "lesson_figures", "best_figure"]

SMOKE = ("tiny",)  # recipes run only when asked for by name
METRICS = ("accuracy", "tta_accuracy", "ensemble_accuracy")
# Training images per second on this project's 2-core CPU (fp32, with evaluation), measured in
# bench/results/cpu-2026-12-0*.json at their fastest; hires-resnet: 7.5x the wide ResNet's time
# per batch (one forward + backward of 256 images, 3.9 s against 0.53 s). For estimates only.
CPU_IMAGES_PER_SECOND = {"conv": 3300, "conv-bn": 3300, "deep-conv": 2100, "resnet": 2000,
                         "wide-resnet": 850, "resnet-gap-wide": 850, "resnet-gap": 1000,
                         "resnet-gap-stem": 1000, "hires-resnet": 110, "hires-resnet-s": 300}



def listing(names=None):
    """The experiments and their estimated times on a CPU like this project's, as text."""
    names = names or [n for n in RECIPES if n not in SMOKE]
    lines = ["experiments (torch-side reproduce --only NAME[,NAME...], or --all for every one):",
             f"  {'name':<20} {'model':<16} {'epochs':>6} {'CPU estimate':>12}  note"]
    total = 0
    for n in names:
        r = RECIPES[n]
        secs = r.epochs * r.learners * 60_000 / CPU_IMAGES_PER_SECOND.get(r.model, 1000)
        total += secs
        ep = f"{r.learners}x{r.epochs}" if r.learners > 1 else str(r.epochs)
        lines.append(f"  {n:<20} {r.model:<16} {ep:>6} {_hours(secs):>12}  {r.note}")
    lines.append(f"  all of them: {_hours(total)} on 2 CPU cores (full data); a GPU takes "
                 "seconds to minutes each (bench/gpu_table.sh)")
    return "\n".join(lines)


def _hours(secs):
    return f"{secs / 3600:.1f} h" if secs >= 3600 else f"{max(1, round(secs / 60))} min"



def lesson_figures(recipe):
    """``{metric: (before, after)}`` from the recipe or, for ours, the recipe it compares to."""
    src = recipe if recipe.lesson else RECIPES.get(recipe.compare_to, recipe)
    return {m: (b, a) for m, b, a in src.lesson}


def _pct(v):
    return "" if v is None else f"{100 * v:.1f}"


def best_figure(row):
    """The headline figure of a row: ensemble, else TTA, else plain accuracy."""
    for m in ("ensemble_accuracy", "tta_accuracy", "accuracy"):
        if row.get(m) is not None:
            return m, row[m]
    return None, None


def markdown_table(rows, names=None, reasons=None):
    """The lesson's figures and ours, one line per recipe; recipes without a row: unmeasured
    (with ``reasons[name]`` when given)."""
    reasons = reasons or {}
    names = names or [n for n in RECIPES if n not in SMOKE or n in rows]
    head = ("| experiment | epochs | lesson before fix | lesson after fix | ours | ours TTA | "
            "ours ensemble | s/epoch | images/s | device | note |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n in names:
        r = RECIPES[n]
        les = lesson_figures(r)
        bef = " / ".join(f"{_pct(b)}" + (" TTA" if m == "tta_accuracy" else
                                           " ens." if m == "ensemble_accuracy" else "")
                         for m, (b, a) in les.items() if b is not None)
        aft = " / ".join(f"{_pct(a)}" + (" TTA" if m == "tta_accuracy" else
                                           " ens." if m == "ensemble_accuracy" else "")
                         for m, (b, a) in les.items() if a is not None)
        if not r.is_lesson and les:
            bef, aft = (f"{bef} ({r.compare_to})" if bef else ""), \
                (f"{aft} ({r.compare_to})" if aft else "")
        row = rows.get(n)
        epochs = f"{r.learners}x{r.epochs}" if r.learners > 1 else str(r.epochs)
        if row is None:
            why = f": {reasons[n]}" if n in reasons else ""
            lines.append(f"| {n} | {epochs} | {bef} | {aft} | unmeasured{why} |  |  |  |  |  | "
                         f"{r.note} |")
            continue
        scale = "" if row.get("train_images") == 60000 else f" (subset {row.get('train_images')})"
        lines.append(
            f"| {n} | {epochs} | {bef} | {aft} | {_pct(row.get('accuracy'))} | "
            f"{_pct(row.get('tta_accuracy'))} | {_pct(row.get('ensemble_accuracy'))} | "
            f"{row.get('seconds_per_epoch', '')} | {row.get('images_per_second', '')} | "
            f"{row.get('device_name', row.get('device', ''))}{scale} | {r.note} |")
    return "\n".join(lines) + "\n"


def plot_table(rows, path):
    """Lesson (after its fix) against ours, per experiment. A run that is not full scale (a
    --subset, --epochs or --bs smoke run) is hatched and labelled, since it cannot be compared
    with the lesson's full-data figures; the y axis starts just below the lowest bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [n for n in RECIPES if n in rows]
    ours = [100 * best_figure(rows[n])[1] for n in names]
    lesson = []
    for n in names:
        les = lesson_figures(RECIPES[n])
        vals = [a if a is not None else b for b, a in les.values()]
        vals = [v for v in vals if v is not None]
        lesson.append(100 * max(vals) if vals else float("nan"))
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(names) + 2), 4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], lesson, 0.4, color="C0")
    full = [bool(rows[n].get("full_scale")) for n in names]
    for x, v, f, n in zip(xs, ours, full, names):
        ax.bar(x + 0.2, v, 0.4, color="C1", hatch=None if f else "//", edgecolor=None if f else "k")
        r = rows[n]
        ax.annotate(f"{v:.1f}" + ("" if f else f"\nsmoke: {r.get('train_images')} img,\n"
                                               f"{r.get('epochs')} ep"),
                    (x + 0.2, v), ha="center", va="bottom", fontsize=6)
    from matplotlib.patches import Patch
    handles = [Patch(color="C0", label="lesson (after its fix)"), Patch(color="C1", label="ours")]
    if not all(full):
        handles.append(Patch(facecolor="C1", hatch="//", edgecolor="k",
                             label="ours, smoke run (subset or fewer epochs: not comparable)"))
    ax.set_xticks(list(xs), names, rotation=30, ha="right")
    vals = [v for v in ours + lesson if v == v]
    lo = min(vals) if vals else 90
    ax.set_ylim(max(0, lo - 2), 100)
    ax.set_ylabel("test accuracy %")
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.01), ncol=3,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_workbook(path, rows, lock_timeout=None):
    """Add (or replace) a sheet 'reproduce' holding the table, every other part of the workbook byte
    for byte (torch_side.cli.xlsx_sheet: under the workbook lock, atomically); a new file if none is there."""
    from torch_side.cli.xlsx_sheet import put_sheet
    cols = ["experiment", "epochs", "lesson_before", "lesson_after", "accuracy", "tta_accuracy",
            "ensemble_accuracy", "seconds_per_epoch", "images_per_second", "device", "note"]
    table = [cols]
    for n in [n for n in RECIPES if n not in SMOKE or n in rows]:
        r, row = RECIPES[n], rows.get(n, {})
        les = lesson_figures(r).get("accuracy", (None, None))
        table.append([n, r.epochs * r.learners, les[0], les[1], row.get("accuracy"),
                      row.get("tta_accuracy"), row.get("ensemble_accuracy"),
                      row.get("seconds_per_epoch"), row.get("images_per_second"),
                      row.get("device_name", "unmeasured"), r.note])
    put_sheet(path, "reproduce", table, lock_timeout=lock_timeout, new=True)

