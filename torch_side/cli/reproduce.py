"""Reproduce the lesson's table: run its experiments (and ours) and write them side by side.

  torch-side reproduce                                   # lists the experiments, runs nothing
  torch-side reproduce --all                             # every recipe, full data (hours on a CPU)
  torch-side reproduce --only lesson-conv,lesson-resnet --device cpu --out runs/repro
  torch-side reproduce --resume --out runs/repro         # skip the rows already finished
  torch-side reproduce --only tiny --subset 600          # a seconds-long smoke run

OUT gets results.json (one row per experiment), results.md (the lesson's accuracy before and
after its BatchNorm fix, ours, seconds per epoch, images per second, device), reproduce.png
(lesson vs ours) and one folder per run (history, loss and lr plots, checkpoint); each row
also lands in OUT/bench/<device>-<date>-<recipe>.json (--bench-dir elsewhere). --workbook adds the table as a
sheet "reproduce" to an .xlsx (created if absent). Bad input is refused before anything runs.
--workers N (or --ray-address) runs the experiments as Ray tasks (torch_side/dist/grid.py): rows
land in results.json as they finish; with --resume, finished ones are kept (also in OUT/trials).
"""
import datetime
import json
import platform
import shutil
from argparse import Namespace
from pathlib import Path

import torch

from xlopt.core import locks

from torch_side.cli.reproduce_table import (CPU_IMAGES_PER_SECOND, SMOKE, lesson_figures, listing, markdown_table,
                                            plot_table, write_workbook)
from torch_side.dist import grid as dist_grid
from torch_side.errors import UsageError, check_out, positive
from torch_side.experiments.recipes import RECIPES, get_recipe
from torch_side.experiments.train import train_recipe
from torch_side.fashion.data import resolve_device
from torch_side.learn.preds import accuracy_of, ensemble_preds

__all__ = ["add_arguments", "run", "markdown_table", "select", "SMOKE", "listing", "CPU_IMAGES_PER_SECOND"]


def add_arguments(p):
    p.add_argument("--only", help="comma list of recipes to run, in that order")
    p.add_argument("--all", action="store_true",
                   help="run every recipe but the smoke test 'tiny' (without --all or --only: "
                   "list them with estimated times and run nothing)")
    p.add_argument("--epochs", type=int,
                   help="train each recipe for N epochs instead of its own (a smoke run: "
                   "rows are marked as not full scale)")
    p.add_argument("--bs", type=int, help="batch size instead of each recipe's (a smoke run too)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--out", default="runs/reproduce", help="output folder (default runs/reproduce)")
    p.add_argument("--resume", action="store_true",
                   help="keep OUT/results.json's finished rows; continue unfinished runs from "
                   "their checkpoints")
    p.add_argument("--workbook", help="also write the table as sheet 'reproduce' of this .xlsx (every "
                   "other part of an existing one kept byte for byte; a new one if none is there)")
    locks.add_argument(p)
    p.add_argument("--subset", type=int,
                   help="train on N random training images and test on N//6 (not full scale: "
                   "nothing goes to bench/results)")
    p.add_argument("--seed", type=int, default=42,
                   help="seeds each run's weights, batches and augmentation (default: %(default)s)")
    p.add_argument("--bench-dir", help="where each row's JSON lands (default OUT/bench)")
    p.add_argument("--data-dir", help="directory holding the four Fashion-MNIST IDX files")
    p.add_argument("--compile", action="store_true", help="torch.compile each model (GPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    dist_grid.add_arguments(p)



def select(only):
    """Recipe names to run: ``only`` (comma list, run in the order given) checked against
    RECIPES; all but the smoke test when ``only`` is empty."""
    if not only:
        return [n for n in RECIPES if n not in SMOKE]
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise UsageError(f"unknown experiment {unknown[0]!r}; known: {', '.join(RECIPES)}")
    if not names:
        raise UsageError(f"--only names no experiment; known: {', '.join(RECIPES)}")
    return list(dict.fromkeys(names))


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads"



def _load(path):
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["rows"]
    except (ValueError, KeyError, TypeError) as e:
        raise UsageError(f"{path} is not a reproduce results file ({e}); use another --out "
                         "or drop --resume") from None


def _save(out, rows, device):
    from xlopt.core.atomic import replacing
    doc = {"format": "torch-side-reproduce-1", "torch": torch.__version__, "rows": rows}
    with replacing(out / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=2) + "\n")
    with replacing(out / "results.md") as tmp:
        Path(tmp).write_text(markdown_table(rows))
    plot_table(rows, out / "reproduce.png")


