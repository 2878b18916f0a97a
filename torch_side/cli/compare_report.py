"""The report of ``torch-side compare``: the loss curves, the accuracy bars, the summary table on the
console and the sheet 'compare' in a workbook."""
from pathlib import Path

from torch_side.errors import UsageError

__all__ = ["plot", "plot_accuracy", "write_sheet", "print_summary"]


STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _smooth(v, beta=0.9):
    """Exponential moving average with Adam's bias correction (so it starts at the data)."""
    out, avg = [], 0.
    for i, x in enumerate(v):
        avg = beta * avg + (1 - beta) * x
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def plot(curves, scheds, path, summary=None):
    """Training loss per batch, one panel per schedule: each optimizer its own colour, line style
    and markers, smoothed, with its final test accuracy in the legend (overlapping curves stay
    told apart)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, len(scheds), figsize=(5 * len(scheds), 3.8), squeeze=False,
                            sharey=True)
    opts = list(dict.fromkeys(k[0] for k in curves))
    cmap = plt.get_cmap("tab10")
    top = max([max(_smooth(v)) for v in curves.values() if v] + [0.5])
    for ax, sched in zip(axs[0], scheds):
        for (opt, s, setting), losses in curves.items():
            if s != sched or not losses:
                continue
            i = opts.index(opt)
            label = opt + ("" if setting == "default" else f" ({setting})")
            if summary is not None:
                m = summary[(summary["optimizer"] == opt) & (summary["schedule"] == s)
                            & (summary["setting"] == setting)]
                if len(m) and m["accuracy"].notna().all():
                    label += f": {100 * float(m['accuracy'].iloc[0]):.1f} %"
            ax.plot(range(1, len(losses) + 1), _smooth(losses), lw=1.2, color=cmap(i % 10),
                    ls=STYLES[(i + (setting != "default")) % len(STYLES)],
                    marker=MARKERS[i % len(MARKERS)], markevery=max(1, len(losses) // 8),
                    markersize=4, label=label)
        ax.set(title=f"schedule: {sched}", xlabel="batch", ylim=(0, min(top * 1.05, 5)))
        ax.legend(fontsize=7, title="optimizer: test acc.", title_fontsize=7)
    axs[0][0].set_ylabel("training loss (smoothed)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_accuracy(summary, path, target=None):
    """Mean test accuracy per cell and setting, with +-1 std error bars over the seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = summary[summary["accuracy"].notna()]
    labels = [f"{r.optimizer}\n{r.schedule}" for r in ok.drop_duplicates(["optimizer", "schedule"]).itertuples()]
    settings = list(dict.fromkeys(ok["setting"]))
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(labels) + 2), 3.8))
    width = 0.8 / max(1, len(settings))
    cells = list(dict.fromkeys(zip(ok["optimizer"], ok["schedule"])))
    for j, setting in enumerate(settings):
        xs, ys, es = [], [], []
        for i, c in enumerate(cells):
            m = ok[(ok["optimizer"] == c[0]) & (ok["schedule"] == c[1]) & (ok["setting"] == setting)]
            if len(m):
                xs.append(i + (j - (len(settings) - 1) / 2) * width)
                ys.append(100 * float(m["accuracy"].iloc[0]))
                sd = m["accuracy_std"].iloc[0]
                es.append(0 if sd is None or sd != sd else 100 * float(sd))
        ax.bar(xs, ys, width, yerr=es, capsize=3, label=setting)
    if target is not None:
        ax.axhline(100 * target, color="k", ls="--", lw=0.8, label=f"target {100 * target:g} %")
    if len(ok):
        lo = min(100 * ok["accuracy"].min() - 5, 100 * target - 2 if target else 100)
        hi = max(100 * ok["accuracy"].max() + 3, 100 * target + 2 if target else 0)
        ax.set_ylim(max(0, lo), min(100, hi))
    ax.set_xticks(range(len(cells)), labels, fontsize=7)
    n = int(summary["seeds"].max()) if len(summary) else 0
    ax.set(ylabel="test accuracy %", title=f"mean test accuracy, error bars: std over {n} seed(s)")
    ax.legend(fontsize=7, title="setting", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_sheet(path, df, sheet="compare", title=None, lock_timeout=None):
    """Add (or replace) ``sheet`` in the workbook at ``path``, keeping every other part as is.

    The sheet holds an accuracy grid (optimizer x schedule) with a bar chart, and the full
    result table below it (see torch_side/cli/xlsx_sheet.py for how the file is written).
    """
    from torch_side.cli.xlsx_sheet import put_sheet
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"workbook {path} does not exist (build it first with "
                                f"`xlopt build -o {path}`)")
    opts = list(dict.fromkeys(df["optimizer"]))
    scheds = list(dict.fromkeys(df["schedule"]))
    rows = [[title or "Test accuracy after training: optimizer x schedule"],
            ["optimizer"] + scheds]
    for opt in opts:
        vals = []
        for s in scheds:
            cell = df[(df["optimizer"] == opt) & (df["schedule"] == s)]
            if "setting" in cell and (cell["setting"] == "tuned").any():
                cell = cell[cell["setting"] == "tuned"]  # the grid shows the tuned setting
            v = cell["accuracy"]
            vals.append(None if v.isna().all() else round(float(v.iloc[0]), 4))
        rows.append([opt] + vals)
    rows += [[], list(df.columns)]
    rows += [[None if (isinstance(v, float) and v != v) else v for v in r]
             for r in df.itertuples(index=False)]
    chart = {"title": "accuracy by optimizer and schedule", "x_title": "optimizer",
             "y_title": "test accuracy", "data": (2, 1 + len(scheds), 2, 2 + len(opts)),
             "anchor": f"{chr(ord('A') + len(scheds) + 2)}2"}
    put_sheet(path, sheet, rows, chart, lock_timeout)  # locked read-modify-write: a second writer waits



def print_summary(summary, args, log=print):
    log(f"\n{'optimizer':>12} {'schedule':<14} {'setting':<8} {'lr':>8} {'wd':>8}  "
        f"test accuracy (mean +- std over {args.seeds} seed(s))"
        + (f"  epochs / s to {args.target:g}" if args.target is not None else ""))
    for r in summary.itertuples(index=False):
        acc = "n/a" if r.accuracy is None or r.accuracy != r.accuracy else f"{100 * r.accuracy:.2f} %"
        if r.accuracy_std is not None and r.accuracy_std == r.accuracy_std:
            acc += f" +- {100 * r.accuracy_std:.2f}"
        wd = "own" if r.wd is None or r.wd != r.wd else f"{r.wd:g}"
        tgt = ""
        if args.target is not None:
            tgt = (f"  {r.epochs_to_target:g} / {r.seconds_to_target:.1f} s ({r.reached_target} reached)"
                   if r.epochs_to_target is not None and r.epochs_to_target == r.epochs_to_target
                   else f"  not reached ({r.reached_target})")
        log(f"{r.optimizer:>12} {r.schedule:<14} {r.setting:<8} {r.lr:>8g} {wd:>8}  {acc}{tgt}")

