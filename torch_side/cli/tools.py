"""The lesson's teaching tools from the command line; each writes a PNG (or a few).

  torch-side show-batch  --recipe lesson-aug-20ep [--augment-mode item] --out batch.png
  torch-side lr-find     --recipe lesson-resnet --subset 6000 --out lr_find.png
  torch-side sched-plot  --recipe lesson-resnet [--sched cosine] --out sched.png
  torch-side activations --recipe lesson-resnet --subset 6000 --epochs 1 --out DIR

Each module-like object below has ``add_arguments(parser)`` and ``run(args)``, the shape
`torch_side.cli.command_main` runs. Bad input: one line on stderr, exit status 2, no file written.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from torch_side.fashion.augment import MODES
from torch_side.errors import UsageError, check_device, check_out, check_png, finite_in
from torch_side.cli.train import recipe_from_args
from torch_side.fashion.data import resolve_device
from torch_side.fashion.models import MODELS
from torch_side.experiments.choices import OPTIMIZERS, SCHEDULERS, opt_func, sched_cbs
from torch_side.experiments.builder import build_learner, recipe_dls
from torch_side.experiments.recipes import RECIPES, get_recipe

__all__ = ["show_batch", "lr_find", "sched_plot", "activations"]

CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Boot"]


def _common(p, out_help, subset=None):
    rec = "default: the recipe's; `torch-side train --help` lists every recipe's settings"
    p.add_argument("--recipe", default="lesson-resnet",
                   help=f"the settings to use, one of: {', '.join(RECIPES)} (default: %(default)s)")
    p.add_argument("--model", help=f"the network, one of: {', '.join(MODELS)} ({rec})")
    p.add_argument("--augment", help=f"the augmentation: crop,flip,erase,copy or none ({rec})")
    p.add_argument("--augment-mode", choices=MODES, help=f"a draw per 'batch' or per 'item' ({rec})")
    p.add_argument("--bs", type=int, help=f"images per batch ({rec})")
    p.add_argument("--lr", type=float, help=f"the peak learning rate ({rec})")
    p.add_argument("--epochs", type=int, help=f"epochs ({rec})")
    p.add_argument("--opt", choices=OPTIMIZERS, help=f"the optimizer ({rec})")
    p.add_argument("--sched", choices=SCHEDULERS, help=f"the schedule ({rec})")
    p.add_argument("--subset", type=int, default=subset,
                   help=f"training images to use (default {subset or 'all'})")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--seed", type=int, default=42,
                   help="seeds the weights, batches and --subset draw (default: %(default)s)")
    p.add_argument("--data-dir", help="directory holding the four Fashion-MNIST IDX files")
    p.add_argument("--out", required=True, help=out_help)


def _png(out):
    if Path(out).suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {out!r}")
    check_png(out)
    return Path(out)


MAX_STEPS = 1_000_000  # sched-plot's bound: a million points is already more than a plot can show


def _learner(recipe, args, extra_cbs=()):
    check_device(args.device)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    dls = recipe_dls(recipe.bs, device, subset=args.subset, seed=args.seed, data_dir=args.data_dir)
    learn, metrics, _ = build_learner(recipe, dls, device, progress=False, extra_cbs=extra_cbs)
    metrics.logger = None
    return learn


def _agg():
    import matplotlib
    matplotlib.use("Agg")


# -- show-batch ---------------------------------------------------------------------------
def _show_batch(args):
    from torch_side.learn.teaching import show_batch as show
    recipe, out = recipe_from_args(args), _png(args.out)
    if args.n <= 0:
        raise UsageError(f"--n must be a positive integer, got {args.n}")
    learn = _learner(recipe, args)
    _agg()
    out.parent.mkdir(parents=True, exist_ok=True)
    aug = ", ".join(recipe.augment) or "none"
    title = (f"{recipe.name}: augmentation {aug}" + (f" (one random draw per {recipe.augment_mode})"
                                                      if recipe.augment else ""))
    fig = show(learn, n=args.n, labels=CLASSES, path=out, title=title)
    print(f"{out}: {len(fig.xb)} training images of recipe {recipe.name}, augment "
          f"{list(recipe.augment) or 'none'} (one draw per {recipe.augment_mode})")


def _show_batch_args(p):
    _common(p, "the PNG to write", subset=2000)
    p.add_argument("--n", type=int, default=16, help="images to show (default 16)")


# -- lr-find ------------------------------------------------------------------------------
def _lr_find(args):
    recipe, out = recipe_from_args(args), _png(args.out)
    finite_in(args.start_lr, "--start-lr", 0, 10, what=" (the finder's first learning rate)")
    finite_in(args.gamma, "--gamma", 1, 10, what=" (the lr's growth per batch: 1.3 grows it 30 % a batch)")
    # the finder runs without the recipe's schedule: it sets the lr itself
    learn = _learner(get_recipe(recipe.name, sched="constant", model=recipe.model,
                                bs=recipe.bs, augment=recipe.augment), args)
    learn.cbs = [cb for cb in learn.cbs if type(cb).__name__ != "NaNGuardCB"]
    lrs, losses = learn.lr_find(start_lr=args.start_lr, gamma=args.gamma)
    _agg()
    from torch_side.learn.lr_find import plot_lr_find, suggest_lr
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_lr_find(lrs, losses, path=out, title=f"lr_find: {recipe.name} ({recipe.model})")
    lr, _ = suggest_lr(lrs, losses)
    print(f"{out}: {len(lrs)} steps from lr {lrs[0]:.2g} to {lrs[-1]:.2g}; smoothed loss lowest "
          f"at lr {10 * lr:.2g}; suggested lr {lr:.2g} (a tenth of that, marked on the plot)")


def _lr_find_args(p):
    _common(p, "the PNG to write", subset=6000)
    p.add_argument("--start-lr", type=float, default=1e-5,
                   help="the first batch's lr, multiplied by --gamma each batch (default 1e-5)")
    p.add_argument("--gamma", type=float, default=1.3, help="lr growth per batch (default 1.3)")


# -- sched-plot ---------------------------------------------------------------------------
def _sched_plot(args):
    from torch_side.learn.teaching import sched_plot as plot, sched_values
    recipe, out = recipe_from_args(args), _png(args.out)
    n = args.subset or 60000
    steps_per_epoch = -(-n // recipe.bs)
    total = recipe.epochs * steps_per_epoch
    if total > MAX_STEPS:
        raise UsageError(f"{recipe.epochs} epochs x {steps_per_epoch} batches = {total} steps; at "
                         f"most {MAX_STEPS} can be plotted - use fewer --epochs or a larger --bs")
    cbs = sched_cbs(recipe.sched, total, recipe.lr, opt_name=recipe.opt)
    ofn = opt_func(recipe.opt, wd=recipe.wd if recipe.opt == "adamw" else 0.)
    if not cbs:  # constant
        vals = sched_values(lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.),
                            ofn, total, recipe.lr)
    else:
        if recipe.sched == "anneal" or recipe.opt == "adam-anneal":
            raise UsageError("the automatic annealer reacts to the training itself (it reads "
                             "the gradients' averages), so it has no schedule to plot in advance")
        cb = cbs[0]
        vals = sched_values(cb.sched_factory, ofn, total, recipe.lr,
                            step_every=1 if type(cb).__name__ == "BatchSchedCB" else steps_per_epoch)
    _agg()
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(vals, path=out, title=f"{recipe.name}: {recipe.sched}, {recipe.epochs} epoch{'s' * (recipe.epochs != 1)} x "
                               f"{steps_per_epoch} batches")
    print(f"{out}: {total} steps; lr from {vals['lr'][0]:.3g} up to {max(vals['lr']):.3g} and "
          f"down to {vals['lr'][-1]:.3g}")


def _sched_plot_args(p):
    _common(p, "the PNG to write")


# -- activations --------------------------------------------------------------------------
def _activations(args):
    from torch_side.learn.teaching import ActivationStats
    recipe = recipe_from_args(args)
    out = Path(args.out)
    if out.suffix:
        raise UsageError(f"--out is a folder for three PNGs and stats.json, got {args.out!r}")
    check_out(args.out)
    stats = ActivationStats()
    learn = _learner(recipe, args, extra_cbs=[stats])
    learn.fit(recipe.epochs)
    _agg()
    out.mkdir(parents=True, exist_ok=True)
    stats.color_dim(out / "color_dim.png")
    stats.dead_chart(out / "dead.png")
    stats.plot_stats(out / "stats.png")
    st = stats.stats()
    (out / "stats.json").write_text(json.dumps(st) + "\n")
    dead = [float(np.mean(d[-10:])) for d in st["dead"]]
    print(f"{out}: {len(st['layers'])} GeneralRelu layers over {len(st['means'][0])} batches; "
          f"share near zero over the last batches: " + ", ".join(f"{d:.2f}" for d in dead))


def _activations_args(p):
    _common(p, "folder for color_dim.png, dead.png, stats.png, stats.json", subset=6000)


show_batch = SimpleNamespace(add_arguments=_show_batch_args, run=_show_batch,
                             __doc__="Show one augmented training batch exactly as the model sees it.")
lr_find = SimpleNamespace(add_arguments=_lr_find_args, run=_lr_find,
                          __doc__="The lesson's learning-rate finder: loss against a growing lr.")
sched_plot = SimpleNamespace(add_arguments=_sched_plot_args, run=_sched_plot,
                             __doc__="lr and momentum per step of a recipe's schedule, before training.")
activations = SimpleNamespace(add_arguments=_activations_args,
                              run=_activations,
                              __doc__="ActivationStats over the GeneralRelu layers: colour-dim "
                                      "histograms, dead-activation chart, means and stds.")
