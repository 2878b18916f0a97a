"""The comparison protocol of ``torch-side compare``: every cell (optimizer x schedule) trained from
the same initial weights on the same batches per seed, tuning trials on a held-out split, and the
results as rows. A trial is a plain spec dict (`trial`), so it runs the same in this process or as a
Ray task (`torch_side.dist.grid`); the command line and the report are `torch_side.cli.compare`."""
import copy
import math
import time
from functools import partial

import torch

from torch_side.dist import grid as dist_grid
from torch_side.errors import UsageError
from torch_side.experiments.builder import eval_cbs, recipe_dls
from torch_side.experiments.choices import DEFAULT_LR, opt_func, sched_cbs, source
from torch_side.fashion.data import DataLoaders, DeviceLoader, resolve_device
from torch_side.fashion.models import get_model
from torch_side.learn.callbacks import MetricsCB, NaNGuardCB, ProgressCB, accuracy
from torch_side.learn.learner import Callback, Learner, NonFiniteLossError
from torch_side.learn.record import RecorderCB

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "LR_RANGE", "WD_RANGE", "THREADS", "trial", "tune_grid", "summarize",
           "compare"]

COLUMNS = ["optimizer", "schedule", "lr", "status", "train_loss", "valid_loss", "accuracy",
           "seconds", "optimizer_source", "schedule_source", "setting", "seed", "wd",
           "epochs_to_target", "seconds_to_target"]
SUMMARY_COLUMNS = ["optimizer", "schedule", "setting", "lr", "wd", "seeds", "accuracy",
                   "accuracy_std", "valid_loss", "seconds", "epochs_to_target",
                   "seconds_to_target", "reached_target"]
LR_RANGE, WD_RANGE = (1e-4, 1.0), (1e-5, 1e-1)  # the log grid every cell is tuned on
THREADS = 1  # torch CPU threads per trial, sequential or on Ray: part of the spec


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
        cbs = eval_cbs(device) + [metrics, NaNGuardCB(), rec, clock] + \
            sched_cbs(sched, epochs * len(dls.train), lr, opt_name=opt)
    except UsageError as e:  # a schedule this cell cannot run (too few steps, no averages to anneal)
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
    dls = recipe_dls(spec["bs"], device, subset=spec["subset"] or None, test_size=spec.get("test_size"),
                     seed=spec["data_seed"], data_dir=spec["data_dir"])
    if spec.get("split") == "valid":
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
        raise UsageError(f"--budget must be a positive integer, got {budget}")
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

