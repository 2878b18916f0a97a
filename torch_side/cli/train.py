"""Train a recipe on Fashion-MNIST: history CSV, loss/lr plots and a checkpoint in --out.

Recipes: the lesson's (lesson-conv ... lesson-copy-2x25ep, its exact settings) and ours
(resnet-5ep, ours-5ep, aug-20ep, ours-20ep, erase-50ep, ours-50ep); --model, --augment and
--augment-mode change any of them by hand. The data lives on the device; a checkpoint is
written atomically after every epoch and --resume continues from it. Under torchrun (or with
--ddp) one run trains on all the processes with DistributedDataParallel (torch_side/ddp.py);
only rank 0 writes.
"""
import argparse
import math
import json
import time
from pathlib import Path

import numpy as np
import torch

from torch_side import ddp
from torch_side.cmd_errors import at_most, check_device, check_out, command_main
from torch_side.checkpoint import CheckpointCB, load_checkpoint
from torch_side.data import (fashion_dls, resolve_device)
from torch_side.learner import Learner
from torch_side.callbacks import DeviceCB, MixedPrecisionCB, capture_preds, accuracy
from torch_side.augment import MODES, parse_augment
from torch_side.models import MODELS
from torch_side.opt_choices import OPTIMIZERS, SCHEDULERS
from torch_side.recipes import RECIPES, WD_OPTS, build_learner, get_recipe
from torch_side.tta import tta_preds

__all__ = ["add_arguments", "main", "run", "train_recipe", "recipe_from_args"]

MAX_EPOCHS = 1000  # a documented bound for --epochs (the lesson's longest run is 50)


def recipe_table():
    """Each recipe's settings, one line each: the defaults ``train``'s overrides replace."""
    head = f"  {'recipe':<19} {'model':<16} {'epochs':>6} {'lr':>6} {'bs':>5} {'opt':<6} " \
           f"{'sched':<15} {'wd':>5} {'smooth':>6}  augment"
    lines = ["recipes and their settings (the options above override them one by one):", head]
    for r in RECIPES.values():
        aug = ",".join(r.augment) or "none"
        lines.append(f"  {r.name:<19} {r.model:<16} {r.epochs:>6} {r.lr:>6g} {r.bs:>5} {r.opt:<6} "
                     f"{r.sched:<15} {r.wd:>5g} {r.label_smoothing:>6g}  {aug} (per {r.augment_mode})")
    return "\n".join(lines)


def add_arguments(p):
    p.epilog = recipe_table()
    rec = "default: the recipe's, see the table below"
    p.add_argument("--recipe", required=True,
                   help="the settings to start from, one of the recipes in the table below")
    p.add_argument("--epochs", type=int, help=f"epochs to train ({rec})")
    p.add_argument("--opt", choices=OPTIMIZERS, help=f"the optimizer ({rec})")
    p.add_argument("--sched", choices=SCHEDULERS, help=f"the learning-rate schedule ({rec})")
    p.add_argument("--lr", type=float, help=f"the schedule's peak learning rate ({rec})")
    p.add_argument("--wd", type=float, help="decoupled weight decay, for --opt adamw, adam or "
                   f"adam-anneal ({rec})")
    p.add_argument("--label-smoothing", type=float,
                   help=f"label smoothing of the cross-entropy loss, 0 to 1 ({rec})")
    p.add_argument("--model", help=f"the network, one of: {', '.join(MODELS)} ({rec})")
    p.add_argument("--augment", help="the training augmentation: a comma list of "
                   f"crop, flip, erase, copy, or 'none' ({rec})")
    p.add_argument("--augment-mode", choices=MODES,
                   help=f"one random draw per 'batch' (the lesson's) or per 'item' (image) ({rec})")
    p.add_argument("--bs", type=int, help=f"images per batch ({rec})")
    p.add_argument("--device", default="auto",
                   help="cpu, cuda or auto (default: auto, cuda where there is a GPU)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: torch's, one per core)")
    p.add_argument("--subset", type=int,
                   help="train on N random training images (default: all 60,000)")
    p.add_argument("--test-size", type=int,
                   help="test on N random test images (default: all 10,000; with --subset a "
                   "sixth of N, at least 100)")
    p.add_argument("--seed", type=int, default=42,
                   help="seeds the initial weights, batch order, augmentation and --subset "
                   "draw (default: %(default)s)")
    p.add_argument("--out", default="runs/train",
                   help="folder for history.csv, loss.png, lr.png, metrics.json and the "
                   "checkpoint (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (a GPU speed-up after a minute of compiling)")
    p.add_argument("--zero-bn", action=argparse.BooleanOptionalAction, default=None,
                   help="zero-init the second BatchNorm of each ResBlock, so a block starts as the "
                   "identity (the lesson's init; default: the recipe's - off for resnet-5ep, where it "
                   "measured 92.75%% against 93.44%% in 5 epochs on CPU, one seed)")
    p.add_argument("--block-bn", action=argparse.BooleanOptionalAction, default=None,
                   help="BatchNorm inside each ResBlock (default). --no-block-bn builds the "
                   "ResBlocks as the lesson ran them, before its post-lesson fix (its 'before' "
                   "figures)")
    p.add_argument("--data-dir", help="directory holding the four Fashion-MNIST IDX files "
                   "(default: the Debian package's, else $XLOPT_DATA)")
    p.add_argument("--download", action="store_true",
                   help="download Fashion-MNIST from the official URL if no copy is found")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (the epoch table is printed either way)")
    ddp.add_arguments(p)


