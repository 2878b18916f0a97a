"""Train a recipe on Fashion-MNIST: history CSV, loss/lr plots and a checkpoint in --out.

Recipes: the lesson's (lesson-conv ... lesson-copy-2x25ep, its exact settings) and ours
(resnet-5ep, ours-5ep, aug-20ep, ours-20ep, erase-50ep, ours-50ep); --model, --augment and
--augment-mode change any of them by hand. The data lives on the device; a checkpoint is
written atomically after every epoch and --resume continues from it. Under torchrun (or with
--ddp) one run trains on all the processes with DistributedDataParallel (torch_side/dist/ddp.py);
only rank 0 writes.
"""
import argparse
import math
from pathlib import Path

import torch

from torch_side.dist import ddp
from torch_side.dist.local import Local
from torch_side.errors import UsageError, at_most, check_device, check_out, positive
from torch_side.experiments.choices import OPTIMIZERS, SCHEDULERS
from torch_side.experiments.recipes import RECIPES, WD_OPTS, get_recipe
from torch_side.experiments.train import train_recipe
from torch_side.fashion.augment import MODES, parse_augment
from torch_side.fashion.data import resolve_device
from torch_side.fashion.models import MODELS

__all__ = ["add_arguments", "run", "train_recipe", "recipe_from_args"]

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
    positive(args, "epochs", "bs", "subset", "threads")
    if getattr(args, "epochs", None) is not None:
        at_most(args.epochs, MAX_EPOCHS, "--epochs", "the lesson's longest run is 50")
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr}")
    if getattr(args, "wd", None) is not None and args.wd < 0:
        raise UsageError(f"--wd must be >= 0, got {args.wd}")
    ls = getattr(args, "label_smoothing", None)
    if ls is not None and not 0 <= ls < 1:
        raise UsageError(f"--label-smoothing must be in [0, 1), got {ls}")
    ts = getattr(args, "test_size", None)
    if ts is not None and not 0 < ts <= 10_000:
        raise UsageError(f"--test-size must be 1..10000 (the test set's size), got {ts}")


def recipe_from_args(args):
    """The recipe named by ``--recipe`` with the command line's overrides applied."""
    _positive(args)
    model = getattr(args, "model", None)
    if model is not None and model not in MODELS:
        raise UsageError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    augment = getattr(args, "augment", None)
    opt = args.opt or get_recipe(args.recipe).opt
    if getattr(args, "wd", None) is not None and opt not in WD_OPTS:
        raise UsageError(f"--wd is decoupled weight decay, which {opt} does not have here; "
                         f"use it with --opt {' or '.join(WD_OPTS)}")
    return get_recipe(args.recipe, epochs=args.epochs, lr=args.lr, bs=args.bs,
                      opt=args.opt, sched=args.sched, model=model,
                      zero_bn=getattr(args, "zero_bn", None),
                      block_bn=getattr(args, "block_bn", None),
                      augment=None if augment is None else parse_augment(augment),
                      augment_mode=getattr(args, "augment_mode", None),
                      wd=getattr(args, "wd", None),
                      label_smoothing=getattr(args, "label_smoothing", None))


def run(args):
    """Do the work; raises torch_side.errors (`torch_side.cli.command_main` turns them into messages)."""
    recipe = recipe_from_args(args)
    check_out(Path(args.out), what="the run's outputs")
    check_device(args.device)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dist = ddp.setup(args, device, recipe.bs) if ddp.wanted(args) else Local(device)
    summary, _ = train_recipe(recipe, dist.device, args.out, subset=args.subset,
                              seed=args.seed, progress=not args.no_progress, resume=args.resume,
                              compile=args.compile, data_dir=args.data_dir,
                              download=args.download, dist=dist, test_size=args.test_size)
    return summary