def _run_one(recipe, device, out, args):
    """Train the recipe's learner(s); one result row."""
    summaries, evaluators = [], []
    for k in range(recipe.learners):
        d = out / recipe.name if recipe.learners == 1 else out / recipe.name / f"learner-{k}"
        s, ev = train_recipe(recipe, device, d, subset=args.subset, seed=args.seed + k,
                             progress=not args.no_progress, resume=args.resume,
                             compile=getattr(args, "compile", False), data_dir=args.data_dir,
                             data_seed=args.seed)
        summaries.append(s)
        evaluators.append(ev)
    row = dict(summaries[0])
    if recipe.learners > 1:
        row["learner_accuracies"] = [s["accuracy"] for s in summaries]
        row["accuracy"] = round(sum(row["learner_accuracies"]) / recipe.learners, 4)
        p, t = ensemble_preds(evaluators, softmax=recipe.tta_softmax)
        row["ensemble_accuracy"] = round(accuracy_of(p, t), 4)
        spe = [s.get("seconds_per_epoch") for s in summaries if s.get("seconds_per_epoch")]
        if spe:
            row["seconds_per_epoch"] = round(sum(spe) / len(spe), 2)
            row["images_per_second"] = round(row["train_images"] / row["seconds_per_epoch"], 1)
    row.update({"device_name": device_name(device), "full_scale": _full(args),
                "lesson": {m: {"before": b, "after": a} for m, (b, a) in lesson_figures(recipe).items()},
                "torch": torch.__version__, "date": datetime.date.today().isoformat(),
                "command": f"torch-side reproduce --only {recipe.name} --device {device.type}"
                           + (f" --subset {args.subset}" if args.subset else "")
                           + (f" --epochs {args.epochs}" if getattr(args, "epochs", None) else "")
                           + (f" --bs {args.bs}" if getattr(args, "bs", None) else "")})
    return row


def _full(args):
    return args.subset is None and not getattr(args, "epochs", None) and not getattr(args, "bs", None)


def trial(spec):
    """One experiment from a plain spec, as a Ray worker runs it: ``_run_one``'s row."""
    args = Namespace(subset=spec["subset"], seed=spec["seed"], no_progress=True, resume=spec["resume"],
                     compile=spec["compile"], data_dir=spec["data_dir"], epochs=spec.get("epochs"),
                     bs=spec.get("bs"))
    return _run_one(get_recipe(spec["recipe"], epochs=args.epochs, bs=args.bs), resolve_device(spec["device"]),
                    Path(spec["out"]), args)


def _on_ray(names, out, args, finished):
    """Each experiment a Ray task; ``finished(name, row)`` as each arrives. Returns {name: why} of the failed."""
    if not args.resume:
        shutil.rmtree(out / "trials", ignore_errors=True)  # a fresh table: nothing kept from before
    specs = [(n, {"recipe": n, "device": args.device, "subset": args.subset, "seed": args.seed,
                  "resume": args.resume, "compile": bool(getattr(args, "compile", False)),
                  "epochs": args.epochs, "bs": args.bs,
                  "data_dir": args.data_dir, "out": str(out.resolve())}) for n in names]
    failed = {}

    def on_result(name, res, cached):
        if "failed" in res:
            failed[name] = f"failed: {res['failed']}"
            print(f"{name}: {failed[name]}")
        else:
            finished(name, res)
    dist_grid.run_grid(specs, trial, dist_grid.TrialStore(out / "trials"), on_result,
                       workers=args.workers, address=args.ray_address)
    return failed


def run(args):
    if not args.only and not args.all:
        print(listing())
        return {}
    names = select(args.only)
    positive(args, "subset", "epochs", "bs")
    if args.workbook and Path(args.workbook).suffix.lower() != ".xlsx":
        raise UsageError(f"--workbook must name an .xlsx file, got {args.workbook!r}")
    if dist_grid.wanted(args):
        dist_grid.check_args(args)
    check_out(args.out)
    if args.workbook and Path(args.workbook).exists():
        from xlopt.core.workbook_file import check_writable
        check_writable(args.workbook)
    device = resolve_device(args.device)
    out = Path(args.out)
    rows = _load(out / "results.json") if args.resume else {}
    bench = Path(args.bench_dir) if args.bench_dir else out / "bench"
    todo = [n for n in names if not (n in rows and rows[n].get("train_images") and
                                     rows[n].get("full_scale") == _full(args))]
    for n in names:
        if n not in todo:
            print(f"{n}: done in {out / 'results.json'}, skipped")
    out.mkdir(parents=True, exist_ok=True)

    def finished(n, row):
        rows[n] = row
        _save(out, rows, device)
        if bench is not None:
            bench.mkdir(parents=True, exist_ok=True)
            f = bench / f"{device.type}-{row['date']}-{n}{'' if row['full_scale'] else '-subset'}.json"
            f.write_text(json.dumps(row, indent=2) + "\n")
    failed = {}
    if dist_grid.wanted(args) and todo:
        failed = _on_ray(todo, out, args, finished)
    else:
        for n in todo:
            finished(n, _run_one(get_recipe(n, epochs=args.epochs, bs=args.bs), device, out, args))
    if not todo:
        _save(out, rows, device)
    if args.workbook:
        write_workbook(args.workbook, rows, getattr(args, "lock_timeout", None))
    print(markdown_table(rows, names, reasons=failed))
    return rows