def _positive(args):
    for k in ("epochs", "bs", "subset", "threads"):
        v = getattr(args, k, None)
        if v is not None and v <= 0:
            raise ValueError(f"--{k} must be a positive integer, got {v}")
    if getattr(args, "epochs", None) is not None:
        at_most(args.epochs, MAX_EPOCHS, "--epochs", "the lesson's longest run is 50")
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise ValueError(f"--lr must be a finite number > 0, got {args.lr}")
    if getattr(args, "wd", None) is not None and args.wd < 0:
        raise ValueError(f"--wd must be >= 0, got {args.wd}")
    ls = getattr(args, "label_smoothing", None)
    if ls is not None and not 0 <= ls < 1:
        raise ValueError(f"--label-smoothing must be in [0, 1), got {ls}")
    ts = getattr(args, "test_size", None)
    if ts is not None and not 0 < ts <= 10_000:
        raise ValueError(f"--test-size must be 1..10000 (the test set's size), got {ts}")


def _plots(out, metrics, recorder):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hist = metrics.df
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.5))
    axs[0].plot(recorder.values("loss"), lw=0.7)
    axs[0].set(title="training loss per batch", xlabel="batch", ylabel="loss")
    for phase, g in hist.groupby("phase"):
        axs[1].plot(g["epoch"] + 1, g["loss"], marker="o", label=phase)
    axs[1].set(title="loss per epoch", xlabel="epoch", ylabel="loss")
    axs[1].legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png")
    plt.close(fig)
    fig = recorder.plot()
    fig.savefig(out / "lr.png")
    plt.close(fig)


def _out_dir(out):
    """--out must be a folder (or not exist yet) that can be written: checked before any long work."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; name a folder for the run's outputs")
    check_out(out)


def recipe_from_args(args):
    """The recipe named by ``--recipe`` with the command line's overrides applied."""
    _positive(args)
    model = getattr(args, "model", None)
    if model is not None and model not in MODELS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    augment = getattr(args, "augment", None)
    opt = args.opt or get_recipe(args.recipe).opt
    if getattr(args, "wd", None) is not None and opt not in WD_OPTS:
        raise ValueError(f"--wd is decoupled weight decay, which {opt} does not have here; "
                         f"use it with --opt {' or '.join(WD_OPTS)}")
    return get_recipe(args.recipe, epochs=args.epochs, lr=args.lr, bs=args.bs,
                      opt=args.opt, sched=args.sched, model=model,
                      zero_bn=getattr(args, "zero_bn", None),
                      block_bn=getattr(args, "block_bn", None),
                      augment=None if augment is None else parse_augment(augment),
                      augment_mode=getattr(args, "augment_mode", None),
                      wd=getattr(args, "wd", None),
                      label_smoothing=getattr(args, "label_smoothing", None))


