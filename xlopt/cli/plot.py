"""`xlopt plot`: the pictures — each sheet's path on the loss surface, rmse per epoch, the fitted lines.

  xlopt plot surface -o surface.gif                 every sheet, 10 epochs from Reset, row by row
  xlopt plot surface basic rmsprop adam --epochs 20 -o surface.png
  xlopt plot compare -o compare.png                 rmse per epoch, log axis
  xlopt plot fit -o fit.png                         the data, the true line, each sheet's line
  xlopt plot surface --problem rosenbrock -o r.png  f's true contours and every sheet's path on them
"""
import math
import os

from xlopt.core import buttons, problems, progress, sheets
from xlopt.core.atomic import replacing
from xlopt.core.errors import BadInput
from xlopt.core.runner import load_data

__all__ = ["add_arguments", "main", "prepare"]

KINDS = {
    "surface": "the loss over (b, a) as contours with each sheet's path row by row (.gif: animated)",
    "compare": "rmse per epoch of every chosen sheet, log axis",
    "fit": f"the data, the true line y = {sheets.TRUE_B} + {sheets.TRUE_A}x and each sheet's fitted line",
}


EPILOG = ("Each sheet starts from its Reset and runs at its own lr (or --lr, typed after Reset) for --epochs "
          "epochs of Run, exactly as `xlopt run SHEET --epochs N`: the same numbers. A sheet whose values stop "
          "being finite is drawn up to its last finite point and labelled. Exit status 2 for bad input, and "
          "then nothing is written.")


def _suffixes(kind, function=False):
    from xlopt.writers import plots
    return plots.STATIC + (plots.ANIMATED if kind == "surface" and not function else ())


def add_arguments(p):
    from xlopt.writers import plots
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, help_ in KINDS.items():
        q = sub.add_parser(kind, help=help_, description=help_, epilog=EPILOG)
        q.add_argument("sheets", nargs="*", metavar="SHEET",
                       help=f"sheets to draw (default: all: {', '.join(sheets.SHEETS)})")
        q.add_argument("-o", "--output", required=True, metavar="FILE",
                       help=f"the picture: {', '.join(_suffixes(kind))}")
        q.add_argument("--epochs", type=int, default=plots.DEFAULT_EPOCHS,
                       help=f"epochs of Run from Reset, 1 to {plots.MAX_EPOCHS} (default {plots.DEFAULT_EPOCHS})")
        q.add_argument("--lr", type=float, default=None,
                       help="one learning rate for every chosen sheet, typed after Reset (default: each "
                            "sheet's own)")
        q.add_argument("--carry", choices=buttons.CARRIES, default="lesson",
                       help="lesson (default): the lesson's macro; full: carry the last row's new b and a")
        if kind == "surface":
            q.add_argument("--problem", default=None, metavar="PROBLEM",
                           help=f"what the sheets minimise: one of {', '.join(problems.PROBLEMS)} (default "
                                f"{problems.DEFAULT}); a function of x, y is drawn as its true contours over its "
                                f"window with every path and its minima ({', '.join(plots.STATIC)})")
        q.add_argument("--data", default=None, metavar="lesson|random|FILE.csv",
                       help="the lesson's 29 rows (default), random rows from --seed, or a CSV with x,y")
        q.add_argument("--seed", type=int, default=0, help="seed for --data random (default 0)")
        q.add_argument("--rows", type=int, default=29, help="rows for --data random (default 29)")


def prepare(args):
    """Every argument checked before anything runs or is written: (sheet names, data)."""
    from xlopt.writers import plots
    names = list(dict.fromkeys(args.sheets)) or list(sheets.SHEETS)
    for n in names:
        sheets.get(n)  # unknown: one message that lists the sheets
    problem = problems.get(getattr(args, "problem", None))  # unknown: one message that lists them
    if not plots.MAX_EPOCHS >= args.epochs >= 1:
        raise BadInput(f"--epochs must be between 1 and {plots.MAX_EPOCHS}, got {args.epochs}")
    if args.lr is not None and (not math.isfinite(args.lr) or args.lr <= 0):
        raise BadInput(f"--lr must be a finite number > 0, got {args.lr}")
    out = args.output
    suffix = os.path.splitext(out)[1].lower()
    allowed = _suffixes(args.kind, problem.is_function)
    if suffix not in allowed:
        on = f" on {problem.name}" if problem.is_function else ""
        raise BadInput(f"-o {out}: plot {args.kind}{on} writes {', '.join(allowed)}; "
                       f"{'no suffix' if not suffix else suffix} is none of them")
    if os.path.isdir(out):
        raise BadInput(f"-o {out} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise BadInput(f"cannot write {out}: folder {folder} does not exist")
    return names, load_data(args)


def main(args):
    from xlopt.writers import plots, plots_draw
    names, data = prepare(args)
    problem = problems.get(getattr(args, "problem", None))
    with progress.bar(len(names), f"plot {args.kind}: running", unit="sheet") as tick:
        paths = plots.trace_all(names, args.epochs, args.lr, args.carry, data, tick, problem)
    surface = None if problem.is_function else plots.Surface(data)
    suffix = os.path.splitext(args.output)[1].lower()
    try:
        with replacing(args.output, keep_suffix=True) as tmp:
            if problem.is_function:
                from xlopt.writers import plots_fn
                plots_fn.draw(paths, problem, tmp, suffix[1:],
                              f"{problem.name}: {problem.formula}; each sheet's path, {plots_fn.settings(paths)}\n"
                              f"Look at: {problem.watch}")
            elif suffix in plots.ANIMATED:
                from xlopt.writers import plots_anim
                with progress.bar(plots_anim.frame_count(paths), "plot surface: frames", unit="frame") as tick:
                    plots_anim.write(paths, surface, tmp, tick)
            elif args.kind == "surface":
                plots_draw.surface(paths, surface, tmp, suffix[1:])
            elif args.kind == "compare":
                plots_draw.compare(paths, tmp, suffix[1:])
            else:
                plots_draw.fit(paths, data, surface, tmp, suffix[1:])
    except OSError as e:
        raise BadInput(f"cannot write {args.output}: {e.strerror or e}") from None
    for p in paths:
        if p.diverged is not None:
            print(f"{p.sheet}: values stopped being finite at epoch {p.diverged[0]}, "
                  f"{'step' if problem.is_function else 'data row'} {p.diverged[1]}; "
                  "drawn up to its last finite point")
    print(f"wrote {args.output}")
    return 0
