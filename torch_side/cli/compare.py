"""Optimizers x schedules on a ResNet, compared fairly: seeds, equal tuning budgets, time to a target.

Every cell (optimizer x schedule) starts from the same initial weights and sees the same batches
for a given seed, so the table compares the update rules and schedules only. ``--seeds K`` runs
each cell K times (seeds S, S+1, ...: initial weights and batch order; the images are the same) and
reports mean +- std beside every seed's row. ``--tune lr`` (or ``lr,wd``) with ``--budget N`` gives
each cell the same N trials on the same log grid, scored on a validation split held out of the
training images; the best setting is then trained on all of them and tested, and both the tuned
and the default settings are reported. ``--target ACC`` adds the epochs and seconds each run took
to reach that test accuracy. A trial's result depends on its spec alone (torch threads included,
``--threads``), so ``--workers N`` (Ray, torch_side/dist_grid.py) gives the sequential numbers bit
for bit on CPU; finished trials are then kept under OUT/trials/ and not rerun.

Writes OUT/compare.csv (every final run), OUT/summary.csv (mean, std per cell and setting),
OUT/tune.csv (every tuning trial), OUT/compare.png (training loss) and OUT/accuracy.png (mean
test accuracy with std error bars); --workbook adds the summary as a sheet 'compare'.
"""
import copy
import math
import sys
import time
from functools import partial
from pathlib import Path

import torch

from xlopt.core import locks

from torch_side import dist_grid
from torch_side.cmd_errors import check_device, check_out, raised_by_us
from torch_side.callbacks import (Callback, DeviceCB, MetricsCB, MixedPrecisionCB, NaNGuardCB,
                                  ProgressCB, RecorderCB, accuracy)
from torch_side.data import (DatasetError, DatasetMissingError, fashion_dls, resolve_device)
from torch_side.learner import Learner, NonFiniteLossError
from torch_side.models import MODELS, get_model
from torch_side.opt_choices import (DEFAULT_LR, LESSON_OPTS, OPTIMIZERS, SCHEDULERS, opt_func, sched_cbs,
                                    source)

__all__ = ["add_arguments", "main", "run", "compare", "trial", "write_sheet", "tune_grid",
           "summarize", "COLUMNS", "SUMMARY_COLUMNS"]

DEFAULT_OPTS = LESSON_OPTS
COLUMNS = ["optimizer", "schedule", "lr", "status", "train_loss", "valid_loss", "accuracy",
           "seconds", "optimizer_source", "schedule_source", "setting", "seed", "wd",
           "epochs_to_target", "seconds_to_target"]
SUMMARY_COLUMNS = ["optimizer", "schedule", "setting", "lr", "wd", "seeds", "accuracy",
                   "accuracy_std", "valid_loss", "seconds", "epochs_to_target",
                   "seconds_to_target", "reached_target"]
LR_RANGE, WD_RANGE = (1e-4, 1.0), (1e-5, 1e-1)  # the log grid every cell is tuned on
THREADS = 1  # torch CPU threads per trial, sequential or on Ray: part of the spec


