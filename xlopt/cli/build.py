"""xlopt build: write the graddesc workbook with live formulas (.xlsm adds the Run/Reset buttons)."""
import time

from xlopt.writers import workbook
from xlopt.core import locks, problems
from xlopt.core.engine import Data
from xlopt.core.errors import BadInput

DEFAULT_OUT = "graddesc.xlsx"
LESSON_ROWS = 29


def add_arguments(p):
    p.add_argument("-o", "--output", default=DEFAULT_OUT, metavar="PATH",
                   help=f"the workbook to write, .xlsx or .xlsm (default {DEFAULT_OUT})")
    p.add_argument("--carry", choices=workbook.CARRIES, default="lesson",
                   help="how Run carries the last row to the top: 'lesson' (the lesson's macros: "
                        "the last row's inputs) or 'full' (its new b and a); stored as the name `carry`")
    p.add_argument("--data", choices=("lesson", "random"), default=None,
                   help="the lesson's 29 (x, y) pairs (default), or x drawn from --seed like RANDBETWEEN(1,100)")
    p.add_argument("--seed", type=int, default=0, help="seed of --data random (default 0)")
    p.add_argument("--rows", type=int, default=None,
                   help=f"data rows of --data random (default {LESSON_ROWS}; the lesson has {LESSON_ROWS})")
    p.add_argument("--problem", default=None, metavar="PROBLEM",
                   help=f"what every sheet minimises: one of {', '.join(problems.PROBLEMS)} (default {problems.DEFAULT}, "
                        "the lesson's line fitted to data; the others are functions of x and y, no data)")
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    locks.add_argument(p)


def data_from_args(args):
    problem = problems.get(getattr(args, "problem", None))
    if problem.is_function:
        if args.data is not None or args.rows is not None:
            raise BadInput(f"--data and --rows apply to the lesson's problem; {problem.name} is a function of x and y "
                           "with no data (each row is one step): drop them, or drop --problem")
        return Data.steps()
    if args.data in (None, "lesson"):
        if args.rows not in (None, LESSON_ROWS):
            raise BadInput(f"--rows {args.rows} needs --data random: the lesson's data has {LESSON_ROWS} rows")
        return Data.lesson()
    rows = LESSON_ROWS if args.rows is None else args.rows
    return Data.random(args.seed, rows)


def main(args):
    t = time.perf_counter()
    data = data_from_args(args)
    with locks.locked(args.output, args.lock_timeout, "workbook"):  # a click saving it meanwhile would be lost
        path = workbook.build(args.output, data, args.carry, args.force, args.problem)
    what = (f"{args.problem}: {len(data.x)} steps an epoch" if args.problem else
            f"{len(data.x)} data rows, {args.data or 'lesson'} data")
    print(f"wrote {path} ({what}, carry {args.carry}) "
          f"in {time.perf_counter() - t:.2f} s")
    return 0
