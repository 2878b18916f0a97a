"""`xlopt sweep`: run a sheet over a grid of hyper-parameters at once; a table, a heat map, a sheet.

  xlopt sweep adam --grid lr=1e-3..3:25:log,mom=0.5..0.99:20:lin --plot adam.png
  xlopt sweep adam_ann --grid lr=0.01,0.1,1 --epochs 20 --format json
  xlopt sweep momentum --grid lr=1e-5..1e-3:9:log,mom=0.8,0.9 --workbook graddesc.xlsx
  xlopt sweep adam --problem rosenbrock --grid lr=1e-3..0.3:12:log --format csv
"""
import csv
import json
import math
import os
import sys

from xlopt.core import buttons, locks, problems, progress, sheets, sweep, sweep_grid, sweep_ops
from xlopt.core.errors import BadInput
from xlopt.core.report import table
from xlopt.core.runner import FORMATS, load_data

__all__ = ["add_arguments", "main", "check_outputs", "emit"]


def add_arguments(p):
    p.epilog = ("Every configuration starts from the sheet's Reset and runs as `xlopt run` would: the "
                "β cells are typed in before Reset, lr after it (as --lr), then --epochs epochs of Run "
                "(adam_ann anneals as its Run does). A configuration whose values stop being finite is "
                "reported with the epoch and row (where `xlopt run` stops with exit 3). Exit status 2 "
                "for bad input, and then nothing is written.")
    p.add_argument("sheet", metavar="SHEET", help=f"one of {', '.join(sheets.SHEETS)}")
    p.add_argument("--problem", default=None, metavar="PROBLEM",
                   help=f"what the sheet minimises: one of {', '.join(problems.PROBLEMS)} (default "
                        f"{problems.DEFAULT}; on a function of x, y the outputs name x, y and loss)")
    p.add_argument("--grid", action="append", metavar="NAME=SPEC[,NAME=SPEC...]",
                   help="NAME: lr or one of the sheet's β cells (mom, sqr_mom); SPEC: a list 0.1,0.3,1 or "
                        "a range START..STOP:COUNT[:lin|log], e.g. lr=1e-4..1:25:log,mom=0.5..0.99:20:lin. "
                        "The first NAME goes down the table, the second across")
    p.add_argument("--epochs", type=int, default=sweep.DEFAULT_EPOCHS,
                   help=f"epochs of Run for every configuration (default {sweep.DEFAULT_EPOCHS})")
    p.add_argument("--carry", choices=buttons.CARRIES, default="lesson",
                   help="lesson (default): the lesson's macro; full: carry the last row's new b and a")
    p.add_argument("--data", default=None, metavar="lesson|random|FILE.csv",
                   help="the lesson's 29 rows (default), random rows from --seed, or a CSV with x,y "
                        "(the lesson's problem only: a function problem has no data)")
    p.add_argument("--seed", type=int, default=0, help="seed for --data random (default 0)")
    p.add_argument("--rows", type=int, default=29, help="rows for --data random (default 29)")
    p.add_argument("--threshold", type=float, default=sweep.DEFAULT_THRESHOLD,
                   help=f"report the first epoch with rmse (a function's loss) <= this (default "
                        f"{sweep.DEFAULT_THRESHOLD:g})")
    p.add_argument("--format", default="table", choices=FORMATS,
                   help="table for people (default), json for programs, csv for pandas")
    p.add_argument("--plot", metavar="PNG", help="write the heat map (or line chart) as a PNG")
    p.add_argument("--workbook", metavar="PATH",
                   help="add (or replace) a sheet sweep_SHEET in this existing .xlsx/.xlsm, leaving the "
                        "other sheets, names, charts, macros and buttons as they are (under the workbook's "
                        "lock: another xlopt writing it is waited for)")
    p.add_argument("--max-memory", type=float, default=None, metavar="GIB",
                   help="refuse grids estimated above this (default: half the free memory)")
    locks.add_argument(p)


def check_outputs(args):
    """Every output path is usable before anything runs (so bad input writes nothing)."""
    if args.plot:
        if not args.plot.lower().endswith(".png"):
            raise BadInput(f"--plot {args.plot} must end in .png")
        _folder_ok(args.plot, "--plot")
    if args.workbook:
        from xlopt.writers import graft
        graft.check_target(args.workbook)


def _folder_ok(path, what):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BadInput(f"{what} {path} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise BadInput(f"cannot write {path}: folder {folder} does not exist")


def prepare(args):
    sheet = sheets.get(args.sheet, args.problem)
    axes = sweep_grid.parse_grid(sheet, args.grid)
    if args.epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {args.epochs}")
    if args.max_memory is not None and not (math.isfinite(args.max_memory) and args.max_memory > 0):
        raise BadInput(f"--max-memory must be a number of GiB > 0, got {args.max_memory}")
    data = load_data(args)
    limit = None if args.max_memory is None else int(args.max_memory * 2 ** 30)
    sweep_grid.check_memory(sheet, axes, len(data.x), args.epochs, limit)
    check_outputs(args)
    return axes, data, limit


def main(args, ops=None):
    axes, data, limit = prepare(args)
    data_name = args.data or "lesson"
    with progress.bar(args.epochs, f"sweep {args.sheet}") as tick:  # stderr, a terminal only
        result = sweep.run(args.sheet, axes, args.epochs, args.carry, data, args.threshold,
                           ops=ops or sweep_ops.NumpyOps, memory_limit=limit, data_name=data_name, tick=tick,
                           problem=args.problem)
    if args.plot:
        from xlopt.writers import sweep_plot
        sweep_plot.write(result, args.plot)
    if args.workbook:
        from xlopt.writers import sweep_sheet
        sweep_sheet.add_to(args.workbook, result, getattr(args, "lock_timeout", None))
    emit(result, args.format)
    return 0


# --- output -------------------------------------------------------------------------------------
def _short(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def emit(r, fmt, out=None):
    out = out or sys.stdout
    names = [a.name for a in r.axes]
    recs = r.records()
    function = problems.get(r.problem).is_function
    if fmt == "json":
        best = r.best()
        head = {"sheet": r.sheet, "carry": r.carry, "epochs": r.epochs, "threshold": r.threshold}
        head.update({"problem": r.problem} if function else {"data": r.data_name})
        json.dump(dict(head, grid=r.grid, best=recs[best] if best is not None else None, results=recs), out)
        out.write("\n")
        return
    keys = names + list(r.record_keys())
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(keys)
        for rec in recs:
            w.writerow(["" if rec[k] is None else repr(rec[k]) if isinstance(rec[k], float) else rec[k] for k in keys])
        return
    for line in r.settings_lines():
        out.write(line + "\n")
    pub, loss = r.public, r.loss_name
    titles = names + [loss, pub["const"], pub["slope"], "lr", f"best {loss}", "at epoch", f"<= {r.threshold:g} at",
                      "diverged at"]
    rows = []
    for rec in recs:
        row = {k: _short(rec[k]) for k in keys}
        row["diverged_epoch"] = (f"epoch {rec['diverged_epoch']} row {rec['diverged_row']}"
                                 if rec["diverged_epoch"] is not None else "-")
        rows.append(row)
    keys = names + list(r.record_keys()[:-1])
    out.write(table(rows, keys, titles))
    best = r.best()
    if best is not None:
        b = recs[best]
        out.write("best: " + ", ".join(f"{k} = {b[k]:g}" for k in names) +
                  f" -> final {loss} {b['final_' + loss]:.6g}\n")
    else:
        out.write("every configuration diverged\n")