def train_recipe(recipe, device, out, subset=None, seed=42, progress=True, resume=False,
                 compile=False, data_dir=None, download=False, dls=None, data_seed=None, dist=None,
                 test_size=None):
    """Train ``recipe`` once; write history, plots, checkpoint, metrics.json into ``out``.

    Returns ``(summary dict, evaluator Learner)``; the evaluator holds the trained model and
    the test loader, for TTA and ensembles. ``data_seed`` (default ``seed``) picks the
    subset and the batch order, so learners of one ensemble can differ by ``seed`` alone.
    ``dist`` (torch_side.ddp.Dist): this process's rank in a DistributedDataParallel run.
    """
    main = dist is None or dist.is_main
    say = print if main else (lambda *a, **k: None)
    data_seed = seed if data_seed is None else data_seed
    _out_dir(Path(out))
    config = {"opt": recipe.opt, "sched": recipe.sched, "lr": recipe.lr, "bs": recipe.bs}
    if not recipe.block_bn:  # another architecture: a checkpoint of the other must not load
        config["block_bn"] = False
    if resume and (Path(out) / "checkpoint.pt").exists():  # another optimizer, schedule, lr or
        load_checkpoint(Path(out) / "checkpoint.pt", recipe.model, config)  # bs: refused before any work
    torch.manual_seed(seed)
    np.random.seed(seed)
    if dls is None:
        valid_subset = test_size or (None if subset is None else max(subset // 6, 100))
        dls = fashion_dls(recipe.bs, device, subset=subset, valid_subset=valid_subset,
                          seed=data_seed, data_dir=data_dir, download=download,
                          channels_last=True)
    if dist is not None:
        dls = dist.shard(dls)
    out = Path(out)
    if main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt = (dist.checkpoint_cb if dist else CheckpointCB)(
        out / "checkpoint.pt", recipe.model, recipe=recipe.name, resume=resume,
        config=config)
    learn, metrics, recorder = build_learner(recipe, dls, device, progress=main and progress,
                                             compile=compile,
                                             extra_cbs=[ckpt, *(dist.callbacks() if dist else [])])
    if not main:
        metrics.logger = None
    say(f"recipe {recipe.name}: {recipe.model}, {recipe.epochs} epoch{'s' * (recipe.epochs != 1)}, bs {recipe.bs}, "
        f"{recipe.opt} + {recipe.sched} lr {recipe.lr:g}, augment {list(recipe.augment)} "
        f"(per {recipe.augment_mode}), {len(dls.train.y)} train / {len(dls.valid.y)} test "
        f"images on {device}")
    t0 = time.perf_counter()
    learn.fit(recipe.epochs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    trained = len(learn.epochs)
    if ckpt.resumed_from is not None:
        say(f"resumed after epoch {ckpt.resumed_from + 1}; trained {trained} more")
    summary = {"recipe": recipe.name, "model": recipe.model, "device": str(device),
               "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                               else f"{device.type} CPU, {torch.get_num_threads()} threads"),
               "epochs": recipe.epochs, "epochs_this_run": trained,
               "train_images": len(dls.train.y), "test_images": len(dls.valid.y),
               "batch_size": recipe.bs, "seed": seed, "seconds": round(seconds, 2)}
    if not recipe.block_bn:
        summary["block_bn"] = False  # the lesson's ResBlocks before its fix
    evaluator = Learner(learn.model, dls, opt_func=None,
                        cbs=[DeviceCB(device, channels_last=True), MixedPrecisionCB()])
    preds, targs = capture_preds(evaluator)
    summary["accuracy"] = round(float(accuracy(preds, targs)), 4)
    train_rows = [r for r in metrics.log if r["phase"] == "train"]
    if train_rows:
        summary["train_accuracy"] = round(train_rows[-1]["accuracy"], 4)
    if recipe.tta:
        p, t = tta_preds(evaluator, softmax=recipe.tta_softmax)
        summary["tta_accuracy"] = round(float(accuracy(p, t)), 4)
    if trained and seconds > 0:
        summary["seconds_per_epoch"] = round(seconds / trained, 2)
        summary["images_per_second"] = round(trained * len(dls.train.y) / seconds, 1)
    if dist is not None:
        summary.update(processes=dist.world, sync_batchnorm=False)
        dist.close()
        if not main:
            return summary, evaluator
    metrics.df.to_csv(out / "history.csv", index=False)
    if recorder.recs.get("loss"):
        _plots(out, metrics, recorder)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    say(" ".join(f"{k}={v}" for k, v in summary.items()))
    return summary, evaluator


def run(args):
    """Do the work; raises the project's errors (``main`` turns them into messages)."""
    recipe = recipe_from_args(args)
    _out_dir(Path(args.out))
    check_device(args.device)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dist = ddp.setup(args, device, recipe.bs) if ddp.wanted(args) else None
    summary, _ = train_recipe(recipe, dist.device if dist else device, args.out, subset=args.subset,
                              seed=args.seed, progress=not args.no_progress, resume=args.resume,
                              compile=args.compile, data_dir=args.data_dir,
                              download=args.download, dist=dist, test_size=args.test_size)
    return summary


main = command_main("train", run)
