"""`xlopt gallery`: every optimizer on every function problem at its own best lr, found by an equal budget.

  xlopt gallery -o gallery                           all function problems, all sheets
  xlopt gallery --problems rosenbrock beale --sheets basic adam --budget 5 -o g
  xlopt gallery -o g --workbook graddesc.xlsx        also a sheet `gallery` with the table
"""
from xlopt.core import buttons, gallery, locks, problems, progress, sheets
from xlopt.core.errors import BadInput

__all__ = ["add_arguments", "main"]

EPILOG = (
    "For each problem and sheet: --budget learning rates on one log grid around the sheet's own lr on that "
    f"problem (own·10^e, e in steps of {gallery.STEP:g} decade, at most {gallery.ABOVE} steps above it), "
    "each run --epochs epochs from Reset by one "
    "vectorised sweep (the numbers `xlopt run --lr` gives); the lowest final loss is the tuned lr. The tuned and "
    f"the own (default) lr are both reported: the final loss, the distance to the nearest minimum, the first "
    f"epoch with loss within {gallery.TOLERANCE:g} of the minimum's f, and where a run diverged. Writes "
    "PROBLEM.png (every sheet's path at its tuned lr on f's contours), gallery.md and gallery.csv in DIR. "
    "Toy problems do not choose optimizers for real networks. Exit status 2 for bad input, and then nothing "
    "is written.")


def add_arguments(p):
    p.epilog = EPILOG
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="the folder for the pictures and tables (made if it does not exist)")
    p.add_argument("--problems", nargs="+", default=None, metavar="PROBLEM",
                   help=f"function problems to draw (default: all: {', '.join(problems.FUNCTIONS)})")
    p.add_argument("--sheets", nargs="+", default=None, metavar="SHEET",
                   help=f"optimizers (default: all: {', '.join(sheets.SHEETS)})")
    p.add_argument("--budget", type=int, default=gallery.DEFAULT_BUDGET,
                   help=f"learning rates tried per sheet and problem, the same for every sheet, 1 to "
                        f"{gallery.MAX_BUDGET} (default {gallery.DEFAULT_BUDGET}: "
                        f"{_span(gallery.DEFAULT_BUDGET)})")
    p.add_argument("--epochs", type=int, default=gallery.DEFAULT_EPOCHS,
                   help=f"epochs of Run (29 steps each) for every run, tuning and pictures alike, 1 to "
                        f"{gallery.MAX_EPOCHS} (default {gallery.DEFAULT_EPOCHS})")
    p.add_argument("--carry", choices=buttons.CARRIES, default="lesson",
                   help="lesson (default): the lesson's macro; full: carry the last row's new x and y")
    p.add_argument("--data", default=None, metavar="lesson|random|FILE.csv",
                   help="refused: a function problem has no data (accepted only to say so)")
    p.add_argument("--workbook", metavar="PATH",
                   help="also add (or replace) a sheet 'gallery' with the table in this existing .xlsx/.xlsm "
                        "(under the workbook's lock)")
    locks.add_argument(p)


def _span(budget):
    """The grid in words: 'own lr·10^-2 … ·10^1' for 7."""
    ks = gallery.lr_exponents(budget)
    return f"own lr·10^{ks[0]:g} … ·10^{ks[-1]:g}"


def prepare(args):
    """Everything checked before anything runs or is written: (problems, sheets)."""
    probs, names = gallery.check(args.problems, args.sheets, args.budget, args.epochs)
    if args.data is not None:
        raise BadInput(f"--data applies to the lesson's problem; {', '.join(probs)} "
                       f"{'is a function' if len(probs) == 1 else 'are functions'} of x and y with no data "
                       "(each row is one step): drop --data")
    from xlopt.writers import gallery as writer
    writer.check_outputs(args.output, probs, args.workbook)
    return probs, names


def main(args):
    from xlopt.writers import gallery as writer, plots
    probs, names = prepare(args)
    with progress.bar(len(probs) * len(names), "gallery: tuning", unit="run") as tick:
        entries = gallery.run(probs, names, args.budget, args.epochs, args.carry, tick)
    paths = {p: [plots.trace(e.sheet, args.epochs, e.tuned.lr, args.carry, None, p) for e in entries
                 if e.problem == p] for p in probs}
    try:
        written = writer.write(args.output, entries, paths, args.budget, args.epochs, args.carry)
    except OSError as e:
        raise BadInput(f"cannot write in {args.output}: {e.strerror or e}") from None
    if args.workbook:
        writer.add_to(args.workbook, entries, args.budget, args.epochs, getattr(args, "lock_timeout", None))
        written.append(args.workbook)
    for p in probs:
        mine = [e for e in entries if e.problem == p]
        tuned, own = (sum(getattr(e, k).within is not None for e in mine) for k in ("tuned", "default"))
        print(f"{p}: {tuned} of {len(mine)} sheets within {gallery.TOLERANCE:g} of the minimum's f at their tuned "
              f"lr, {own} at their own")
    print("wrote " + ", ".join(written))
    return 0
