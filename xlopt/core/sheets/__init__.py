"""The lab's optimizers: one definition file each (xlopt.core.sheet.Optimizer), and the sheets they
make with a problem (xlopt.core.problems; a sheet is the two composed, xlopt.core.compose).

Adding an optimizer is one new module here holding `OPTIMIZER`: the modules are found by
themselves and ordered by each definition's `position`; every consumer — engine, buttons, builder,
check, click, the Excel macros, torch_side — reads the composed sheets. `BY_NAME` and `get(name)`
give the sheets on the lesson's problem, `get(name, problem)` on any other.
"""
import importlib
import pkgutil

from xlopt.core import problems
from xlopt.core.compose import compose
from xlopt.core.errors import BadInput
from xlopt.core.sheet import FIRST_ROW, KIND_NAME, LOG_ROWS, Sheet  # noqa: F401  (re-exported)

PROBLEM_NAME = "sheetproblem"  # the sheet-scoped name a function problem's sheet carries: ="rosenbrock"
LESSON_X = (14, 86, 28, 51, 28, 29, 72, 62, 84, 15, 42, 62, 47, 35, 9, 38, 44, 99, 13, 21, 28, 20, 8,
            64, 99, 70, 27, 17, 8)
TRUE_B, TRUE_A = problems.get(None).minimum

_FOUND = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
OPTIMIZERS = {o.name: o for o in sorted((m.OPTIMIZER for m in _FOUND if hasattr(m, "OPTIMIZER")), key=lambda o: o.position)}
SHEETS = tuple(OPTIMIZERS)
_COMPOSED = {}


def get(name, problem=None):
    """The sheet of optimizer `name` on `problem` (a name or a Problem; None: the lesson's)."""
    if name not in OPTIMIZERS:
        raise BadInput(f"unknown sheet {name!r}: choose one of {', '.join(SHEETS)}")
    p = problem if hasattr(problem, "columns") else problems.get(problem)
    key = (name, p.name)
    if key not in _COMPOSED:
        _COMPOSED[key] = compose(p, OPTIMIZERS[name])
    return _COMPOSED[key]


def on(problem):
    """Every sheet on one problem, in workbook order."""
    return tuple(get(n, problem) for n in SHEETS)


BY_NAME = {n: get(n) for n in SHEETS}
LESSON_SHEETS = tuple(n for n, s in BY_NAME.items() if s.lesson is not None)