def _names(s, known, what):
    names = [n.strip() for n in s.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ValueError(f"unknown {what} {bad or s!r}; known: {', '.join(known)}")
    return names


def add_arguments(p):
    p.add_argument("--opts", default=",".join(DEFAULT_OPTS),
                   help=f"comma list from {', '.join(OPTIMIZERS)} (default: %(default)s)")
    p.add_argument("--scheds", default=",".join(SCHEDULERS),
                   help=f"comma list from {', '.join(SCHEDULERS)} (default: all)")
    p.add_argument("--model", default="resnet", choices=list(MODELS),
                   help="the network every cell trains (default: %(default)s, 1.23M parameters)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per run (default: %(default)s)")
    p.add_argument("--subset", type=int, default=4000,
                   help="training images, drawn at random by --seed; 0 = all 60,000 (default 4000)")
    p.add_argument("--test-size", type=int,
                   help="test images (default: a sixth of --subset, at least 100; all 10,000 with "
                   "--subset 0)")
    p.add_argument("--bs", type=int, default=256, help="batch size (default: %(default)s)")
    p.add_argument("--lr", type=float, help="one peak lr for every optimizer "
                   "(default: per optimizer, " + ", ".join(f"{k} {v:g}" for k, v in
                                                             DEFAULT_LR.items()) + ")")
    p.add_argument("--wd", type=float, help="weight decay for every optimizer (default: each "
                   "optimizer's own: 0, AdamW 0.01)")
    p.add_argument("--seeds", type=int, default=1,
                   help="runs per cell and setting, seeds S, S+1, ...: mean +- std (default 1)")
    p.add_argument("--tune", choices=("lr", "lr,wd"),
                   help="search lr (and wd) for each cell with --budget trials on the same log "
                   f"grid (lr {LR_RANGE[0]:g}..{LR_RANGE[1]:g}, wd {WD_RANGE[0]:g}..{WD_RANGE[1]:g}), "
                   "scored on a sixth of the training images held out; tuned and default both "
                   "reported")
    p.add_argument("--budget", type=int, default=4, help="tuning trials per cell (default: %(default)s)")
    p.add_argument("--target", type=float,
                   help="a test accuracy (0-1): report the epochs and seconds each run took to reach it")
    p.add_argument("--threads", type=int, default=THREADS,
                   help="torch CPU threads per run, the same sequentially and under --workers so "
                   "the numbers are too (default: %(default)s)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda if present)")
    p.add_argument("--seed", type=int, default=42,
                   help="the first seed; also draws the --subset images (default: %(default)s)")
    p.add_argument("--out", default="runs/compare",
                   help="folder for the CSVs and plots (default: %(default)s)")
    p.add_argument("--workbook", help="also write the summary as sheet 'compare' into this .xlsx")
    locks.add_argument(p)
    p.add_argument("--data-dir", help="folder holding the four Fashion-MNIST IDX files")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    dist_grid.add_arguments(p)


class _EpochClock(Callback):
    """Test accuracy and wall seconds since the start after each validation epoch."""
    order = MetricsCB.order + 1

    def __init__(self, metrics):
        self.metrics, self.history = metrics, []

    def before_fit(self, learn):
        self.t0 = time.perf_counter()

    def after_epoch(self, learn):
        if not learn.training and self.metrics.log:
            self.history.append({"epoch": learn.epoch + 1,
                                 "accuracy": self.metrics.log[-1].get("accuracy"),
                                 "seconds": round(time.perf_counter() - self.t0, 3)})


def _opt(name, wd):
    f = opt_func(name)
    return f if wd is None else partial(f, weight_decay=wd)


def _one(model0, dls, device, opt, sched, lr, epochs, progress, wd=None):
    """Train a copy of ``model0``; return (result row, per-batch losses, per-epoch history)."""
    model = copy.deepcopy(model0)
    metrics = MetricsCB(accuracy, logger=None)
    rec = RecorderCB(loss=lambda cb: cb.learn.loss.detach())
    clock = _EpochClock(metrics)
    row = {"optimizer": opt, "schedule": sched, "lr": lr, "wd": wd,
           "optimizer_source": source(opt), "schedule_source": source(sched)}
    try:
        cbs = [DeviceCB(device, channels_last=True), MixedPrecisionCB(), metrics, NaNGuardCB(),
               rec, clock] + sched_cbs(sched, epochs * len(dls.train), lr, opt_name=opt)
    except ValueError as e:
        return {**row, "status": f"n/a: {e}"}, [], []
    if progress:
        cbs.append(ProgressCB())
    learn = Learner(model, dls, lr=lr, cbs=cbs, opt_func=_opt(opt, wd))
    t0 = time.perf_counter()
    try:
        learn.fit(epochs)
        row["status"] = "ok"
    except NonFiniteLossError as e:
        row["status"] = f"diverged: {e}".split(";")[0]
    row["seconds"] = round(time.perf_counter() - t0, 2)
    last = {r["phase"]: r for r in metrics.log if r["epoch"] == epochs - 1}
    if "train" in last:
        row["train_loss"] = last["train"]["loss"]
    if "valid" in last:
        row["valid_loss"], row["accuracy"] = last["valid"]["loss"], last["valid"]["accuracy"]
    return row, rec.values("loss"), clock.history


def _dls(spec, device):
    """The spec's loaders: the test set, or (``split='valid'``) a sixth of the training images
    held out as the validation set and the rest to train on."""
    subset = spec["subset"] or None
    test = spec.get("test_size") or (None if subset is None else max(subset // 6, 100))
    dls = fashion_dls(spec["bs"], device, subset=subset, valid_subset=test, seed=spec["data_seed"],
                      data_dir=spec["data_dir"], channels_last=True)
    if spec.get("split") == "valid":
        from torch_side.data import DataLoaders, DeviceLoader
        x, y = dls.train.x, dls.train.y
        n = max(len(y) // 6, 50)
        tr = DeviceLoader.from_tensors(x[:-n], y[:-n], spec["bs"], shuffle=True, seed=spec["seed"])
        va = DeviceLoader.from_tensors(x[-n:], y[-n:], spec["bs"] * 2)
        dls = DataLoaders(tr, va)
    return dls


def trial(spec):
    """One run from a plain spec, sequential or as a Ray worker runs it: the data, initial weights,
    batches and torch thread count all come from the spec, so the result is a function of it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.get("threads") or THREADS)
    try:
        device = resolve_device(spec["device"])
        dls = _dls(spec, device)
        torch.manual_seed(spec["seed"])
        model0 = get_model(spec["model"])
        torch.manual_seed(spec["seed"])
        dls.train.gen.manual_seed(spec["seed"])
        row, losses, history = _one(model0, dls, device, spec["opt"], spec["sched"], spec["lr"],
                                    spec["epochs"], spec.get("progress", False), spec.get("wd"))
    finally:
        torch.set_num_threads(threads)
    row.update(setting=spec.get("setting", "default"), seed=spec["seed"])
    return {"row": row, "losses": losses, "history": history}


def tune_grid(what, budget):
    """The ``budget`` (lr, wd) points every cell is tuned on: lr log-spaced over LR_RANGE; with
    wd, a scrambled Sobol sequence (seed 0) over the two log ranges. wd None: the optimizer's own."""
    if budget < 1:
        raise ValueError(f"--budget must be a positive integer, got {budget}")
    lo, hi = (math.log10(v) for v in LR_RANGE)
    if what == "lr":
        if budget == 1:
            return [(10 ** ((lo + hi) / 2), None)]
        return [(float(f"{10 ** (lo + (hi - lo) * i / (budget - 1)):.3g}"), None)
                for i in range(budget)]
    wlo, whi = (math.log10(v) for v in WD_RANGE)
    pts = torch.quasirandom.SobolEngine(2, scramble=True, seed=0).draw(budget).double().tolist()
    return [(float(f"{10 ** (lo + (hi - lo) * a):.3g}"), float(f"{10 ** (wlo + (whi - wlo) * b):.3g}"))
            for a, b in pts]


def _base_spec(args, opt, sched):
    return {"opt": opt, "sched": sched, "model": args.model, "epochs": args.epochs,
            "subset": args.subset, "test_size": args.test_size, "bs": args.bs,
            "data_seed": args.seed, "device": args.device, "data_dir": args.data_dir,
            "threads": args.threads}


def _default_lr(args, opt):
    return args.lr or DEFAULT_LR[opt]


def _finals(args, opts, scheds, setting, best=None):
    """``(name, spec)`` of every final run of ``setting`` ('default' or 'tuned' from ``best``)."""
    items = []
    for o in opts:
        for s in scheds:
            if setting == "tuned":
                if (o, s) not in best:
                    continue
                lr, wd = best[(o, s)]
            else:
                lr, wd = _default_lr(args, o), args.wd
            for k in range(args.seeds):
                name = f"{o}/{s}" + ("" if setting == "default" else "/tuned") + \
                    (f"/seed{args.seed + k}" if k else "")
                items.append((name, {**_base_spec(args, o, s), "lr": lr, "wd": wd,
                                     "seed": args.seed + k, "setting": setting, "split": "test"}))
    return items


def _tunes(args, opts, scheds):
    grid = tune_grid(args.tune, args.budget)
    return [(f"{o}/{s}/tune-lr{lr:g}" + ("" if wd is None else f"-wd{wd:g}"),
             {**_base_spec(args, o, s), "lr": lr, "wd": wd if wd is not None else args.wd,
              "seed": args.seed, "setting": "tune", "split": "valid"})
            for o in opts for s in scheds for lr, wd in grid]


def _fail_row(spec, why):
    return {"optimizer": spec["opt"], "schedule": spec["sched"], "lr": spec["lr"], "wd": spec["wd"],
            "status": f"failed: {why}", "optimizer_source": source(spec["opt"]),
            "schedule_source": source(spec["sched"]), "setting": spec["setting"], "seed": spec["seed"]}


def _run(items, args, out, on_result, log):
    """Each ``(name, spec)`` through ``trial``: in this process, or as Ray tasks with --workers."""
    if dist_grid.wanted(args):
        def cb(name, res, cached):
            on_result(name, res if "failed" not in res else
                      {"row": _fail_row(dict(items)[name], res["failed"]), "losses": [], "history": []},
                      cached)
        dist_grid.run_grid(items, trial, dist_grid.TrialStore(out / "trials"), cb,
                           workers=args.workers, address=args.ray_address, log=log,
                           threads=args.threads)
    else:
        for name, spec in items:
            on_result(name, trial({**spec, "progress": not args.no_progress}), False)


def _reach(history, target):
    for h in history:
        if h["accuracy"] is not None and h["accuracy"] >= target:
            return h["epoch"], h["seconds"]
    return None, None


def _log_row(row, log):
    if log is not None:
        acc = row.get("accuracy")
        tag = "" if row.get("setting", "default") == "default" else f" [{row['setting']}]"
        wd = "" if row.get("wd") is None or row.get("wd") != row.get("wd") else f" wd {row['wd']:g}"
        log(f"{row['optimizer']:>12} x {row['schedule']:<9} lr {row['lr']:<7g}{wd} seed {row.get('seed')}"
            f"{tag} " + (f"accuracy {acc:.4f} loss {row['valid_loss']:.4f} {row['seconds']:.1f}s"
                         if acc is not None and acc == acc else row["status"]))


def summarize(df):
    """Mean and sample std over seeds, per optimizer x schedule x setting, in the table's order."""
    import pandas as pd
    rows = []
    for (o, s, setting), g in df.groupby(["optimizer", "schedule", "setting"], sort=False):
        ok = g[g["status"] == "ok"]
        acc = ok["accuracy"]
        reached = g["epochs_to_target"].notna().sum() if "epochs_to_target" in g else 0
        rows.append({"optimizer": o, "schedule": s, "setting": setting, "lr": g["lr"].iloc[0],
                     "wd": g["wd"].iloc[0], "seeds": len(g),
                     "accuracy": acc.mean() if len(acc) else None,
                     "accuracy_std": acc.std(ddof=1) if len(acc) > 1 else None,
                     "valid_loss": ok["valid_loss"].mean() if len(ok) else None,
                     "seconds": ok["seconds"].mean() if len(ok) else None,
                     "epochs_to_target": g["epochs_to_target"].mean() if reached else None,
                     "seconds_to_target": g["seconds_to_target"].mean() if reached else None,
                     "reached_target": f"{reached}/{len(g)}"})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def compare(args, opts, scheds, out, log=print):
    """The whole protocol: ``(runs DataFrame, summary DataFrame, tune DataFrame, curves)``.

    Phase 1: the default setting on every seed, and (``--tune``) every tuning trial; phase 2:
    each cell's best tuning point on every seed. compare.csv is rewritten as runs finish."""
    import pandas as pd
    from xlopt.core.atomic import write_text
    finals, tunes, curves = {}, {}, {}
    phase1 = _finals(args, opts, scheds, "default") + (_tunes(args, opts, scheds) if args.tune else [])
    order = [n for n, _ in phase1]

    def frame():
        rows = [finals[n] for n in order if n in finals]
        return pd.DataFrame(rows, columns=COLUMNS)

    def on_result(name, res, cached):
        row = res["row"]
        if row.get("setting") == "tune":
            tunes[name] = row
            _log_row(row, log if not cached else None)
            return
        if args.target is not None:
            row["epochs_to_target"], row["seconds_to_target"] = _reach(res.get("history", []), args.target)
        finals[name] = row
        key = (row["optimizer"], row["schedule"], row["setting"])
        if key not in curves:  # the first seed's curve
            curves[key] = res["losses"]
        write_text(out / "compare.csv", frame().to_csv(index=False))
        _log_row(row, log if not cached else None)

    _run(phase1, args, out, on_result, log)
    tune_df = pd.DataFrame(list(tunes.values()))
    if args.tune:
        best = {}
        for (o, s), g in tune_df[tune_df["status"] == "ok"].groupby(["optimizer", "schedule"], sort=False):
            b = g.sort_values(["accuracy", "valid_loss"], ascending=[False, True], kind="stable").iloc[0]
            best[(o, s)] = (float(b["lr"]), None if pd.isna(b["wd"]) else float(b["wd"]))
        phase2 = _finals(args, opts, scheds, "tuned", best)
        names2 = [n for n, _ in phase2]
        # tuned rows sit right after the same cell's default rows
        order = [n for o in opts for s in scheds
                 for n in [m for m in order if m.split("/")[:2] == [o, s] and "/tune-" not in m]
                 + [m for m in names2 if m.split("/")[:2] == [o, s]]]
        _run(phase2, args, out, on_result, log)
    df = frame()
    return df, summarize(df), tune_df, curves


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
    result table below it (see torch_side/xlsx_sheet.py for how the file is written).
    """
    from torch_side.xlsx_sheet import put_sheet
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"workbook {path} does not exist (build it first with "
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


def _check(args):
    """Everything about the command line that can be refused before any work."""
    for k in ("epochs", "bs", "seeds", "budget", "threads"):
        if getattr(args, k) <= 0:
            raise ValueError(f"--{k} must be a positive integer, got {getattr(args, k)}")
    if args.subset < 0:
        raise ValueError(f"--subset must be >= 0 (0: all 60,000 images), got {args.subset}")
    if args.test_size is not None and not 0 < args.test_size <= 10_000:
        raise ValueError(f"--test-size must be 1..10000 (the test set's size), got {args.test_size}")
    if args.target is not None and not 0 < args.target <= 1:
        raise ValueError(f"--target is a test accuracy between 0 and 1 (0.9 for 90 %), got {args.target}")
    for k in ("lr", "wd"):
        v = getattr(args, k)
        if v is not None and not (v > 0 if k == "lr" else v >= 0):
            raise ValueError(f"--{k} must be {'positive' if k == 'lr' else '>= 0'}, got {v}")
    if args.tune and args.subset and args.subset < 120:
        raise ValueError(f"--tune holds out a sixth of the training images; --subset {args.subset} "
                         "leaves too few: use at least 120")
    if args.workbook and not str(args.workbook).lower().endswith((".xlsx", ".xlsm")):
        raise ValueError(f"--workbook {args.workbook} must be an .xlsx or .xlsm workbook (xlopt build -o NAME.xlsx)")
    if args.workbook and not Path(args.workbook).is_file():
        raise FileNotFoundError(f"workbook {args.workbook} does not exist (build it first with "
                                f"`xlopt build -o {args.workbook}`)")
    if args.workbook:  # before training: a workbook that cannot take the sheet is refused now, not after
        from xlopt.core.workbook_file import check_writable
        check_writable(args.workbook)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder; name a folder for compare.csv/.png")
    check_out(args.out)
    check_device(args.device)
    if dist_grid.wanted(args):
        dist_grid.check_args(args)


def _print_summary(summary, args, log=print):
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


def run(args):
    _check(args)
    opts = _names(args.opts, OPTIMIZERS, "optimizer")
    scheds = _names(args.scheds, SCHEDULERS, "schedule")
    device = resolve_device(args.device)
    subset = args.subset or None
    test = args.test_size or (None if subset is None else max(subset // 6, 100))
    dls = fashion_dls(args.bs, device, subset=subset, valid_subset=test,  # checks the data first
                      seed=args.seed, data_dir=args.data_dir, channels_last=True)
    print(f"compare on {device}: {args.model}, {args.epochs} epoch{'s' * (args.epochs != 1)}, "
          f"{len(dls.train.y)} train / "
          f"{len(dls.valid.y)} test images, bs {args.bs}, {args.seeds} seed(s), "
          f"{args.threads} torch thread(s) per run"
          + (f", tuning {args.tune} with {args.budget} trials per cell" if args.tune else ""))
    del dls
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df, summary, tune_df, curves = compare(args, opts, scheds, out)
    from xlopt.core.atomic import write_text
    write_text(out / "compare.csv", df.to_csv(index=False))
    write_text(out / "summary.csv", summary.to_csv(index=False))
    if args.tune:
        write_text(out / "tune.csv", tune_df.to_csv(index=False))
    plot(curves, scheds, out / "compare.png", summary)
    plot_accuracy(summary, out / "accuracy.png", args.target)
    _print_summary(summary, args)
    print(f"wrote {out / 'compare.csv'}, summary.csv{', tune.csv' if args.tune else ''}, "
          "compare.png and accuracy.png")
    if args.workbook:
        n = args.subset or 60_000
        write_sheet(args.workbook, summary, title=f"Mean test accuracy over {args.seeds} seed(s) after "
                    f"{args.epochs} epoch{'s' * (args.epochs != 1)} of {args.model} on {n} Fashion-MNIST images"
                    + (" (tuned lr)" if args.tune else ""),
                    lock_timeout=getattr(args, "lock_timeout", None))
        print(f"wrote sheet 'compare' into {args.workbook}")
    return df


def main(args) -> int:
    try:
        run(args)
    except (DatasetMissingError, DatasetError, FileNotFoundError, ValueError) as e:
        if not isinstance(e, DatasetMissingError) and not raised_by_us(e):
            raise  # a bug, not bad input: its traceback
        print(f"torch-side compare: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        if "CUDA" in str(e):
            print(f"torch-side compare: error: {e}", file=sys.stderr)
            return 2
        raise
    return 0
