"""Optimizers x schedules on a ResNet, compared fairly: seeds, equal tuning budgets, time to a target.

Every cell (optimizer x schedule) starts from the same initial weights and sees the same batches
for a given seed, so the table compares the update rules and schedules only. ``--seeds K`` runs
each cell K times (seeds S, S+1, ...: initial weights and batch order; the images are the same) and
reports mean +- std beside every seed's row. ``--tune lr`` (or ``lr,wd``) with ``--budget N`` gives
each cell the same N trials on the same log grid, scored on a validation split held out of the
training images; the best setting is then trained on all of them and tested, and both the tuned
and the default settings are reported. ``--target ACC`` adds the epochs and seconds each run took
to reach that test accuracy. A trial's result depends on its spec alone (torch threads included,
``--threads``), so ``--workers N`` (Ray, torch_side/dist/grid.py) gives the sequential numbers bit
for bit on CPU; finished trials are then kept under OUT/trials/ and not rerun.

Writes OUT/compare.csv (every final run), OUT/summary.csv (mean, std per cell and setting),
OUT/tune.csv (every tuning trial), OUT/compare.png (training loss) and OUT/accuracy.png (mean
test accuracy with std error bars); --workbook adds the summary as a sheet 'compare'.
"""
from pathlib import Path

from xlopt.core import locks

from torch_side.dist import grid as dist_grid
from torch_side.errors import UsageError, check_device, check_out, positive
from torch_side.experiments.builder import recipe_dls
from torch_side.experiments.choices import DEFAULT_LR, LESSON_OPTS, OPTIMIZERS, SCHEDULERS
from torch_side.experiments.compare import LR_RANGE, THREADS, WD_RANGE, compare
from torch_side.cli.compare_report import plot, plot_accuracy, print_summary, write_sheet
from torch_side.fashion.data import resolve_device
from torch_side.fashion.models import MODELS

__all__ = ["add_arguments", "run"]

DEFAULT_OPTS = LESSON_OPTS


def _names(s, known, what):
    names = [n.strip() for n in s.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise UsageError(f"unknown {what} {bad or s!r}; known: {', '.join(known)}")
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



def _check(args):
    """Everything about the command line that can be refused before any work."""
    positive(args, "epochs", "bs", "seeds", "budget", "threads")
    if args.subset < 0:
        raise UsageError(f"--subset must be >= 0 (0: all 60,000 images), got {args.subset}")
    if args.test_size is not None and not 0 < args.test_size <= 10_000:
        raise UsageError(f"--test-size must be 1..10000 (the test set's size), got {args.test_size}")
    if args.target is not None and not 0 < args.target <= 1:
        raise UsageError(f"--target is a test accuracy between 0 and 1 (0.9 for 90 %), got {args.target}")
    for k in ("lr", "wd"):
        v = getattr(args, k)
        if v is not None and not (v > 0 if k == "lr" else v >= 0):
            raise UsageError(f"--{k} must be {'positive' if k == 'lr' else '>= 0'}, got {v}")
    if args.tune and args.subset and args.subset < 120:
        raise UsageError(f"--tune holds out a sixth of the training images; --subset {args.subset} "
                         "leaves too few: use at least 120")
    if args.workbook and not str(args.workbook).lower().endswith((".xlsx", ".xlsm")):
        raise UsageError(f"--workbook {args.workbook} must be an .xlsx or .xlsm workbook (xlopt build -o NAME.xlsx)")
    if args.workbook and not Path(args.workbook).is_file():
        raise UsageError(f"workbook {args.workbook} does not exist (build it first with "
                                f"`xlopt build -o {args.workbook}`)")
    if args.workbook:  # before training: a workbook that cannot take the sheet is refused now, not after
        from xlopt.core.workbook_file import check_writable
        check_writable(args.workbook)
    check_out(args.out, what="compare.csv/.png")
    check_device(args.device)
    if dist_grid.wanted(args):
        dist_grid.check_args(args)



def run(args):
    _check(args)
    opts = _names(args.opts, OPTIMIZERS, "optimizer")
    scheds = _names(args.scheds, SCHEDULERS, "schedule")
    device = resolve_device(args.device)
    dls = recipe_dls(args.bs, device, subset=args.subset or None, test_size=args.test_size,  # checks the data first
                     seed=args.seed, data_dir=args.data_dir)
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
    print_summary(summary, args)
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

