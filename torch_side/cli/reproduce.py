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
--workers N (or --ray-address) runs the experiments as Ray tasks (torch_side/dist_grid.py): rows
land in results.json as they finish; with --resume, finished ones are kept (also in OUT/trials).
"""
import datetime
import json
import platform
import shutil
from argparse import Namespace
from pathlib import Path

import torch

from torch_side import dist_grid
from torch_side.cmd_errors import check_out, command_main
from torch_side.cmd_train import train_recipe
from torch_side.data import resolve_device
from torch_side.recipes import RECIPES, get_recipe
from torch_side.tta import accuracy_of, ensemble_preds
from xlopt.core import locks

__all__ = ["add_arguments", "main", "run", "markdown_table", "select", "SMOKE", "listing",
           "CPU_IMAGES_PER_SECOND"]

SMOKE = ("tiny",)  # recipes run only when asked for by name
METRICS = ("accuracy", "tta_accuracy", "ensemble_accuracy")
# Training images per second on this project's 2-core CPU (fp32, with evaluation), measured in
# bench/results/cpu-2026-12-0*.json at their fastest; hires-resnet: 7.5x the wide ResNet's time
# per batch (one forward + backward of 256 images, 3.9 s against 0.53 s). For estimates only.
CPU_IMAGES_PER_SECOND = {"conv": 3300, "conv-bn": 3300, "deep-conv": 2100, "resnet": 2000,
                         "wide-resnet": 850, "resnet-gap-wide": 850, "resnet-gap": 1000,
                         "resnet-gap-stem": 1000, "hires-resnet": 110, "hires-resnet-s": 300}


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


def select(only):
    """Recipe names to run: ``only`` (comma list, run in the order given) checked against
    RECIPES; all but the smoke test when ``only`` is empty."""
    if not only:
        return [n for n in RECIPES if n not in SMOKE]
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(RECIPES)}")
    if not names:
        raise ValueError(f"--only names no experiment; known: {', '.join(RECIPES)}")
    return list(dict.fromkeys(names))


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads"


def _lesson(recipe):
    """``{metric: (before, after)}`` from the recipe or, for ours, the recipe it compares to."""
    src = recipe if recipe.lesson else RECIPES.get(recipe.compare_to, recipe)
    return {m: (b, a) for m, b, a in src.lesson}


def _pct(v):
    return "" if v is None else f"{100 * v:.1f}"


def _best(row):
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
        les = _lesson(r)
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


def _plot(rows, path):
    """Lesson (after its fix) against ours, per experiment. A run that is not full scale (a
    --subset, --epochs or --bs smoke run) is hatched and labelled, since it cannot be compared
    with the lesson's full-data figures; the y axis starts just below the lowest bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [n for n in RECIPES if n in rows]
    ours = [100 * _best(rows[n])[1] for n in names]
    lesson = []
    for n in names:
        les = _lesson(RECIPES[n])
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


def _write_workbook(path, rows, lock_timeout=None):
    """Add (or replace) a sheet 'reproduce' holding the table, every other part of the workbook byte
    for byte (torch_side.xlsx_sheet: under the workbook lock, atomically); a new file if none is there."""
    from torch_side.xlsx_sheet import put_sheet
    cols = ["experiment", "epochs", "lesson_before", "lesson_after", "accuracy", "tta_accuracy",
            "ensemble_accuracy", "seconds_per_epoch", "images_per_second", "device", "note"]
    table = [cols]
    for n in [n for n in RECIPES if n not in SMOKE or n in rows]:
        r, row = RECIPES[n], rows.get(n, {})
        les = _lesson(r).get("accuracy", (None, None))
        table.append([n, r.epochs * r.learners, les[0], les[1], row.get("accuracy"),
                      row.get("tta_accuracy"), row.get("ensemble_accuracy"),
                      row.get("seconds_per_epoch"), row.get("images_per_second"),
                      row.get("device_name", "unmeasured"), r.note])
    put_sheet(path, "reproduce", table, lock_timeout=lock_timeout, new=True)


def _load(path):
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["rows"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a reproduce results file ({e}); use another --out "
                         "or drop --resume") from None


def _save(out, rows, device):
    from xlopt.core.atomic import replacing
    doc = {"format": "torch-side-reproduce-1", "torch": torch.__version__, "rows": rows}
    with replacing(out / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=2) + "\n")
    with replacing(out / "results.md") as tmp:
        Path(tmp).write_text(markdown_table(rows))
    _plot(rows, out / "reproduce.png")


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
                "lesson": {m: {"before": b, "after": a} for m, (b, a) in _lesson(recipe).items()},
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
    for k in ("subset", "epochs", "bs"):
        v = getattr(args, k)
        if v is not None and v <= 0:
            raise ValueError(f"--{k} must be a positive integer, got {v}")
    if args.workbook and Path(args.workbook).suffix.lower() != ".xlsx":
        raise ValueError(f"--workbook must name an .xlsx file, got {args.workbook!r}")
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
        _write_workbook(args.workbook, rows, getattr(args, "lock_timeout", None))
    print(markdown_table(rows, names, reasons=failed))
    return rows


main = command_main("reproduce", run)
