"""Optimizers x schedules on a ResNet: a CSV, a loss plot, and optionally a workbook sheet.

Every run starts from the same initial weights and sees the same batches, so the table
compares the update rules and schedules only. With --workbook PATH, the results go into
PATH as a sheet named 'compare' (with a chart) beside the workbook's 29-row sheets.
With --workers N (or --ray-address), each cell is a Ray task (torch_side/dist_grid.py): rows stream
into compare.csv as cells finish, finished cells are kept under OUT/trials/ and not rerun.
"""
import copy
import sys
import time
from pathlib import Path

import torch

from xlopt.core import locks

from torch_side import dist_grid
from torch_side.cmd_errors import check_device, check_out, raised_by_us
from torch_side.callbacks import (DeviceCB, MetricsCB, MixedPrecisionCB, NaNGuardCB,
                                  ProgressCB, RecorderCB, accuracy)
from torch_side.data import DatasetError, DatasetMissingError, fashion_dls, resolve_device
from torch_side.learner import Learner, NonFiniteLossError
from torch_side.models import MODELS, get_model
from torch_side.opt_choices import (DEFAULT_LR, LESSON_OPTS, OPTIMIZERS, SCHEDULERS, opt_func, sched_cbs,
                                    source)

__all__ = ["add_arguments", "main", "run", "compare", "trial", "write_sheet"]

DEFAULT_OPTS = LESSON_OPTS
COLUMNS = ["optimizer", "schedule", "lr", "status", "train_loss", "valid_loss", "accuracy",
           "seconds", "optimizer_source", "schedule_source"]


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
    p.add_argument("--model", default="resnet", choices=list(MODELS))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--subset", type=int, default=4000,
                   help="training images (test images: a sixth of it); 0 = all (default 4000)")
    p.add_argument("--bs", type=int, default=256)
    p.add_argument("--lr", type=float, help="one peak lr for every optimizer "
                   "(default: per optimizer, " + ", ".join(f"{k} {v:g}" for k, v in
                                                             DEFAULT_LR.items()) + ")")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default="runs/compare", help="directory for compare.csv/.png")
    p.add_argument("--workbook", help="also write the results as sheet 'compare' into this .xlsx")
    locks.add_argument(p)
    p.add_argument("--data-dir")
    p.add_argument("--no-progress", action="store_true")
    dist_grid.add_arguments(p)


def _one(model0, dls, device, opt, sched, lr, epochs, progress):
    """Train a copy of ``model0``; return (result row, per-batch losses)."""
    model = copy.deepcopy(model0)
    metrics = MetricsCB(accuracy, logger=None)
    rec = RecorderCB(loss=lambda cb: cb.learn.loss.detach())
    row = {"optimizer": opt, "schedule": sched, "lr": lr,
           "optimizer_source": source(opt), "schedule_source": source(sched)}
    try:
        cbs = [DeviceCB(device, channels_last=True), MixedPrecisionCB(), metrics, NaNGuardCB(),
               rec] + sched_cbs(sched, epochs * len(dls.train), lr, opt_name=opt)
    except ValueError as e:
        return {**row, "status": f"n/a: {e}"}, []
    if progress:
        cbs.append(ProgressCB())
    learn = Learner(model, dls, lr=lr, cbs=cbs, opt_func=opt_func(opt))
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
    return row, rec.values("loss")


def _log_row(row, log):
    if log is not None:
        acc = row.get("accuracy")
        log(f"{row['optimizer']:>12} x {row['schedule']:<9} lr {row['lr']:<7g} "
            + (f"accuracy {acc:.4f} loss {row['valid_loss']:.4f} {row['seconds']:.1f}s"
               if acc is not None else row["status"]))


def compare(dls, device, opts, scheds, model="resnet", epochs=2, lr=None, seed=42,
            progress=False, log=print):
    """Run the grid; return ``(DataFrame of results, {(opt, sched): per-batch losses})``."""
    import pandas as pd
    torch.manual_seed(seed)
    model0 = get_model(model)
    rows, curves = [], {}
    for opt in opts:
        for sched in scheds:
            torch.manual_seed(seed)
            gen = getattr(dls.train, "gen", None)
            if gen is not None:
                gen.manual_seed(seed)  # same batches for every run
            row, losses = _one(model0, dls, device, opt, sched, lr or DEFAULT_LR[opt], epochs,
                               progress)
            rows.append(row)
            curves[(opt, sched)] = losses
            _log_row(row, log)
    return pd.DataFrame(rows, columns=COLUMNS), curves


def trial(spec):
    """One cell of the grid from a plain spec, as a Ray worker runs it: the same data, initial
    weights and batches as ``compare`` (so the same numbers at the same torch thread count)."""
    device = resolve_device(spec["device"])
    subset = spec["subset"] or None
    dls = fashion_dls(spec["bs"], device, subset=subset, valid_subset=None if subset is None else max(subset // 6, 100),
                      seed=spec["seed"], data_dir=spec["data_dir"], channels_last=True)
    torch.manual_seed(spec["seed"])
    model0 = get_model(spec["model"])
    torch.manual_seed(spec["seed"])
    dls.train.gen.manual_seed(spec["seed"])
    row, losses = _one(model0, dls, device, spec["opt"], spec["sched"], spec["lr"], spec["epochs"], False)
    return {"row": row, "losses": losses}


def compare_on_ray(args, opts, scheds, out, log=print):
    """The grid through dist_grid: ``compare``'s DataFrame and curves, compare.csv rewritten as cells finish."""
    import pandas as pd
    from xlopt.core.atomic import write_text
    cells = {f"{o}/{s}": {"opt": o, "sched": s, "lr": args.lr or DEFAULT_LR[o], "model": args.model,
                          "epochs": args.epochs, "subset": args.subset, "bs": args.bs, "seed": args.seed,
                          "device": args.device, "data_dir": args.data_dir} for o in opts for s in scheds}
    rows, curves = {}, {}

    def frame():
        return pd.DataFrame([rows[n] for n in cells if n in rows], columns=COLUMNS)

    def on_result(name, res, cached):
        spec = cells[name]
        if "failed" in res:
            row, losses = {"optimizer": spec["opt"], "schedule": spec["sched"], "lr": spec["lr"],
                           "status": f"failed: {res['failed']}", "optimizer_source": source(spec["opt"]),
                           "schedule_source": source(spec["sched"])}, []
        else:
            row, losses = res["row"], res["losses"]
        rows[name], curves[name] = row, losses
        write_text(out / "compare.csv", frame().to_csv(index=False))
        _log_row(row, log if not cached else None)

    dist_grid.run_grid(list(cells.items()), trial, dist_grid.TrialStore(out / "trials"), on_result,
                       workers=args.workers, address=args.ray_address, log=log)
    return frame(), {(cells[n]["opt"], cells[n]["sched"]): curves[n] for n in cells if n in curves}


def plot(curves, scheds, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, len(scheds), figsize=(4.5 * len(scheds), 3.5), squeeze=False,
                            sharey=True)
    for ax, sched in zip(axs[0], scheds):
        for (opt, s), losses in curves.items():
            if s == sched and losses:
                ax.plot(losses, lw=0.8, label=opt)
        ax.set(title=f"schedule: {sched}", xlabel="batch", ylim=(0, 3))
        ax.legend(fontsize=7)
    axs[0][0].set_ylabel("training loss")
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
            v = df[(df["optimizer"] == opt) & (df["schedule"] == s)]["accuracy"]
            vals.append(None if v.isna().all() else round(float(v.iloc[0]), 4))
        rows.append([opt] + vals)
    rows += [[], list(df.columns)]
    rows += [[None if (isinstance(v, float) and v != v) else v for v in r]
             for r in df.itertuples(index=False)]
    chart = {"title": "accuracy by optimizer and schedule", "x_title": "optimizer",
             "y_title": "test accuracy", "data": (2, 1 + len(scheds), 2, 2 + len(opts)),
             "anchor": f"{chr(ord('A') + len(scheds) + 2)}2"}
    with locks.locked(str(path), lock_timeout, "workbook"):  # the whole read-modify-write: a second writer waits
        put_sheet(path, sheet, rows, chart)


def run(args):
    for k in ("epochs", "bs"):
        if getattr(args, k) <= 0:
            raise ValueError(f"--{k} must be a positive integer, got {getattr(args, k)}")
    if args.subset < 0:
        raise ValueError(f"--subset must be >= 0, got {args.subset}")
    opts = _names(args.opts, OPTIMIZERS, "optimizer")
    scheds = _names(args.scheds, SCHEDULERS, "schedule")
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
    device = resolve_device(args.device)
    subset = args.subset or None
    dls = fashion_dls(args.bs, device, subset=subset,
                      valid_subset=None if subset is None else max(subset // 6, 100),
                      seed=args.seed, data_dir=args.data_dir, channels_last=True)
    print(f"compare on {device}: {args.model}, {args.epochs} epochs, {len(dls.train.y)} train / "
          f"{len(dls.valid.y)} test images, bs {args.bs}")
    out = Path(args.out)
    if dist_grid.wanted(args):
        out.mkdir(parents=True, exist_ok=True)
        df, curves = compare_on_ray(args, opts, scheds, out)
    else:
        df, curves = compare(dls, device, opts, scheds, args.model, args.epochs, args.lr, args.seed,
                             progress=not args.no_progress)
        out.mkdir(parents=True, exist_ok=True)
        df.to_csv(out / "compare.csv", index=False)
    plot(curves, scheds, out / "compare.png")
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    if args.workbook:
        write_sheet(args.workbook, df, title=f"Test accuracy after {args.epochs} epochs of "
                    f"{args.model} on {len(dls.train.y)} Fashion-MNIST images",
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
